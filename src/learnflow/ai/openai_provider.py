"""OpenAI (or any OpenAI-compatible server) through the official async SDK."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import openai
from pydantic import ValidationError

from learnflow import observability
from learnflow.ai.base import AIUnavailable, T
from learnflow.config import AISettings

log = logging.getLogger(__name__)


class OpenAIProvider:
    name = "openai"

    def __init__(self, settings: AISettings) -> None:
        if settings.openai_api_key is None or not settings.openai_api_key.get_secret_value().strip():
            raise ValueError("OPENAI_API_KEY is required for AI_PROVIDER=openai")
        self.settings = settings
        self.client = openai.AsyncOpenAI(
            api_key=settings.openai_api_key.get_secret_value(),
            base_url=settings.openai_base_url or None,
            timeout=settings.openai_timeout_s,
            max_retries=settings.openai_max_retries,
        )

    @property
    def is_llm(self) -> bool:
        return True

    async def generate(self, *, system: str, user: str, schema: type[T]) -> T:
        """Ask for JSON matching ``schema`` (structured outputs) and validate it."""
        started, outcome = time.perf_counter(), "error"
        try:
            answer = await self._generate(system=system, user=user, schema=schema)
            outcome = "ok"
            return answer
        except AIUnavailable as exc:
            if isinstance(exc.__cause__, ValidationError | json.JSONDecodeError) or "no choices" in str(exc):
                outcome = "invalid_output"
            raise
        finally:
            observability.record_llm_call(
                provider=self.name, schema=schema.__name__, outcome=outcome, seconds=time.perf_counter() - started
            )

    async def _generate(self, *, system: str, user: str, schema: type[T]) -> T:
        try:
            # The SDK's own timeout covers each HTTP attempt; this bounds retries as a whole.
            async with asyncio.timeout(self.settings.openai_timeout_s * (self.settings.openai_max_retries + 1)):
                completion = await self.client.chat.completions.create(
                    model=self.settings.openai_model,
                    messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
                    max_tokens=self.settings.openai_max_tokens,
                    temperature=self.settings.openai_temperature,
                    response_format={
                        "type": "json_schema",
                        "json_schema": {"name": schema.__name__, "schema": schema.model_json_schema()},
                    },
                )
        except (openai.OpenAIError, TimeoutError) as exc:
            log.warning("LLM call failed: %s: %s", type(exc).__name__, exc)
            raise AIUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if not completion.choices:
            raise AIUnavailable("the model returned no choices")
        content = completion.choices[0].message.content or ""
        try:
            return schema.model_validate_json(_strip_fences(content))
        except (ValidationError, json.JSONDecodeError) as exc:
            raise AIUnavailable(f"the model's answer did not match {schema.__name__}: {exc}") from exc


def _strip_fences(text: str) -> str:
    # Some OpenAI-compatible servers wrap JSON in a Markdown fence despite response_format.
    text = text.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    return text

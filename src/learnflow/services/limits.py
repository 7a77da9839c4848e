"""Input limits of the public API (documented in the OpenAPI schema through the models)."""

MAX_ID_CHARS = 128
ID_PATTERN = r"^[A-Za-z0-9_.@:-]+$"
MAX_QUERY_CHARS = 4_000
MAX_CODE_CHARS = 50_000
MAX_ERROR_CHARS = 10_000
MAX_STDIN_CHARS = 100_000
MAX_WAIT_S = 30.0
MAX_TESTS_CHARS = 200_000

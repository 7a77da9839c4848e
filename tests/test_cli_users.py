"""`learnflow users …` and the first-start hint of `learnflow serve` (issue 15), through typer's CliRunner."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from learnflow import cli
from learnflow.auth import accounts
from learnflow.config import get_settings
from learnflow.db import Database

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The CLI's settings point at a fresh SQLite database in ``tmp_path``."""
    monkeypatch.setenv("LEARNFLOW_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ENVIRONMENT", "test")
    for name in ("LEARNFLOW_AUTH", "AUTH_PROVIDER", "DATABASE_URL", "POSTGRES_HOST"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def signs_in(username: str, password: str) -> bool:
    async def check() -> bool:
        database = Database(get_settings().database_url)
        try:
            async with database.session() as session:
                try:
                    await accounts.sign_in(session, username=username, password=password, settings=get_settings().auth)
                except (accounts.WrongCredentials, accounts.AccountLocked):
                    return False
                return True
        finally:
            await database.dispose()

    return asyncio.run(check())


def test_add_asks_for_the_password_twice_and_the_account_signs_in(data_dir: Path) -> None:
    result = runner.invoke(
        cli.app, ["users", "add", "Ms-Teacher", "--role", "teacher"], input="a fine passphrase\n" * 2
    )
    assert result.exit_code == 0, result.output
    assert "Created teacher ms-teacher" in result.output
    assert "a fine passphrase" not in result.output  # the prompt hides what is typed
    assert signs_in("ms-teacher", "a fine passphrase")


def test_add_refuses_a_mismatch_a_weak_password_and_a_taken_name(data_dir: Path) -> None:
    mismatch = runner.invoke(cli.app, ["users", "add", "pupil"], input="a fine passphrase\nanother phrase!\n" * 3)
    assert mismatch.exit_code != 0
    weak = runner.invoke(cli.app, ["users", "add", "pupil", "--password-stdin"], input="short\n")
    assert weak.exit_code == 2 and "at least 10 characters" in weak.output
    assert runner.invoke(cli.app, ["users", "add", "pupil", "--password-stdin"], input="long enough 1\n").exit_code == 0
    taken = runner.invoke(cli.app, ["users", "add", "PUPIL", "--password-stdin"], input="long enough 2\n")
    assert taken.exit_code == 1 and "taken" in taken.output
    bad_role = runner.invoke(cli.app, ["users", "add", "x-user", "--role", "owner", "--password-stdin"], input="x\n")
    assert bad_role.exit_code == 2


def test_list_passwd_and_disable(data_dir: Path) -> None:
    for name, role in (("tia", "teacher"), ("sam", "student")):
        args = ["users", "add", name, "--role", role, "--password-stdin"]
        assert runner.invoke(cli.app, args, input="first password\n").exit_code == 0
    listed = runner.invoke(cli.app, ["users", "list"])
    lines = [line.split() for line in listed.output.splitlines()]
    assert [line[:3] for line in lines] == [["sam", "student", "active"], ["tia", "teacher", "active"]]

    changed = runner.invoke(cli.app, ["users", "passwd", "sam", "--password-stdin"], input="second password\n")
    assert changed.exit_code == 0, changed.output
    assert not signs_in("sam", "first password") and signs_in("sam", "second password")

    assert runner.invoke(cli.app, ["users", "disable", "sam"]).exit_code == 0
    assert not signs_in("sam", "second password")
    assert "disabled" in runner.invoke(cli.app, ["users", "list"]).output
    missing = runner.invoke(cli.app, ["users", "disable", "nobody"])
    assert missing.exit_code == 1 and "no account named 'nobody'" in missing.output


def test_serve_says_how_to_create_the_first_teacher(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    served: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.append(app))
    first = runner.invoke(cli.app, ["serve", "triage"])
    assert first.exit_code == 0, first.output
    assert served and "learnflow users add NAME --role teacher" in first.output
    args = ["users", "add", "first-teacher", "--role", "teacher", "--password-stdin"]
    added = runner.invoke(cli.app, args, input="a fine passphrase\n")
    assert added.exit_code == 0, added.output
    again = runner.invoke(cli.app, ["serve", "triage"])
    assert again.exit_code == 0 and "learnflow users add" not in again.output


def test_serve_says_nothing_with_auth_off(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    monkeypatch.setenv("LEARNFLOW_AUTH", "off")
    get_settings.cache_clear()
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: None)
    result = runner.invoke(cli.app, ["serve", "triage"])
    assert result.exit_code == 0 and "learnflow users add" not in result.output

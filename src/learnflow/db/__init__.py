"""Persistence: SQLAlchemy 2 async models, sessions and Alembic migrations."""

from learnflow.db import sqlite_inloop  # noqa: F401 (registers the "sqlite+inloop" driver)
from learnflow.db.session import Database

__all__ = ["Database"]

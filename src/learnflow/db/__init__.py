"""Persistence: SQLAlchemy 2 async models, sessions and Alembic migrations."""

from learnflow.db.session import Database

__all__ = ["Database"]

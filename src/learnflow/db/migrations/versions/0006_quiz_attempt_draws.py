"""quiz attempts draw their questions and are answered once

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 19:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("quiz_attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=16), nullable=False, server_default="graded"))
        batch_op.add_column(sa.Column("question_ids", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("graded_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("quiz_attempts", schema=None) as batch_op:
        batch_op.drop_column("graded_at")
        batch_op.drop_column("question_ids")
        batch_op.drop_column("status")

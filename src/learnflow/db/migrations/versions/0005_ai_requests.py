"""per-student LLM request budget

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 19:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ai_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("student_id", sa.String(length=128), nullable=False),
        sa.Column("agent", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ai_requests", schema=None) as batch_op:
        batch_op.create_index("ix_ai_requests_student_time", ["student_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ai_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_ai_requests_student_time")
    op.drop_table("ai_requests")

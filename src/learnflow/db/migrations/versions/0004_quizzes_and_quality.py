"""quizzes, code quality and the parts of mastery

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 18:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "quiz_attempts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("student_id", sa.String(length=128), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("correct", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("quiz_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_quiz_attempts_student_topic", ["student_id", "topic", "created_at"], unique=False)
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quality", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("quality_findings", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("progress", schema=None) as batch_op:
        for name in ("completion", "quiz", "quality", "consistency"):
            batch_op.add_column(sa.Column(name, sa.Float(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("progress", schema=None) as batch_op:
        for name in ("consistency", "quality", "quiz", "completion"):
            batch_op.drop_column(name)
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_column("quality_findings")
        batch_op.drop_column("quality")
    with op.batch_alter_table("quiz_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_quiz_attempts_student_topic")
    op.drop_table("quiz_attempts")

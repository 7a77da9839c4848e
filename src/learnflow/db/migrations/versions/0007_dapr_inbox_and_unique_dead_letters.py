"""an inbox for slow Dapr deliveries; one dead-letter row per consumer and event

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("consumer", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("event", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("consumer", "event_id", name="uq_inbox_consumer_event"),
    )
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbox_claimed_until"), ["claimed_until"], unique=False)
    # Redelivered dead letters were recorded again before this revision: keep the first of each.
    op.execute(
        "DELETE FROM dead_letters WHERE id NOT IN (SELECT MIN(id) FROM dead_letters GROUP BY consumer, event_id)"
    )
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_dead_letters_consumer_event", ["consumer", "event_id"])


def downgrade() -> None:
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.drop_constraint("uq_dead_letters_consumer_event", type_="unique")
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbox_claimed_until"))
    op.drop_table("inbox")

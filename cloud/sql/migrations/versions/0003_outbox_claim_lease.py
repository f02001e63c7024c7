"""event outbox: a claim lease, so an event whose worker died mid-delivery is retried

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 04:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("event_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("event_outbox", schema=None) as batch_op:
        batch_op.drop_column("claimed_until")

"""stored files

Revision ID: 5b1f0c2e7a10
Revises: 18badcc4d097
Create Date: 2026-11-25 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "5b1f0c2e7a10"
down_revision = "18badcc4d097"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "core_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("thumbnail_key", sa.String(length=300), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("owner_kind", sa.String(length=40), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["auth_users.id"],
            name=op.f("fk_core_files_created_by_id_auth_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["orgs_organizations.id"],
            name=op.f("fk_core_files_org_id_orgs_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_files")),
        sa.UniqueConstraint("key", name=op.f("uq_core_files_key")),
    )
    with op.batch_alter_table("core_files", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_core_files_created_by_id"), ["created_by_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_core_files_org_id"), ["org_id"], unique=False)
        batch_op.create_index("ix_core_files_owner", ["owner_kind", "owner_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("core_files", schema=None) as batch_op:
        batch_op.drop_index("ix_core_files_owner")
        batch_op.drop_index(batch_op.f("ix_core_files_org_id"))
        batch_op.drop_index(batch_op.f("ix_core_files_created_by_id"))

    op.drop_table("core_files")

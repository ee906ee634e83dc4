"""receivers' reports: DMARC aggregate and SMTP TLS reports, reported DKIM selectors

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "receiver_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("org_name", sa.String(255), nullable=False),
        sa.Column("report_id", sa.String(255), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("begin", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("policy_domain", sa.String(253), nullable=True),
        sa.Column("policy", sa.String(16), nullable=True),
        sa.Column("subdomain_policy", sa.String(16), nullable=True),
        sa.Column("nonexistent_policy", sa.String(16), nullable=True),
        sa.Column("percent", sa.Integer(), nullable=True),
        sa.Column("adkim", sa.String(1), nullable=True),
        sa.Column("aspf", sa.String(1), nullable=True),
        sa.Column("testing", sa.String(1), nullable=True),
        sa.Column("discovery_method", sa.String(16), nullable=True),
        sa.Column("generator", sa.String(255), nullable=True),
        sa.Column("source", sa.String(500), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("messages", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "org_name", "report_id", name="uq_receiver_reports_org_id"),
    )
    op.create_index("ix_receiver_reports_policy_domain", "receiver_reports", ["policy_domain"])
    op.create_table(
        "dmarc_records",
        sa.Column("id", _ROW_ID, nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("policy_domain", sa.String(253), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("source_ip", sa.String(45), nullable=False),
        sa.Column("messages", sa.BigInteger(), nullable=False),
        sa.Column("disposition", sa.String(16), nullable=False),
        sa.Column("dkim", sa.String(16), nullable=False),
        sa.Column("spf", sa.String(16), nullable=False),
        sa.Column("header_from", sa.String(253), nullable=True),
        sa.Column("envelope_from", sa.String(253), nullable=True),
        sa.Column("dkim_domain", sa.String(253), nullable=True),
        sa.Column("dkim_selector", sa.String(253), nullable=True),
        sa.Column("dkim_result", sa.String(16), nullable=True),
        sa.Column("dkim_all", sa.Text(), nullable=True),
        sa.Column("spf_domain", sa.String(253), nullable=True),
        sa.Column("spf_result", sa.String(16), nullable=True),
        sa.Column("reasons", sa.String(255), nullable=True),
        sa.ForeignKeyConstraint(["report_id"], ["receiver_reports.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_dmarc_records_report_id", "dmarc_records", ["report_id"])
    op.create_index("ix_dmarc_records_domain_day", "dmarc_records", ["policy_domain", "day"])
    op.create_table(
        "dmarc_selectors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("domain", sa.String(253), nullable=False),
        sa.Column("selector", sa.String(253), nullable=False),
        sa.Column("first_seen", sa.Date(), nullable=False),
        sa.Column("last_seen", sa.Date(), nullable=False),
        sa.Column("messages", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("domain", "selector", name="uq_dmarc_selectors"),
    )
    op.create_table(
        "tls_policy_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("policy_domain", sa.String(253), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("policy_type", sa.String(32), nullable=False),
        sa.Column("mx_host", sa.Text(), nullable=True),
        sa.Column("successful", sa.BigInteger(), nullable=False),
        sa.Column("failed", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["report_id"], ["receiver_reports.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_tls_policy_results_report_id", "tls_policy_results", ["report_id"])
    op.create_index("ix_tls_policy_results_policy_domain", "tls_policy_results", ["policy_domain"])
    op.create_table(
        "tls_failure_details",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("result_type", sa.String(64), nullable=False),
        sa.Column("sending_mta_ip", sa.String(45), nullable=True),
        sa.Column("receiving_mx_hostname", sa.String(253), nullable=True),
        sa.Column("receiving_ip", sa.String(45), nullable=True),
        sa.Column("sessions", sa.BigInteger(), nullable=False),
        sa.Column("reason_code", sa.String(255), nullable=True),
        sa.ForeignKeyConstraint(["policy_id"], ["tls_policy_results.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_tls_failure_details_policy_id", "tls_failure_details", ["policy_id"])


def downgrade() -> None:
    op.drop_table("tls_failure_details")
    op.drop_table("tls_policy_results")
    op.drop_table("dmarc_selectors")
    op.drop_table("dmarc_records")
    op.drop_table("receiver_reports")

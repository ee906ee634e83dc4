"""Tables of what the mail earns: conversions, touches on other channels, costs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base

# SQLite only auto-increments an INTEGER PRIMARY KEY.
_ROW_ID = BigInteger().with_variant(Integer, "sqlite")


class Conversion(Base):
    """One purchase, sign-up, renewal…, unique by the id the shop gave it.

    ``value`` is in ten-thousandths of ``currency`` (an integer, so that
    every split of it among campaigns is exact).
    """

    __tablename__ = "conversions"
    __table_args__ = (
        UniqueConstraint("conversion_id", name="uq_conversions_conversion_id"),
        # Attribution joins the events on the address.
        Index("ix_conversions_email", "email"),
    )

    id: Mapped[int] = mapped_column(_ROW_ID, primary_key=True)
    conversion_id: Mapped[str] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(320))
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    value: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # purchase | signup | trial | renewal | download | …
    type: Mapped[str] = mapped_column(String(32), default="")
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Touchpoint(Base):
    """A touch on another channel (an ad, a blog visit) that may take credit too."""

    __tablename__ = "touchpoints"
    __table_args__ = (
        UniqueConstraint("email", "time", "channel", "campaign", name="uq_touchpoints"),
    )

    id: Mapped[int] = mapped_column(_ROW_ID, primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    channel: Mapped[str] = mapped_column(String(32))
    # '' when the touch names no campaign.
    campaign: Mapped[str] = mapped_column(String(255), default="")


class CampaignCost(Base):
    """What a campaign cost, or (empty campaign) what a month cost, in ten-thousandths.

    A month's cost is spread over that month's campaigns by sends. ``item``
    tells costs of one campaign apart (ESP fees, people, tools); importing
    a row again replaces its amount.
    """

    __tablename__ = "campaign_costs"
    __table_args__ = (
        UniqueConstraint("campaign", "month", "item", "currency", name="uq_campaign_costs"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign: Mapped[str] = mapped_column(String(255), default="")
    # YYYY-MM, or '' for a campaign's cost whatever the month.
    month: Mapped[str] = mapped_column(String(7), default="")
    item: Mapped[str] = mapped_column(String(64), default="")
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

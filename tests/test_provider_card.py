"""The Gmail bulk-sender card: Gmail's own compliance status beside Postwarden's evidence."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from compliance.rates.limit_profiles import load_profiles
from compliance.rates.provider_evidence import gmail_says, tls_verdict
from compliance.rates.requirements import ProviderEvidence, Verdict, provider_card
from store.engine import make_engine, session_factory, upgrade_database
from store.receivers import GmailDay, GmailDomain
from tests.conftest import postwarden
from tests.test_reports import pdf_text

COMPLIANCE: dict[str, dict[str, dict[str, str | None]]] = {
    "a.example": {
        "spf": {"status": "compliant", "reason": None},
        "one_click_unsubscribe": {"status": "needs_work", "reason": "NO_UNSUB_GENERAL"},
    },
    "b.example": {"spf": {"status": "compliant", "reason": None}},
}


def test_gmail_needs_work_when_any_domain_does_and_names_the_reason() -> None:
    says = gmail_says(COMPLIANCE)
    assert says["spf"] == Verdict("pass", "Gmail: compliant (a.example, b.example)")
    assert says["one_click_unsubscribe"] == Verdict(
        "fail", "Gmail: needs work for a.example (NO_UNSUB_GENERAL)"
    )
    assert "dkim" not in says  # Gmail said nothing about it


def test_tls_is_judged_on_gmails_encryption_ratio() -> None:
    assert tls_verdict(0.995, date(2026, 11, 29), "a.example").status == "pass"
    low = tls_verdict(0.9, date(2026, 11, 29), "a.example")
    assert low == Verdict(
        "fail", "Gmail: 90.0% of mail from a.example arrived over TLS on 2026-11-29"
    )


def test_the_card_flags_where_gmail_and_postwardens_evidence_disagree() -> None:
    gmail = load_profiles(None)["gmail"]
    evidence = {
        "spf": Verdict("fail", "SPF fails for a.example"),
        "one_click_unsubscribe": Verdict("pass", "3 of 3 messages pass"),
        "dkim": Verdict("error", "no DKIM check yet"),
    }
    provider = ProviderEvidence(
        "gmail",
        own={"tls": Verdict("pass", "Gmail: 100.0% over TLS")},
        says=gmail_says(COMPLIANCE) | {"dkim": Verdict("pass", "Gmail: compliant")},
    )
    card = provider_card(gmail, evidence, None, provider)
    items = {item.name: item for item in card.items}
    # Gmail needs work where Postwarden passes: flagged. Postwarden failing where Gmail is
    # compliant is not (Gmail reports only on the domains verified with it).
    assert items["one_click_unsubscribe"].disagrees
    assert not items["spf"].disagrees and items["spf"].provider_status == "pass"
    assert not items["dkim"].disagrees  # Postwarden could not tell: no opposite answer
    assert (items["tls"].status, items["tls"].note) == ("pass", "Gmail: 100.0% over TLS")
    assert card.disagreements == 1
    without = {item.name: item for item in provider_card(gmail, evidence, None).items}
    assert without["tls"].status == "error" and without["spf"].provider_status is None


def test_the_deliverability_pdf_shows_gmails_figures_with_their_source(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'pw.db'}"
    engine = make_engine(db)
    upgrade_database(engine)
    now = datetime(2026, 11, 30, tzinfo=UTC)
    with session_factory(engine)() as session:
        session.add(
            GmailDomain(
                domain="a.example",
                verified=True,
                checked_at=now,
                status="pass",
                compliance=COMPLIANCE["a.example"],
                compliance_at=now,
            )
        )
        session.add(GmailDay(domain="a.example", day=date(2026, 11, 29), spam_rate=0.0035,
                             metrics={"spam_rate": 0.0035, "tls_inbound_rate": 0.97},
                             fetched_at=now))  # fmt: skip
        session.commit()
    engine.dispose()
    output = tmp_path / "deliverability.pdf"
    result = postwarden(
        "report", "deliverability", "--to", "2026-11-30", "-o", str(output), "--db", db
    )
    assert result.code == 0, result.stderr
    text = " ".join(" ".join(pdf_text(output)).split())
    assert "Gmail: 97.0% of mail from a.example arrived over TLS on 2026-11-29" in text
    assert "Gmail: needs work for a.example (NO_UNSUB_GENERAL)" in text
    assert "Gmail's spam rate 0.35% on 2026-11-29 (Postmaster Tools)" in text
    assert "source Gmail Postmaster Tools, as of 2026-11-29" in text

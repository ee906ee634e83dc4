"""The enforcement verdict: would the next DMARC policy have hit legitimate mail, and what to fix.

Pure: the summary's sources in, a verdict out. A failing source is judged by
what the reports say about it:

- a known ESP, or a host whose PTR is under the domain itself, is the
  domain's own mail: it is fixed by an SPF include (when SPF passes for the
  ESP's own bounce domain, or fails) and by an aligned DKIM signature (when
  the ESP signs with its own d=);
- a source whose mail the receiver marked ``forwarded``/``mailing_list``, or
  that carries the domain's own DKIM signature broken in transit, is a
  forwarder: its failure is accepted (ARC, not the sender, fixes it);
- anything else, with neither SPF nor DKIM for the domain, is not the
  domain's mail: enforcement is meant to stop it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from compliance.messages.audit import organisational

NEXT_POLICY = {"none": "quarantine", "quarantine": "reject"}
FORWARDING_REASONS = {"forwarded", "mailing_list", "trusted_forwarder"}


def _kind(domain: str, source: dict[str, Any]) -> str:
    own = organisational(domain)
    signed_by_domain = any(organisational(d) == own for d in source["dkim_domains"])
    if FORWARDING_REASONS & set(source["reasons"]):
        return "forwarder"
    if source["esp"]:
        return "esp"
    if source["ptr_domain"] and organisational(source["ptr_domain"]) == own:
        return "own"
    if signed_by_domain:
        # The domain's own signature, failing, from a host that is not the
        # domain's: mail that was forwarded and altered on the way.
        return "forwarder"
    return "unknown"


def _fixes(domain: str, kind: str, source: dict[str, Any]) -> list[str]:
    own = organisational(domain)
    esp = source["esp"] or source["name"]
    if kind == "forwarder":
        return [
            "accept a forwarder's failure: forwarding breaks SPF, and changes on the way "
            "break DKIM (ARC-aware receivers forgive it)"
        ]
    if kind == "unknown":
        return ["none: no SPF or DKIM for the domain; enforcement is meant to stop this mail"]
    fixes: list[str] = []
    if source["spf_aligned"] < source["messages"]:
        if kind == "esp":
            fixes.append(
                f"add an SPF include for {esp} to {domain}'s SPF record and set a custom "
                f"return-path (MAIL FROM) under {domain} at {esp}"
            )
        else:
            fixes.append(f"add {source['ip']} (or its include) to {domain}'s SPF record")
    if source["dkim_aligned"] < source["messages"]:
        signer = next((d for d in source["dkim_domains"] if organisational(d) != own), None)
        at = f" at {esp}" if kind == "esp" else ""
        fixes.append(
            f"sign with an aligned DKIM key (d={domain}){at}"
            + (f" instead of d={signer}" if signer else "")
        )
    return fixes


def judge_sources(
    domain: str, policy: str | None, sources: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """The verdict for ``domain`` at ``policy`` from its sources' figures."""
    failing = [s for s in sources if s["dmarc_fail"] > 0]
    judged = []
    for source in failing:
        kind = _kind(domain, source)
        judged.append(
            {
                "ip": source["ip"],
                "name": source["name"],
                "kind": kind,
                "legitimate": kind in ("esp", "own", "forwarder"),
                "messages": source["messages"],
                "dmarc_fail": source["dmarc_fail"],
                "fixes": _fixes(domain, kind, source),
            }
        )
    blocking = [s for s in judged if s["kind"] in ("esp", "own")]
    forwarded = sum(s["dmarc_fail"] for s in judged if s["kind"] == "forwarder")
    would_hit = sum(s["dmarc_fail"] for s in blocking)
    total = sum(s["messages"] for s in sources)
    next_policy = NEXT_POLICY.get(policy or "")
    ready = not blocking
    if policy == "reject":
        message = f"{domain} is at p=reject: enforced."
    elif next_policy is None:
        message = f"No policy for {domain} was reported in the window."
    elif ready:
        target = "reject" if policy == "quarantine" else next_policy
        message = (
            f"Ready for p={target}: no legitimate source failed DMARC in {total:,} messages"
            + (
                f" ({forwarded:,} forwarded messages would fail, as they do anywhere)."
                if forwarded
                else "."
            )
        )
    else:
        names = ", ".join(dict.fromkeys(s["name"] for s in blocking))
        message = (
            f"Not ready for p={next_policy}: {would_hit:,} of {total:,} messages "
            f"({would_hit / total:.1%}) from legitimate sources failed DMARC ({names}) and "
            f"would have been {'quarantined' if next_policy == 'quarantine' else 'rejected'}."
        )
    return {
        "policy": policy,
        "next_policy": next_policy,
        "ready": ready and next_policy is not None,
        "would_hit": would_hit,
        "forwarded_failures": forwarded,
        "messages": total,
        "failing_sources": sorted(judged, key=lambda s: -s["dmarc_fail"]),
        "message": message,
    }

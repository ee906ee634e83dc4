"""Writing aggregate and TLS reports: for the demo, the tests' generated cases and the benchmark.

The output follows the layout Google's reports use (RFC 7489, no namespace)
or, with ``rfc9990=True``, RFC 9990's namespace and fields.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class Row:
    """One record to write: who sent how much, and how it authenticated."""

    source_ip: str
    count: int
    dkim: str = "pass"
    spf: str = "pass"
    disposition: str = "none"
    header_from: str = "example.com"
    dkim_domain: str | None = "example.com"
    dkim_selector: str | None = "s1"
    dkim_result: str = "pass"
    spf_domain: str | None = "example.com"
    spf_result: str = "pass"
    reasons: tuple[str, ...] = field(default_factory=tuple)


def _record(row: Row) -> str:
    reasons = "".join(
        f"<reason><type>{escape(reason)}</type><comment></comment></reason>"
        for reason in row.reasons
    )
    dkim = (
        f"<dkim><domain>{escape(row.dkim_domain)}</domain>"
        + (f"<selector>{escape(row.dkim_selector)}</selector>" if row.dkim_selector else "")
        + f"<result>{row.dkim_result}</result></dkim>"
        if row.dkim_domain
        else ""
    )
    spf = (
        f"<spf><domain>{escape(row.spf_domain)}</domain><scope>mfrom</scope>"
        f"<result>{row.spf_result}</result></spf>"
        if row.spf_domain
        else ""
    )
    return (
        "  <record>\n    <row>\n"
        f"      <source_ip>{row.source_ip}</source_ip>\n      <count>{row.count}</count>\n"
        f"      <policy_evaluated>\n        <disposition>{row.disposition}</disposition>\n"
        f"        <dkim>{row.dkim}</dkim>\n        <spf>{row.spf}</spf>{reasons}\n"
        "      </policy_evaluated>\n    </row>\n"
        f"    <identifiers>\n      <header_from>{escape(row.header_from)}</header_from>\n"
        "    </identifiers>\n"
        f"    <auth_results>\n      {dkim}\n      {spf}\n    </auth_results>\n  </record>\n"
    )


def aggregate_chunks(
    *,
    org_name: str,
    report_id: str,
    domain: str,
    begin: datetime,
    end: datetime,
    rows: Iterable[Row],
    policy: str = "none",
    email: str = "noreply-dmarc-support@google.com",
    rfc9990: bool = False,
) -> Iterator[str]:
    """The report's XML in pieces (a large report is written without being held whole)."""
    namespace = ' xmlns="urn:ietf:params:xml:ns:dmarc-2.0"' if rfc9990 else ""
    extra_meta = "    <generator>Postwarden demo</generator>\n" if rfc9990 else ""
    extra_policy = (
        "    <np>reject</np>\n    <testing>n</testing>\n"
        "    <discovery_method>treewalk</discovery_method>\n"
        if rfc9990
        else "    <pct>100</pct>\n"
    )
    yield (
        f'<?xml version="1.0" encoding="UTF-8" ?>\n<feedback{namespace}>\n'
        "  <version>1.0</version>\n  <report_metadata>\n"
        f"    <org_name>{escape(org_name)}</org_name>\n    <email>{escape(email)}</email>\n"
        f"    <report_id>{escape(report_id)}</report_id>\n"
        f"    <date_range>\n      <begin>{int(begin.timestamp())}</begin>\n"
        f"      <end>{int(end.timestamp())}</end>\n    </date_range>\n{extra_meta}"
        "  </report_metadata>\n  <policy_published>\n"
        f"    <domain>{escape(domain)}</domain>\n    <adkim>r</adkim>\n    <aspf>r</aspf>\n"
        f"    <p>{policy}</p>\n    <sp>{policy}</sp>\n{extra_policy}  </policy_published>\n"
    )
    for row in rows:
        yield _record(row)
    yield "</feedback>\n"


def aggregate_xml(**arguments: object) -> bytes:
    """A whole aggregate report as UTF-8 XML (arguments as :func:`aggregate_chunks`)."""
    return "".join(aggregate_chunks(**arguments)).encode()  # type: ignore[arg-type]


def tls_json(
    *,
    org_name: str,
    report_id: str,
    domain: str,
    begin: datetime,
    end: datetime,
    successful: int,
    failures: dict[str, int],
    mx_host: str,
) -> bytes:
    """An RFC 8460 report for one STS policy, failures given by result type."""
    report = {
        "organization-name": org_name,
        "date-range": {
            "start-datetime": begin.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end-datetime": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "contact-info": f"smtp-tls-reporting@{org_name}",
        "report-id": report_id,
        "policies": [
            {
                "policy": {
                    "policy-type": "sts",
                    "policy-string": ["version: STSv1", "mode: enforce", f"mx: {mx_host}"],
                    "policy-domain": domain,
                    "mx-host": [mx_host],
                },
                "summary": {
                    "total-successful-session-count": successful,
                    "total-failure-session-count": sum(failures.values()),
                },
                "failure-details": [
                    {
                        "result-type": result,
                        "sending-mta-ip": "198.51.100.7",
                        "receiving-mx-hostname": mx_host,
                        "failed-session-count": count,
                    }
                    for result, count in failures.items()
                ],
            }
        ],
    }
    return json.dumps(report, indent=2).encode()

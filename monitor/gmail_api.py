"""Gmail Postmaster Tools API v2: the requests Postwarden makes, and reading their answers.

Endpoints (tests/fixtures/gmail/SOURCES.md cites the reference):
``POST {api}/v2/domains/{d}/domainStats:query`` (paginated with
``nextPageToken``) and ``GET {api}/v2/domains/{d}/complianceStatus``.
Authorisation is google-auth's: an access token refreshed from the stored
refresh token at ``[gmail] token_url``; an expired or revoked refresh token
(``invalid_grant``) raises :class:`GmailError` with ``reconnect`` set.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

SCOPE = "https://www.googleapis.com/auth/postmaster.traffic.readonly"
PAGE_SIZE = 200
TIMEOUT = 30.0

# Postwarden's name -> (standard metric, filter): what is asked for each day.
METRICS: dict[str, tuple[str, str]] = {
    "spam_rate": ("SPAM_RATE", ""),
    "spf_success_rate": ("AUTH_SUCCESS_RATE", 'auth_type = "spf"'),
    "dkim_success_rate": ("AUTH_SUCCESS_RATE", 'auth_type = "dkim"'),
    "dmarc_success_rate": ("AUTH_SUCCESS_RATE", 'auth_type = "dmarc"'),
    "tls_inbound_rate": ("TLS_ENCRYPTION_RATE", 'traffic_direction = "inbound"'),
    "tls_outbound_rate": ("TLS_ENCRYPTION_RATE", 'traffic_direction = "outbound"'),
    "delivery_error_rate": ("DELIVERY_ERROR_RATE", ""),
    "delivery_error_count": ("DELIVERY_ERROR_COUNT", ""),
    "reject_rate": ("DELIVERY_ERROR_RATE", 'error_type = "reject"'),
    "temp_fail_rate": ("DELIVERY_ERROR_RATE", 'error_type = "temp_fail"'),
}
COMPLIANT = {"COMPLIANT": "compliant", "NEEDS_WORK": "needs_work"}


class GmailError(Exception):
    """A request Gmail did not answer with data; ``kind`` is permission|quota|auth|http."""

    def __init__(self, message: str, kind: str, reconnect: bool = False) -> None:
        super().__init__(message)
        self.kind = kind
        self.reconnect = reconnect


@dataclass(frozen=True)
class GmailClient:
    """An authorised HTTP session on the API (google-auth's AuthorizedSession)."""

    api_url: str
    session: Any

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        from google.auth.exceptions import RefreshError, TransportError
        from requests import RequestException

        url = f"{self.api_url.rstrip('/')}/v2/{path}"
        try:
            response = self.session.request(method, url, json=body, timeout=TIMEOUT)
        except RefreshError as error:
            raise GmailError(
                f"Google refused the stored refresh token ({_first_line(error)}): "
                "run `postwarden gmail connect` again",
                "auth",
                reconnect=True,
            ) from None
        except (TransportError, RequestException) as error:
            raise GmailError(f"cannot reach {url}: {_first_line(error)}", "http") from None
        if response.status_code == 200:
            try:
                return response.json()
            except ValueError:
                raise GmailError(f"{url}: answer is not JSON", "http") from None
        raise _error_of(response)

    def query_stats(self, domain: str, days: Iterable[date]) -> dict[date, dict[str, float]]:
        """Every metric of :data:`METRICS` for ``days`` (only days Gmail has data for)."""
        request: dict[str, Any] = {
            "metricDefinitions": [
                {"name": name, "baseMetric": {"standardMetric": metric}, "filter": where}
                for name, (metric, where) in METRICS.items()
            ],
            "timeQuery": {"dateList": {"dates": [_date(day) for day in sorted(days)]}},
            "pageSize": PAGE_SIZE,
            "aggregationGranularity": "DAILY",
        }
        found: dict[date, dict[str, float]] = {}
        while True:
            answer = self._call("POST", f"domains/{domain}/domainStats:query", request)
            for stat in answer.get("domainStats") or []:
                day, name = _day(stat.get("date")), stat.get("metric")
                value = _value(stat.get("value") or {})
                if day is not None and name in METRICS and value is not None:
                    found.setdefault(day, {})[name] = value
            token = answer.get("nextPageToken")
            if not token:
                return found
            request["pageToken"] = token

    def compliance(self, domain: str) -> dict[str, dict[str, str | None]]:
        """Gmail's compliance status per requirement: compliant | needs_work, with a reason."""
        answer = self._call("GET", f"domains/{domain}/complianceStatus")
        return parse_compliance(answer)


def parse_compliance(answer: dict[str, Any]) -> dict[str, dict[str, str | None]]:
    """The requirements of a DomainComplianceStatus (the subdomain's where Gmail gives it)."""
    data = answer.get("subdomainComplianceData") or answer.get("complianceData") or {}
    out: dict[str, dict[str, str | None]] = {}
    for row in data.get("rowData") or []:
        requirement = str(row.get("requirement") or "").lower()
        state = COMPLIANT.get(str((row.get("status") or {}).get("status")))
        if requirement and state:
            out[requirement] = {"status": state, "reason": None}
    for key, requirement in (
        ("honorUnsubscribeVerdict", "honor_unsubscribe"),
        ("oneClickUnsubscribeVerdict", "one_click_unsubscribe"),
    ):
        verdict = data.get(key) or {}
        state = COMPLIANT.get(str((verdict.get("status") or {}).get("status")))
        if state:
            reason = verdict.get("reason")
            out[requirement] = {
                "status": state,
                "reason": None if reason in (None, "REASON_UNSPECIFIED") else str(reason),
            }
    return out


def _error_of(response: Any) -> GmailError:
    try:
        detail = response.json().get("error") or {}
    except ValueError:
        detail = {}
    status = detail.get("status") or f"HTTP {response.status_code}"
    message = f"{status}: {str(detail.get('message') or response.reason or '').strip()[:200]}"
    if response.status_code == 403:
        return GmailError(message, "permission")
    if response.status_code == 429:
        return GmailError(message, "quota")
    if response.status_code == 401:
        return GmailError(message, "auth", reconnect=True)
    return GmailError(message, "http")


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]


def _date(day: date) -> dict[str, int]:
    return {"year": day.year, "month": day.month, "day": day.day}


def _day(value: Any) -> date | None:
    if not isinstance(value, dict):
        return None
    try:
        return date(int(value["year"]), int(value["month"]), int(value["day"]))
    except (KeyError, TypeError, ValueError):
        return None


def _value(value: dict[str, Any]) -> float | None:
    """A StatisticValue as a number (doubleValue, floatValue or the string intValue)."""
    for key in ("doubleValue", "floatValue", "intValue"):
        if key in value:
            try:
                return float(value[key])
            except (TypeError, ValueError):
                return None
    return None

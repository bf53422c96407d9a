"""Confluence's audit log as a change signal (docs/permissions.md "Revocations").

- Cloud: `GET /rest/api/audit?startDate=&endDate=` (epoch ms), offset paging (`start`, `limit`,
  stop when `size < limit`); Confluence Administrator, not on the Free plan.
- Server/DC 7.5+: `GET /rest/auditing/1.0/events?from=&to=` (ISO-8601), `pagingInfo.nextPageCursor`
  paging; global administrator (a space admin only with an `affectedObject` filter).
A record is only a signal: Cloud records name pages by title alone, and no record names the pages
that an ancestor's restriction or a group covers, so the spaces a record names (all of them when it
names none) get a permission pass at once. Which categories and actions appear is not confirmed
(Atlassian: "not an exhaustive list"; DC restriction events sit under "Pages and blogs"), so a record
counts when its category, summary or action contains one of PERMISSION_AUDIT_MATCH, case-insensitive.
Records are read with an overlapping window (their latency is not documented) and deduplicated.
A 401, 403 or 404 (no admin right, Free plan, DC before 7.5) means the account cannot read the log:
`AuditUnavailable`, and the caller falls back to the scheduled pass alone.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from requests.exceptions import RequestException

from confluence_rag.sources.confluence import ConfluenceClient

CLOUD_PATH = "rest/api/audit"
DC_PATH = "rest/auditing/1.0/events"
PAGE_LIMIT = 100
MAX_PAGES = 10  # per poll: a burst beyond 1,000 records still signals (every space), at bounded cost
OVERLAP_S = 120.0


class AuditUnavailable(RuntimeError):
    """The account may not read the audit log (or there is none): use the scheduled pass alone."""


class AuditError(RuntimeError):
    """One poll failed (Confluence down, 5xx, 429): the next poll retries."""


@dataclass(frozen=True)
class AuditChange:
    spaces: frozenset[str]  # names (Cloud) or names and ids (DC) of the spaces the record names
    what: str  # category and summary/action, for the log


class AuditFeed:
    def __init__(self, client: ConfluenceClient, match: list[str]):
        self.client = client
        self.cloud = bool(client.settings.confluence_cloud)
        self.match = [m.lower() for m in match if m]
        self._since = time.time()  # history before the start is the first pass's business
        self._seen: dict[str, float] = {}

    def poll(self) -> list[AuditChange]:
        """Access-relevant records since the last poll (minus the overlap), each once."""
        now = time.time()
        start = self._since - OVERLAP_S
        records = self._cloud(start, now) if self.cloud else self._dc(start, now)
        changes = []
        for key, what, spaces in records:
            if key in self._seen:
                continue
            self._seen[key] = now
            if any(m in what.lower() for m in self.match):
                changes.append(AuditChange(frozenset(spaces), what))
        self._since = now
        self._seen = {k: t for k, t in self._seen.items() if t > now - 3 * OVERLAP_S}
        return changes

    def _get(self, path: str, params: dict) -> dict:
        try:
            response = self.client.api.request(
                method="GET", path=path, params=params, absolute=False, advanced_mode=True
            )
        except RequestException as exc:
            raise AuditError(f"{path}: {type(exc).__name__}") from exc
        if 400 <= response.status_code < 500 and response.status_code != 429:  # 401/403/404, Free plan
            raise AuditUnavailable(f"{path}: HTTP {response.status_code}")
        if not 200 <= response.status_code < 300:
            raise AuditError(f"{path}: HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError as exc:
            raise AuditUnavailable(f"{path}: not JSON (a login page?)") from exc

    def _cloud(self, start: float, end: float) -> list[tuple[str, str, set[str]]]:
        found = []
        offset = 0
        for _ in range(MAX_PAGES):
            params = {"startDate": int(start * 1000), "endDate": int(end * 1000), "start": offset, "limit": PAGE_LIMIT}
            body = self._get(CLOUD_PATH, params)
            results = body.get("results") or []
            for record in results:
                what = f"{record.get('category', '')}: {record.get('summary', '')}"
                spaces = {
                    str(o.get("name"))
                    for o in record.get("associatedObjects") or []
                    if str(o.get("objectType", "")).lower() == "space" and o.get("name")
                }
                found.append((_key(record), what, spaces))
            offset += len(results)
            if len(results) < PAGE_LIMIT:
                break
        return found

    def _dc(self, start: float, end: float) -> list[tuple[str, str, set[str]]]:
        found = []
        params: dict = {"from": _iso(start), "to": _iso(end), "limit": PAGE_LIMIT}
        for _ in range(MAX_PAGES):
            body = self._get(DC_PATH, params)
            for record in body.get("entities") or []:
                kind = record.get("type") or {}
                what = f"{kind.get('category', '')}: {kind.get('action', '')}"
                spaces = set()
                for obj in record.get("affectedObjects") or []:
                    if str(obj.get("type", "")).lower() == "space":
                        spaces |= {str(v) for v in (obj.get("name"), obj.get("id")) if v}
                found.append((_key(record), what, spaces))
            paging = body.get("pagingInfo") or {}
            if paging.get("lastPage", True) or not paging.get("nextPageCursor"):
                break
            params = {**params, "pageCursor": paging["nextPageCursor"]}
        return found


def _key(record: dict) -> str:
    return json.dumps(record, sort_keys=True, default=str)


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

"""A Confluence REST fake that speaks the real protocol over HTTP (docs/confluence.md).

- Cloud style (context path `/wiki`, cursor next links on search) or Server/DC style (`""` or
  `/confluence`, offset next links), Basic (user:API token) or Bearer (PAT) auth.
- `GET P/rest/api/space/{key}`, `P/rest/api/content/search` (CQL subset, see cql.py),
  `P/download/attachments/{id}/{file}`: what the product calls (other routes go when nothing calls them).
- Comments (issue 18, docs/design.md "Comments"): `add_comment` (footer, inline on a passage
  whose marker it writes into the page body, replies), `edit_comment`, `delete_comment`; Cloud v2
  `P/api/v2/{pages,blogposts}/{id}/{footer,inline}-comments` and `…-comments/{id}/children` (cursor paging,
  body only with `body-format`), v1/DC `P/rest/api/content/{id}/child/comment` (`depth=all` honoured on DC
  only, `location`), and comments in CQL search (`type = comment`, their page as `container`).
- A small server-side page cap (`page_cap`) so paging is exercised; never more than `limit`.
- 401 (text/plain), 403 (JSON), 404 for missing or restricted content, 400 for bad CQL.
- Failure injection: `fail_next(status, times, retry_after=…)` answers the next requests with that
  status (429/503 with Retry-After, 500…), or `delay` them to provoke timeouts.
- `latency_s`: every request waits that long first (a remote Confluence, for benchmarks);
  `request_times` holds (monotonic time, path) of every request, to check a rate budget.
- Content can change between runs: add, edit, delete, move, relabel, restrict pages.
- Read permissions (docs/confluence.md#the-read-rule; the calls per deployment: docs/permissions.md): users and
  groups (nested groups resolved in member listings), space view grants (users, groups, anonymous),
  per-page read restrictions (`read_users`, `read_groups`) served expanded in CQL search results and
  on single pages (nested user/group lists paged with their own `_links.next`, cap
  `restriction_cap`), `…/restriction/byOperation/read` (direct only; 404 when the service account
  cannot view the content), ancestors root first (Cloud folders included), space permissions per
  deployment (Cloud v2 `/api/v2/spaces?keys=`, `/api/v2/spaces/{id}/permissions` and
  `/role-assignments` with cursor paging, cap `v2_page_cap`, next link in `_links.next` and the `Link`
  header, and Cloud v1 `expand=permissions`; DC >= 9.1 `/rest/api/space/{key}/permissions` bare
  array with userKey + `/permissions/anonymous`; JSON-RPC `getSpacePermissionSets` for older DC),
  group members (DC `/rest/api/group/{name}/member`, Cloud `/rest/api/group/{id}/membersByGroupId`),
  `/rest/api/user/memberof`, `/rest/api/user`, `/rest/api/server-information`.
  v2 space permissions (docs/permissions.md "Cloud space permissions"), the unconfirmed parts configurable:
  `v2_grants` says how user/group grants appear ("direct": user/group rows; "role": a `role` row
  whose assignments hold them; "both"); anonymous access, which v2 has no principal for, is a role
  assigned to the `anonymous-users` access class. `v2_status` (e.g. 404, 410, 501) answers every v2
  space call with that status; `v1_space_gone` answers v1 `/rest/api/space/{key}` 410 "Gone".
  Faults: CONFCLOUD-77618 (404 on `ancestors.restrictions` expand over a draft/trashed ancestor,
  Cloud), DC 9.1 500 on space permissions when `service_admin` is False, JSON-RPC 401
  (`rpc_enabled=False`) or WebSudo HTML (`rpc_websudo=True`).
  Change signals (docs/confluence.md#change-signals): every access change
  made through the helpers (`set_read_restriction`, `remove_from_group`, `set_space_permissions`,
  `delete_page`) is recorded in an audit log, served as Cloud `GET /rest/api/audit` (epoch-ms
  `startDate`/`endDate`, `start`/`limit`, pages named by title, spaces by name) or DC
  `GET /rest/auditing/1.0/events` (ISO `from`/`to`, `pageCursor`, objects with ids). The parts no
  source confirms are settings: `audit_status` (None: readable; 401/403: the account is
  no admin, 400: Cloud Free), `audit_delay_s` (a record shows after that long), `audit_events`
  (category and summary/action per change). DC webhooks (`add_webhook(url, secret)`) are posted,
  signed `X-Hub-Signature: sha256=<hex>` (`webhook_signature_prefix`), for restriction, space
  permission and delete changes (no membership event exists).
  `can_read(username, page_id)` is the oracle: Atlassian's rule computed from the fake's own data.
  The `restricted` flag still means "hidden from the service account" (404, never listed).
Run standalone: `python -m tests.fakes.confluence --port 8090 --space DEMO` (for manual tests).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, quote, quote_plus, unquote, urlencode, urlparse
from zoneinfo import ZoneInfo

import httpx

from tests.fakes.cql import CqlError, compile_cql
from tests.fakes.http import FakeServer


@dataclass
class FakePage:
    id: str
    space: str
    title: str
    html: str
    parent: str | None = None
    labels: list[str] = field(default_factory=list)
    version: int = 1
    when: datetime = field(default_factory=lambda: datetime.now(UTC))
    author: str = "Alice Martin"
    type: str = "page"
    status: str = "current"
    restricted: bool = False
    position: int = 0
    read_users: list[str] = field(default_factory=list)  # usernames in the page's own read restriction
    read_groups: list[str] = field(default_factory=list)  # group names in it


@dataclass
class FakeUser:
    username: str
    user_key: str
    account_id: str
    display_name: str


@dataclass
class FakeGroup:
    name: str
    id: str
    members: set[str] = field(default_factory=set)  # usernames
    subgroups: set[str] = field(default_factory=set)  # group names (nested groups)


@dataclass
class SpacePerms:
    users: set[str] = field(default_factory=set)  # usernames with "view space"
    groups: set[str] = field(default_factory=set)  # group names with "view space"
    anonymous: bool = True  # default: open space, so tests that do not care about permissions read everything


@dataclass
class FakeAttachment:
    id: str
    page_id: str
    title: str
    media_type: str
    data: bytes
    version: int = 1
    when: datetime = field(default_factory=lambda: datetime.now(UTC))
    position: int = 0


# change → (category, summary or action) as each deployment's audit log names it; the exact strings
# are not confirmed (docs/confluence.md#change-signals): a test may replace them through
# `FakeConfluence.audit_events`.
AUDIT_EVENTS = {
    "cloud": {
        "restriction": ("Permissions", "Content restriction added"),
        "membership": ("Users and groups", "User removed from group"),
        "space": ("Permissions", "Space permission removed"),
        "delete": ("Content management", "Page trashed"),
    },
    "dc": {
        "restriction": ("Pages and blogs", "Content restriction added"),
        "membership": ("User management", "User removed from group"),
        "space": ("Permissions", "Space permission removed"),
        "delete": ("Pages and blogs", "Page trashed"),
    },
}
WEBHOOK_EVENTS = {
    "restriction": "content_permissions_updated",
    "space": "space_permissions_updated",
    "delete": "page_removed",
}


@dataclass
class AuditRecord:
    at: float  # time.time() of the change
    change: str  # a key of AUDIT_EVENTS
    space: str = ""
    page: FakePage | None = None
    group: str = ""
    user: str = ""


@dataclass
class FakeComment:
    """A page (footer) or inline comment, or a reply (`parent`): confluence_changes_and_comments.md §5."""

    id: str
    page_id: str
    body: str  # storage HTML
    location: str = "footer"  # footer | inline
    parent: str | None = None  # the comment this one answers
    marker_ref: str = ""  # inline: the ac:ref of the marker wrapping the selection in the page body
    selection: str = ""  # inline: the highlighted text
    resolution: str = "open"  # open | reopened | resolved | dangling
    version: int = 1
    when: datetime = field(default_factory=lambda: datetime.now(UTC))
    author: str = "Alice Martin"


@dataclass
class Failure:
    status: int
    times: int
    retry_after: str | None = None
    path_contains: str = ""
    delay_s: float = 0.0
    after: int = 0  # let this many matching requests through first


class FakeConfluence(FakeServer):
    def __init__(
        self,
        *,
        cloud: bool = True,
        context_path: str | None = None,
        page_cap: int = 3,
        username: str = "bot@example.com",
        api_token: str = "cloud-token",
        pat: str = "server-pat",
        forbidden_spaces: tuple[str, ...] = (),
        timezone: str = "UTC",
        dc_version: str = "9.2.1",
        restriction_cap: int = 200,
    ):
        self.tz = ZoneInfo(timezone)  # the account's time zone: CQL dates are read in it
        self.cloud = cloud
        self.context = context_path if context_path is not None else ("/wiki" if cloud else "/confluence")
        self.page_cap = page_cap
        self.username, self.api_token, self.pat = username, api_token, pat
        self.forbidden_spaces = set(forbidden_spaces)
        self.spaces: dict[str, str] = {}
        self.pages: dict[str, FakePage] = {}
        self.attachments: dict[str, FakeAttachment] = {}
        self.comments: dict[str, FakeComment] = {}
        self.failures: list[Failure] = []
        self.requests: list[str] = []
        self.request_times: list[tuple[float, str]] = []
        self.latency_s = 0.0
        self._lock = threading.Lock()
        self._next_id = 1000
        super().__init__(_Handler, path=self.context)
        # --- permissions
        self.users: dict[str, FakeUser] = {}
        self.groups: dict[str, FakeGroup] = {}
        self.space_perms: dict[str, SpacePerms] = {}
        self.dc_version = dc_version
        self.restriction_cap = restriction_cap
        self.service_admin = True  # DC: False → 500 on /space/{key}/permissions (CONFSERVER-99908)
        self.rpc_enabled = True  # DC < 9.1: False → JSON-RPC 401 (Remote API off)
        self.rpc_websudo = False  # DC < 9.1: True → 200 + HTML login page (WebSudo)
        self.fault_77618 = cloud  # Cloud: 404 on ancestors.restrictions expand over a bad ancestor
        self.anonymous_shape = "list"  # DC /permissions/anonymous: "list" or "operations"
        self.v2_grants = "direct"  # Cloud v2: user/group grants as "direct" rows, a "role", or "both"
        self.v2_status = 200  # Cloud v2 space calls: anything else answers that status (404/410/501: no v2)
        self.v1_space_gone = False  # Cloud v1 /rest/api/space/{key}: 410 GoneException
        self.v2_page_cap = 250  # Cloud v2: server-side cap on `limit` (default 25)
        self.v2_viewer_classes: list[str] = []  # Cloud v2: access classes the viewer role is also assigned to
        # --- change signals
        self.audit: list[AuditRecord] = []
        self.audit_status: int | None = None  # None: the account reads the audit log; else this status
        self.audit_delay_s = 0.0
        self.audit_events = {kind: dict(events) for kind, events in AUDIT_EVENTS.items()}
        self.webhooks: list[tuple[str, str]] = []  # (url, secret), DC only
        self.webhook_signature_prefix = "sha256="
        self.webhook_deliveries: list[int] = []  # status of each post

    # --- change signals -------------------------------------------------------------------------
    def record_change(self, change: str, space: str = "", page: FakePage | None = None, **who: str) -> None:
        self.audit.append(AuditRecord(time.time(), change, space, page, **who))
        event = WEBHOOK_EVENTS.get(change)
        if event and self.webhooks and not self.cloud:
            body = {"timestamp": int(time.time() * 1000), "event": event, "userKey": "8a7f808a" + "0" * 24}
            if page is not None:
                body["page"] = {"id": int(page.id) if page.id.isdigit() else page.id}
            threading.Thread(target=self._post_webhooks, args=(json.dumps(body).encode(),), daemon=True).start()

    def add_webhook(self, url: str, secret: str) -> None:
        self.webhooks.append((url, secret))

    def _post_webhooks(self, body: bytes) -> None:
        for url, secret in self.webhooks:
            signature = self.webhook_signature_prefix + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            try:
                response = httpx.post(
                    url,
                    content=body,
                    headers={"Content-Type": "application/json", "X-Hub-Signature": signature},
                    timeout=5,
                )
                self.webhook_deliveries.append(response.status_code)
            except httpx.HTTPError:
                self.webhook_deliveries.append(0)  # best effort, like Confluence (no retry confirmed)

    def audit_json(self, record: AuditRecord) -> dict:
        """One record in the deployment's shape (docs/confluence.md#change-signals)."""
        category, summary = self.audit_events["cloud" if self.cloud else "dc"][record.change]
        space_name = self.spaces.get(record.space, record.space)
        if self.cloud:
            associated = [{"name": record.user, "objectType": "User"}] if record.user else []
            if record.page is not None:
                associated.append({"name": record.page.title, "objectType": "Page"})
            if record.space:
                associated.append({"name": space_name, "objectType": "Space"})
            affected = {"name": record.group, "objectType": "Group"} if record.group else {"name": "", "objectType": ""}
            return {
                "author": {"type": "user", "displayName": "Admin", "accountId": "admin"},
                "remoteAddress": "198.51.100.42",
                "creationDate": int(record.at * 1000),
                "summary": summary,
                "description": "",
                "category": category,
                "sysAdmin": False,
                "superAdmin": False,
                "affectedObject": affected,
                "changedValues": [],
                "associatedObjects": associated,
            }
        objects = []
        if record.page is not None:
            objects.append({"name": record.page.title, "type": "Page", "id": record.page.id})
        if record.space:
            objects.append({"name": space_name, "type": "Space", "id": str(self.space_id(record.space))})
        if record.group:
            objects.append({"name": record.group, "type": "Group"})
        if record.user:
            objects.append({"name": record.user, "type": "User"})
        stamp = datetime.fromtimestamp(record.at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        return {
            "timestamp": stamp,
            "type": {"category": category, "action": summary},
            "affectedObjects": objects,
            "changedValues": [],
            "author": {"displayName": "Admin"},
        }

    def audit_window(self, start: float, end: float) -> list[AuditRecord]:
        shown_until = time.time() - self.audit_delay_s
        return [r for r in self.audit if start <= r.at <= min(end, shown_until)]

    # --- content ------------------------------------------------------------------------------
    def add_space(self, key: str, name: str | None = None) -> None:
        self.spaces[key] = name or f"Space {key}"
        self.space_perms.setdefault(key, SpacePerms())

    def add_user(self, username: str, display_name: str = "") -> FakeUser:
        n = len(self.users) + 1
        user = FakeUser(
            username=username,
            user_key=f"8a7f808a{n:024x}",
            account_id=f"712020:{n:08x}-{abs(hash(username)) % 10**12:012d}",
            display_name=display_name or username.title(),
        )
        self.users[username] = user
        return user

    def add_group(self, name: str, members: list[str] = (), subgroups: list[str] = ()) -> FakeGroup:
        for member in members:
            if member not in self.users:
                self.add_user(member)
        group = self.groups.get(name) or FakeGroup(name=name, id=f"gid-{len(self.groups) + 1:04d}-{name}")
        group.members |= set(members)
        group.subgroups |= set(subgroups)
        self.groups[name] = group
        return group

    def remove_from_group(self, group: str, username: str) -> None:
        """Take a user out of a group (no page changes; only the audit log records it)."""
        self.groups[group].members.discard(username)
        self.record_change("membership", group=group, user=username)

    def set_space_permissions(
        self, key: str, *, users: list[str] = (), groups: list[str] = (), anonymous: bool = False
    ) -> None:
        self.space_perms[key] = SpacePerms(set(users), set(groups), anonymous)
        self.record_change("space", key)

    def set_read_restriction(self, page_id: str, *, users: list[str] = (), groups: list[str] = ()) -> None:
        """Replace the page's own read restriction (empty = none). Like Confluence, no version bump."""
        page = self.pages[page_id]
        page.read_users, page.read_groups = list(users), list(groups)
        self.record_change("restriction", page.space, page)

    # --- the oracle: Atlassian's rule on the fake's data -------------------------------------
    def groups_of(self, username: str) -> set[str]:
        """Every group the user is in, directly or through nested groups."""
        direct = {g.name for g in self.groups.values() if username in g.members}
        found, todo = set(), list(direct)
        while todo:
            name = todo.pop()
            if name in found:
                continue
            found.add(name)
            todo += [g.name for g in self.groups.values() if name in g.subgroups]
        return found

    def members_of(self, group: str) -> set[str]:
        """Usernames in the group, nested groups resolved."""
        return {u for u in self.users if group in self.groups_of(u)}

    def can_read(self, username: str | None, page_id: str) -> bool:
        page = self.pages[page_id]
        groups = self.groups_of(username) if username else set()
        perms = self.space_perms.get(page.space, SpacePerms(anonymous=False))
        if not (perms.anonymous or (username and username in perms.users) or groups & perms.groups):
            return False
        for layer in [*self.ancestors(page), page]:
            if (layer.read_users or layer.read_groups) and not (
                (username and username in layer.read_users) or groups & set(layer.read_groups)
            ):
                return False
        return True

    def add_page(
        self,
        space: str,
        title: str,
        html: str,
        *,
        parent: str | None = None,
        labels: list[str] | None = None,
        page_id: str | None = None,
        **kw,
    ) -> FakePage:
        if space not in self.spaces:
            self.add_space(space)
        with self._lock:
            if page_id is None:
                self._next_id += 1
                page_id = str(self._next_id)
            page = FakePage(
                id=page_id,
                space=space,
                title=title,
                html=html,
                parent=parent,
                labels=list(labels or []),
                position=len(self.pages),
                **kw,
            )
            self.pages[page_id] = page
        return page

    def edit_page(self, page_id: str, *, html: str | None = None, title: str | None = None) -> FakePage:
        page = self.pages[page_id]
        if html is not None:
            page.html = html
        if title is not None:
            page.title = title
        page.version += 1
        page.when = datetime.now(UTC)
        return page

    def delete_page(self, page_id: str) -> None:
        page = self.pages.pop(page_id)
        self.record_change("delete", page.space, page)

    def move_page(self, page_id: str, *, space: str | None = None, parent: str | None = None) -> None:
        page = self.pages[page_id]
        if space:
            page.space = space
        page.parent = parent
        page.version += 1
        page.when = datetime.now(UTC)

    def relabel(self, page_id: str, labels: list[str]) -> None:
        # Label changes do not bump the page version in Confluence.
        self.pages[page_id].labels = list(labels)

    def restrict(self, page_id: str, restricted: bool = True) -> None:
        self.pages[page_id].restricted = restricted

    def add_attachment(self, page_id: str, title: str, media_type: str, data: bytes) -> FakeAttachment:
        with self._lock:
            self._next_id += 1
            att = FakeAttachment(
                f"att{self._next_id}", page_id, title, media_type, data, position=len(self.attachments)
            )
            self.attachments[att.id] = att
        return att

    def fail_next(
        self,
        status: int,
        times: int = 1,
        *,
        retry_after: str | None = None,
        path_contains: str = "",
        delay_s: float = 0.0,
        after: int = 0,
    ) -> None:
        self.failures.append(Failure(status, times, retry_after, path_contains, delay_s, after))

    # --- server -------------------------------------------------------------------------------
    base_url = FakeServer.url

    # --- model --------------------------------------------------------------------------------
    def visible(self, page: FakePage) -> bool:
        return not page.restricted and page.status == "current"

    def ancestors(self, page: FakePage) -> list[FakePage]:
        chain, parent = [], page.parent
        while parent and parent in self.pages:
            chain.append(self.pages[parent])
            parent = self.pages[parent].parent
        return list(reversed(chain))

    def webui(self, page: FakePage) -> str:
        slug = quote_plus(page.title)
        return f"/spaces/{page.space}/pages/{page.id}/{slug}" if self.cloud else f"/display/{page.space}/{slug}"

    def content(self, page: FakePage, expand: str) -> dict:
        base = f"http://127.0.0.1:{self.port}{self.context}"
        data: dict = {
            "id": page.id,
            "type": page.type,
            "status": page.status,
            "title": page.title,
            "_links": {
                "webui": self.webui(page),
                "tinyui": f"/x/{page.id}",
                "self": f"{base}/rest/api/content/{page.id}",
            },
            "_expandable": {
                "container": f"/rest/api/space/{page.space}",
                "space": f"/rest/api/space/{page.space}",
                "children": f"/rest/api/content/{page.id}/child",
                "ancestors": "",
                "history": f"/rest/api/content/{page.id}/history",
                "version": "",
            },
        }
        wants = set(expand.split(",")) if expand else set()
        if any(w.startswith("body.export_view") for w in wants):
            data["body"] = {"export_view": {"value": page.html, "representation": "export_view"}}
        if any(w.startswith("body.storage") for w in wants):
            data.setdefault("body", {})["storage"] = {
                "value": page.html,
                "representation": "storage",
            }
        if "version" in wants:
            by = (
                {
                    "type": "known",
                    "accountId": "5b-" + page.author.lower().replace(" ", "-"),
                    "displayName": page.author,
                }
                if self.cloud
                else {
                    "type": "known",
                    "username": page.author.split()[0].lower(),
                    "displayName": page.author,
                }
            )
            when = page.when.isoformat(timespec="milliseconds").replace("+00:00", "Z" if self.cloud else "+00:00")
            data["version"] = {
                "number": page.version,
                "when": when,
                "minorEdit": False,
                "by": by,
            }
        if "ancestors" in wants or any(w.startswith("ancestors.") for w in wants):
            data["ancestors"] = [
                {
                    "id": a.id,
                    "type": a.type,
                    "status": a.status,
                    "title": a.title,
                    "_links": {"webui": self.webui(a)},
                }
                for a in self.ancestors(page)
            ]
            if any(w.startswith("ancestors.restrictions") for w in wants):
                for stub, a in zip(data["ancestors"], self.ancestors(page), strict=True):
                    stub["restrictions"] = {"read": self.read_restriction(a)}
        if any(w.startswith("restrictions.read") for w in wants):
            data["restrictions"] = {"read": self.read_restriction(page)}
        if "metadata.labels" in wants:
            data["metadata"] = {
                "labels": {
                    "results": [{"prefix": "global", "name": lbl, "id": str(i)} for i, lbl in enumerate(page.labels)],
                    "start": 0,
                    "limit": 200,
                    "size": len(page.labels),
                }
            }
        if "space" in wants:
            data["space"] = {
                "key": page.space,
                "name": self.spaces.get(page.space, page.space),
                "type": "global",
            }
        return data

    # --- permission payloads (shapes of confluence_permissions.md §2) ---------------------------
    def user_json(self, user: FakeUser) -> dict:
        base = f"http://127.0.0.1:{self.port}{self.context}"
        if self.cloud:
            return {
                "type": "known",
                "accountId": user.account_id,
                "accountType": "atlassian",
                "email": "",  # hidden by the user's privacy setting
                "publicName": user.display_name,
                "displayName": user.display_name,
                "profilePicture": {"path": "/wiki/aa-avatar/x", "width": 48, "height": 48, "isDefault": False},
                "isExternalCollaborator": False,
                "_expandable": {"operations": "", "personalSpace": ""},
                "_links": {"self": f"{base}/rest/api/user?accountId={user.account_id}"},
            }
        return {
            "type": "known",
            "username": user.username,
            "userKey": user.user_key,
            "displayName": user.display_name,
            "profilePicture": {"path": "/images/icons/profilepics/default.svg", "width": 48, "height": 48},
            "_links": {"self": f"{base}/rest/api/user?key={user.user_key}"},
            "_expandable": {"status": ""},
        }

    def group_json(self, group: FakeGroup) -> dict:
        data = {"type": "group", "name": group.name}
        if self.cloud:
            data["id"] = group.id
        return data

    def subject_list(self, page: FakePage, kind: str, start: int = 0, limit: int | None = None) -> dict:
        """One nested, paged subject list of a read restriction (its own `_links.next` when cut)."""
        limit = min(limit or self.restriction_cap, self.restriction_cap)
        if kind == "user":
            items = [self.user_json(self.users[u]) for u in page.read_users]
        else:
            items = [self.group_json(self.groups[g]) for g in page.read_groups]
        window = items[start : start + limit]
        body = {"results": window, "start": start, "limit": limit, "size": len(window)}
        if start + len(window) < len(items):
            next_start = start + len(window)
            body["_links"] = {
                "next": f"/rest/api/content/{page.id}/restriction/byOperation/read/{kind}"
                f"?start={next_start}&limit={limit}"
            }
        return body

    def read_restriction(self, page: FakePage, start: int = 0, limit: int | None = None) -> dict:
        base = f"http://127.0.0.1:{self.port}{self.context}"
        return {
            "operation": "read",
            "restrictions": {
                "user": self.subject_list(page, "user", start, limit),
                "group": self.subject_list(page, "group", start, limit),
            },
            "_links": {
                "base": base,
                "context": self.context,
                "self": f"{base}/rest/api/content/{page.id}/restriction/byOperation/read",
            },
            "_expandable": {"content": f"/rest/api/content/{page.id}"},
        }

    def space_id(self, key: str) -> int:
        return 98000 + sorted(self.spaces).index(key)

    @property
    def dc_version_tuple(self) -> tuple[int, ...]:
        return tuple(int(part) for part in self.dc_version.split(".")[:2])

    def find_user(self, q: dict) -> FakeUser | None:
        for user in self.users.values():
            if (
                q.get("username") == user.username
                or q.get("key") == user.user_key
                or q.get("accountId") == user.account_id
            ):
                return user
        return None

    def attachment_visible(self, att: FakeAttachment) -> bool:
        page = self.pages.get(att.page_id)
        return page is not None and self.visible(page) and page.space not in self.forbidden_spaces

    def attachment_view(self, att: FakeAttachment) -> dict:
        page = self.pages[att.page_id]
        return {
            "type": "attachment",
            "space": page.space,
            "label": [],
            "id": att.id,
            "title": att.title,
            "text": att.title,
            "ancestor": [a.id for a in self.ancestors(page)] + [page.id],
            "parent": page.id,
            "container": page.id,
            "creator": page.author,
            "lastmodified": att.when,
            "created": att.when,
        }

    def view(self, content: FakePage | FakeAttachment | FakeComment) -> dict:
        if isinstance(content, FakeComment):
            return self.comment_view(content)
        return self.attachment_view(content) if isinstance(content, FakeAttachment) else self.cql_view(content)

    def any_content(self, content: FakePage | FakeAttachment | FakeComment, expand: str) -> dict:
        if isinstance(content, FakeComment):
            return self.comment_v1(content, expand)
        if isinstance(content, FakeAttachment):
            data = self.attachment_content(content)
            page = self.pages[content.page_id]
            if "container" in expand:
                data["container"] = {"id": page.id, "type": "page", "title": page.title}
            return data
        return self.content(content, expand)

    def attachment_content(self, att: FakeAttachment) -> dict:
        download = f"/download/attachments/{att.page_id}/{quote(att.title)}?version={att.version}&api=v2"
        return {
            "id": att.id,
            "type": "attachment",
            "status": "current",
            "title": att.title,
            "metadata": {"mediaType": att.media_type},
            "extensions": {"mediaType": att.media_type, "fileSize": len(att.data)},
            "version": {"number": att.version, "when": att.when.isoformat().replace("+00:00", "Z")},
            "_links": {
                "webui": f"/pages/viewpageattachments.action?pageId={att.page_id}&preview={quote(att.title)}",
                "download": download,
            },
        }

    def cql_view(self, page: FakePage) -> dict:
        return {
            "type": page.type,
            "space": page.space,
            "label": page.labels,
            "id": page.id,
            "title": page.title,
            "text": page.title + " " + re.sub(r"<[^>]+>", " ", page.html),
            "ancestor": [a.id for a in self.ancestors(page)],
            "parent": page.parent or "",
            "creator": page.author,
            "lastmodified": page.when,
            "created": page.when,
        }

    # --- comments (issue 18): Cloud v2 footer/inline listings, v1/DC child/comment, CQL type=comment ---
    def add_comment(
        self, page_id: str, body: str, *, inline_on: str = "", parent: str | None = None, author: str = "Alice Martin"
    ) -> FakeComment:
        """A footer comment; `inline_on`: an inline one on the first occurrence of that text, which the page
        body then wraps in a marker (the page version does not change); `parent`: a reply."""
        with self._lock:
            self._next_id += 1
            comment = FakeComment(f"c{self._next_id}", page_id, body, parent=parent, author=author)
        if parent:
            comment.location = self.comments[parent].location
        elif inline_on:
            page = self.pages[page_id]
            comment.location, comment.selection = "inline", inline_on
            comment.marker_ref = f"ref-{comment.id}"
            marker = f'<span class="inline-comment-marker" data-ref="{comment.marker_ref}">{inline_on}</span>'
            page.html = page.html.replace(inline_on, marker, 1)
        self.comments[comment.id] = comment
        return comment

    def edit_comment(self, comment_id: str, body: str) -> None:
        comment = self.comments[comment_id]
        comment.body, comment.version, comment.when = body, comment.version + 1, datetime.now(UTC)

    def delete_comment(self, comment_id: str) -> None:
        """Permanent, with its replies (v2 DELETE: no tombstone in any listing)."""
        for reply in [c.id for c in self.comments.values() if c.parent == comment_id]:
            self.delete_comment(reply)
        del self.comments[comment_id]

    def comment_visible(self, comment: FakeComment) -> bool:
        page = self.pages.get(comment.page_id)
        return page is not None and self.visible(page) and page.space not in self.forbidden_spaces

    def comment_view(self, comment: FakeComment) -> dict:
        page = self.pages[comment.page_id]
        return {
            "type": "comment",
            "space": page.space,
            "label": [],
            "id": comment.id,
            "title": f"Re: {page.title}",
            "text": re.sub(r"<[^>]+>", " ", comment.body),
            "ancestor": [a.id for a in self.ancestors(page)] + [page.id],
            "parent": page.id,
            "creator": comment.author,
            "lastmodified": comment.when,
            "created": comment.when,
        }

    def comment_webui(self, comment: FakeComment) -> str:
        page = self.pages[comment.page_id]
        return f"{self.webui(page)}?focusedCommentId={comment.id}#comment-{comment.id}"

    def comment_v1(self, comment: FakeComment, expand: str) -> dict:
        """The v1 content shape (search, child/comment), after the captured Cloud v1 response."""
        page = self.pages[comment.page_id]
        wants = set(expand.split(",")) if expand else set()
        when = comment.when.isoformat().replace("+00:00", "Z")
        data: dict = {
            "id": comment.id,
            "type": "comment",
            "status": "current",
            "title": f"Re: {page.title}",
            "version": {"number": comment.version, "when": when, "by": {"displayName": comment.author}},
            "_links": {"webui": self.comment_webui(comment)},
        }
        if "container" in wants:
            data["container"] = {"id": page.id, "type": page.type, "title": page.title}
        if "body.view" in wants:
            data["body"] = {"view": {"value": comment.body, "representation": "view"}}
        if "ancestors" in wants:
            data["ancestors"] = [{"id": comment.parent, "type": "comment"}] if comment.parent else []
        extensions: dict = {"location": comment.location}
        if "extensions.resolution" in wants:
            extensions["resolution"] = {"status": comment.resolution, "lastModifiedDate": "1970-01-01T00:00:00.000Z"}
        if "extensions.inlineProperties" in wants and comment.location == "inline":
            extensions["inlineProperties"] = {"originalSelection": comment.selection, "markerRef": comment.marker_ref}
        data["extensions"] = extensions
        return data

    def comment_v2(self, comment: FakeComment, body_format: str) -> dict:
        """The v2 shape; no body without `body-format` (CONFCLOUD-77788)."""
        data: dict = {
            "id": comment.id,
            "status": "current",
            "title": f"Re: {self.pages[comment.page_id].title}",
            "version": {"number": comment.version, "createdAt": comment.when.isoformat(), "authorId": "5b10ac8d"},
            "_links": {"webui": self.comment_webui(comment)},
        }
        if comment.parent:
            data["parentCommentId"] = comment.parent
        else:
            data["pageId"] = comment.page_id
        if body_format == "storage":
            data["body"] = {"storage": {"representation": "storage", "value": comment.body}}
        if comment.location == "inline":
            data["resolutionStatus"] = comment.resolution
            data["properties"] = {"inlineMarkerRef": comment.marker_ref, "inlineOriginalSelection": comment.selection}
        return data


def _envelope(
    results: list,
    start: int,
    limit: int,
    base: str,
    context: str,
    next_link: str | None,
    total: int | None = None,
) -> dict:
    links = {"base": base, "context": context, "self": base}
    if next_link:
        links["next"] = next_link
    body = {
        "results": results,
        "start": start,
        "limit": limit,
        "size": len(results),
        "_links": links,
    }
    if total is not None:
        body["totalSize"] = total
    return body


class _Handler(BaseHTTPRequestHandler):
    owner: FakeConfluence
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    # --- plumbing -----------------------------------------------------------------------------
    def _send(
        self,
        status: int,
        body: dict | list | bytes | str,
        content_type: str = "application/json",
        headers: dict | None = None,
    ) -> None:
        if isinstance(body, dict | list):
            payload = json.dumps(body).encode()
        elif isinstance(body, str):
            payload = body.encode()
        else:
            payload = body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def _error(self, status: int, message: str) -> None:
        reason = {400: "Bad Request", 403: "Forbidden", 404: "Not Found"}.get(status, "Error")
        self._send(
            status,
            {
                "statusCode": status,
                "data": {
                    "authorized": status != 403,
                    "valid": True,
                    "errors": [],
                    "successful": False,
                },
                "message": message,
                "reason": reason,
            },
        )

    def _authorized(self) -> bool:
        fake = self.owner
        header = self.headers.get("Authorization", "")
        if header.startswith("Basic "):
            user, _, token = base64.b64decode(header[6:]).decode().partition(":")
            return (user, token) == (fake.username, fake.api_token)
        if header.startswith("Bearer "):
            return header[7:] == fake.pat
        return False

    def _injected_failure(self) -> bool:
        fake = self.owner
        with fake._lock:
            failure = next((f for f in fake.failures if f.path_contains in self.path), None)
            if failure is None:
                return False
            if failure.after > 0:
                failure.after -= 1
                return False
            failure.times -= 1
            if failure.times <= 0:
                fake.failures.remove(failure)
        if failure.delay_s:
            time.sleep(failure.delay_s)
            if failure.status == 0:
                return False
        headers = {"Retry-After": failure.retry_after} if failure.retry_after else {}
        self._send(failure.status, {"message": f"injected {failure.status}"}, headers=headers)
        return True

    def do_GET(self) -> None:
        fake = self.owner
        fake.requests.append(self.path)
        fake.request_times.append((time.monotonic(), self.path))
        if fake.latency_s:
            time.sleep(fake.latency_s)
        if self._injected_failure():
            return
        if not self._authorized():
            self._send(
                401,
                "Basic authentication with passwords is deprecated or credentials are wrong",
                content_type="text/plain",
            )
            return
        url = urlparse(self.path)
        if not url.path.startswith(fake.context + "/"):
            self._error(404, "Not Found")
            return
        path = url.path[len(fake.context) :]
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        try:
            self._route(path, query)
        except CqlError as exc:
            self._error(400, str(exc))

    # --- routes -------------------------------------------------------------------------------
    def _route(self, path: str, q: dict) -> None:
        fake = self.owner
        if path.startswith("/api/v2/spaces") and fake.cloud:
            self._v2_spaces(path, q)
        elif m := re.fullmatch(r"/rest/api/space/([^/]+)", path):
            key = m.group(1)
            if fake.cloud and fake.v1_space_gone:
                self._send(
                    410, {"statusCode": 410, "message": "GoneException: This deprecated endpoint has been removed."}
                )
            elif key in fake.forbidden_spaces:
                self._error(403, "Current user not permitted to use Confluence")
            elif key in fake.spaces:
                body = {"id": fake.space_id(key), "key": key, "name": fake.spaces[key], "type": "global"}
                if "permissions" in q.get("expand", "").split(","):
                    if not fake.cloud:  # Elastic drops this expand on DC: it 500s for non-admins
                        self._error(500, "java.lang.NullPointerException")
                        return
                    body["permissions"] = self._cloud_space_permissions(key)
                self._send(200, body)
            else:
                self._error(404, f"No space with key : {key}")
        elif m := re.fullmatch(r"/rest/api/space/([^/]+)/permissions(/anonymous)?", path):
            self._dc_space_permissions(m.group(1), bool(m.group(2)))
        elif path == "/rest/api/server-information" and not fake.cloud:
            self._send(200, {"baseUrl": self._base(), "version": fake.dc_version, "buildNumber": 9012})
        elif m := re.fullmatch(r"/rest/api/content/([^/]+)/restriction/byOperation/read(?:/(user|group))?", path):
            self._restriction(m.group(1), m.group(2), q)
        elif m := re.fullmatch(r"/rest/api/group/([^/]+)/(member|membersByGroupId)", path):
            self._members(unquote(m.group(1)), m.group(2), q)
        elif path == "/rest/api/user/memberof":
            self._memberof(q)
        elif path == "/rest/api/user":
            user = fake.find_user(q)
            if user is None:
                self._error(404, "No user found")
            else:
                self._send(200, fake.user_json(user))
        elif path == "/rest/api/content/search":
            self._search(q)
        elif self._comment_route(path, q):
            pass
        elif (path == "/rest/api/audit" and fake.cloud) or (path == "/rest/auditing/1.0/events" and not fake.cloud):
            self._audit(q)
        elif m := re.fullmatch(r"/download/attachments/([^/]+)/(.+)", path):
            att = next(
                (a for a in fake.attachments.values() if a.page_id == m.group(1) and quote(a.title) == m.group(2)),
                None,
            )
            if att is None:
                self._error(404, "attachment not found")
            else:
                self._send(200, att.data, content_type=att.media_type)
        else:
            self._error(404, f"no route {path}")

    # --- audit log ----------------------------------------------------------------------------------
    def _audit(self, q: dict) -> None:
        fake = self.owner
        if fake.audit_status == 400 and fake.cloud:
            self._error(400, "Cannot make this request because you are on Free edition. Please upgrade.")
            return
        if fake.audit_status is not None:
            self._error(fake.audit_status, "Current user not permitted to view the audit log")
            return
        if fake.cloud:
            start_ms, end_ms = int(q.get("startDate") or 0), int(q.get("endDate") or 2**62)
            records = fake.audit_window(start_ms / 1000, end_ms / 1000)
            offset, limit = int(q.get("start") or 0), min(int(q.get("limit") or 1000), 1000)
            window = [fake.audit_json(r) for r in records[offset : offset + limit]]
            body = {"results": window, "start": offset, "limit": limit, "size": len(window), "_links": {}}
            self._send(200, body)
            return
        start = datetime.fromisoformat(q["from"].replace("Z", "+00:00")).timestamp() if q.get("from") else 0.0
        end = datetime.fromisoformat(q["to"].replace("Z", "+00:00")).timestamp() if q.get("to") else 2.0**40
        records = list(reversed(fake.audit_window(start, end)))  # DC: newest first
        offset, limit = int(q.get("pageCursor") or 0), min(int(q.get("limit") or 200), 100000)
        window = [fake.audit_json(r) for r in records[offset : offset + limit]]
        last = offset + limit >= len(records)
        paging = {"lastPage": last, "nextPageCursor": None if last else str(offset + limit), "size": len(window)}
        self._send(200, {"entities": window, "pagingInfo": paging})

    # --- permissions ------------------------------------------------------------------------------
    def _v2_spaces(self, path: str, q: dict) -> None:
        """Cloud v2: `/spaces?keys=`, `/spaces/{id}/permissions`, `/spaces/{id}/role-assignments`."""
        fake = self.owner
        if fake.v2_status != 200:
            self._send(fake.v2_status, {"errors": [{"status": fake.v2_status, "title": "Not available"}]})
            return
        if path == "/api/v2/spaces":
            if set(q.get("keys", "").split(",")) & fake.forbidden_spaces:
                self._error(403, "Current user not permitted to use Confluence")
                return
            keys = [k for k in q.get("keys", "").split(",") if k in fake.spaces]
            found = [{"id": str(fake.space_id(k)), "key": k, "name": fake.spaces[k], "type": "global"} for k in keys]
            self._send(200, {"results": found, "_links": {"base": self._base()}})
            return
        m = re.fullmatch(r"/api/v2/spaces/(\d+)/(permissions|role-assignments)", path)
        key = next((k for k in fake.spaces if m and str(fake.space_id(k)) == m.group(1)), None)
        if key is None or key in fake.forbidden_spaces:
            self._send(404, {"errors": [{"status": 404, "title": "Not Found"}]})
            return
        if m.group(2) == "permissions":
            rows = self._v2_permission_rows(key)
        else:
            rows = [a for a in self._v2_role_assignments(key) if a["roleId"] == q.get("role-id", a["roleId"])]
        start = int(base64.urlsafe_b64decode(q["cursor"].encode()).decode()) if q.get("cursor") else 0
        limit = min(int(q.get("limit") or 25), fake.v2_page_cap)
        body = {"results": rows[start : start + limit], "_links": {"base": self._base()}}
        headers = {}
        if start + limit < len(rows):
            cursor = base64.urlsafe_b64encode(str(start + limit).encode()).decode()
            params = {k: v for k, v in q.items() if k != "cursor"} | {"cursor": cursor}
            body["_links"]["next"] = f"{fake.context}{path}?{urlencode(params)}"
            headers["Link"] = f'<{body["_links"]["next"]}>; rel="next"'
        self._send(200, body, headers=headers)

    def _v2_permission_rows(self, key: str) -> list[dict]:
        fake = self.owner
        perms = fake.space_perms[key]
        read = {"key": "read", "targetType": "space"}
        rows = [
            {
                "principal": {"type": "group", "id": "gid-admins"},
                "operation": {"key": "administer", "targetType": "space"},
            }
        ]
        if fake.v2_grants in ("direct", "both"):
            rows += [
                {"principal": {"type": "group", "id": fake.groups[g].id}, "operation": read}
                for g in sorted(perms.groups)
            ]
            rows += [
                {"principal": {"type": "user", "id": fake.users[u].account_id}, "operation": read}
                for u in sorted(perms.users)
            ]
        if fake.v2_grants in ("role", "both") and (perms.groups or perms.users or fake.v2_viewer_classes):
            rows.append({"principal": {"type": "role", "id": "role-viewer"}, "operation": read})
        if perms.anonymous:
            rows.append({"principal": {"type": "role", "id": "role-guest"}, "operation": read})
        # A role holding other operations only, assigned to everyone: it must not grant reading.
        rows.append(
            {
                "principal": {"type": "role", "id": "role-exporter"},
                "operation": {"key": "export", "targetType": "space"},
            }
        )
        return [{"id": str(2100 + i), **row} for i, row in enumerate(rows)]

    def _v2_role_assignments(self, key: str) -> list[dict]:
        fake = self.owner
        perms = fake.space_perms[key]
        out = [
            {"principal": {"principalType": "GROUP", "principalId": fake.groups[g].id}, "roleId": "role-viewer"}
            for g in sorted(perms.groups)
        ]
        out += [
            {"principal": {"principalType": "USER", "principalId": fake.users[u].account_id}, "roleId": "role-viewer"}
            for u in sorted(perms.users)
        ]
        out += [
            {"principal": {"principalType": "ACCESS_CLASS", "principalId": c}, "roleId": "role-viewer"}
            for c in fake.v2_viewer_classes
        ]
        if perms.anonymous:
            out.append(
                {
                    "principal": {"principalType": "ACCESS_CLASS", "principalId": "anonymous-users"},
                    "roleId": "role-guest",
                }
            )
        out.append(
            {
                "principal": {"principalType": "ACCESS_CLASS", "principalId": "all-licensed-users"},
                "roleId": "role-exporter",
            }
        )
        return out

    def _cloud_space_permissions(self, key: str) -> list[dict]:
        """Cloud v1 `expand=permissions`: one subject per entry, `anonymousAccess` on its own entry."""
        fake = self.owner
        perms = fake.space_perms[key]
        read = {"operation": "read", "targetType": "space"}
        out, n = [], 10
        for name in sorted(perms.groups):
            group = fake.groups[name]
            n += 1
            out.append(
                {
                    "id": n,
                    "subjects": {"group": {"results": [fake.group_json(group)], "size": 1}},
                    "operation": read,
                    "anonymousAccess": False,
                    "unlicensedAccess": False,
                }
            )
        for username in sorted(perms.users):
            user = fake.users[username]
            n += 1
            subject = {"type": "known", "accountId": user.account_id, "accountType": "atlassian"}
            out.append(
                {
                    "id": n,
                    "subjects": {"user": {"results": [subject], "size": 1}},
                    "operation": read,
                    "anonymousAccess": False,
                    "unlicensedAccess": False,
                }
            )
        # Other operations are listed too; only read/space matters.
        out.append(
            {
                "id": n + 1,
                "subjects": {"group": {"results": [{"type": "group", "name": "site-admins", "id": "x"}], "size": 1}},
                "operation": {"operation": "administer", "targetType": "space"},
                "anonymousAccess": False,
                "unlicensedAccess": False,
            }
        )
        if perms.anonymous:
            out.append({"id": n + 2, "operation": read, "anonymousAccess": True, "unlicensedAccess": False})
        return out

    def _dc_space_permissions(self, key: str, anonymous: bool) -> None:
        fake = self.owner
        if fake.cloud or fake.dc_version_tuple < (9, 1) or key not in fake.spaces:
            self._error(404, "null for uri: " + self.path)
            return
        if not fake.service_admin:  # CONFSERVER-99908: 500, not 403
            self._send(500, {"statusCode": 500, "message": "java.lang.NullPointerException", "reason": "Error"})
            return
        perms = fake.space_perms[key]
        read = {"targetType": "space", "operationKey": "read"}
        if anonymous:
            if not perms.anonymous:
                self._error(404, "No anonymous permission")
            elif fake.anonymous_shape == "operations":
                self._send(200, {"operations": [read]})
            else:
                self._send(200, [{"operation": read}])
            return
        sid = fake.space_id(key)
        rows = [
            {"operation": read, "subject": {"type": "group", "name": g}, "spaceKey": key, "spaceId": sid}
            for g in sorted(perms.groups)
        ]
        rows += [
            {
                "operation": read,
                "subject": {"type": "user", "userKey": fake.users[u].user_key},
                "spaceKey": key,
                "spaceId": sid,
            }
            for u in sorted(perms.users)
        ]
        rows.append(
            {
                "operation": {"targetType": "space", "operationKey": "administer"},
                "subject": {"type": "group", "name": "confluence-administrators"},
                "spaceKey": key,
                "spaceId": sid,
            }
        )
        self._send(200, rows)

    def _restriction(self, content_id: str, kind: str | None, q: dict) -> None:
        fake = self.owner
        page = fake.pages.get(content_id)
        # 404 when the content does not exist or the caller cannot view it (javadoc, S23).
        if page is None or not fake.visible(page) or page.space in fake.forbidden_spaces:
            self._error(404, f"No content found with id: ContentId{{id={content_id}}}")
            return
        start, limit = int(q.get("start") or 0), int(q.get("limit") or fake.restriction_cap)
        if kind:
            body = fake.subject_list(page, kind, start, limit)
            body["_links"] = {**body.get("_links", {}), "base": self._base(), "context": fake.context}
            self._send(200, body)
        else:
            self._send(200, fake.read_restriction(page, start, limit))

    def _members(self, name_or_id: str, style: str, q: dict) -> None:
        fake = self.owner
        if (style == "membersByGroupId") != fake.cloud:  # DC: by name; Cloud: by group id
            self._error(404, f"no route {style}")
            return
        if style == "membersByGroupId":
            group = next((g for g in fake.groups.values() if g.id == name_or_id), None)
        else:
            group = fake.groups.get(name_or_id)
        if group is None:
            self._error(404, f"Group not found: {name_or_id}")
            return
        members = [fake.user_json(fake.users[u]) for u in sorted(fake.members_of(group.name))]
        start, limit = self._window(q)
        window = members[start : start + limit]
        next_link = None
        if start + len(window) < len(members):
            # DC under-counts `start` in its next links (Onyx #4129): clients must re-derive it.
            shown = start + len(window) - (0 if fake.cloud else 1)
            next_link = f"/rest/api/group/{quote(name_or_id)}/{style}?limit={limit}&start={shown}"
        self._send(200, _envelope(window, start, limit, self._base(), fake.context, next_link))

    def _memberof(self, q: dict) -> None:
        fake = self.owner
        user = fake.find_user(q)
        if user is None:
            self._error(404, "No user found")
            return
        groups = [fake.group_json(fake.groups[g]) for g in sorted(fake.groups_of(user.username))]
        start, limit = self._window(q)
        window = groups[start : start + limit]
        next_link = None
        if start + len(window) < len(groups):
            params = {k: v for k, v in q.items() if k in ("username", "key", "accountId")}
            next_link = f"/rest/api/user/memberof?{urlencode(params)}&limit={limit}&start={start + len(window)}"
        self._send(200, _envelope(window, start, limit, self._base(), fake.context, next_link))

    def do_POST(self) -> None:
        fake = self.owner
        fake.requests.append("POST " + self.path)
        if self._injected_failure():
            return
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        url = urlparse(self.path)
        path = url.path[len(fake.context) :] if url.path.startswith(fake.context + "/") else ""
        if path != "/rpc/json-rpc/confluenceservice-v2" or fake.cloud:  # Cloud removed RPC in 2019
            self._error(404, "Not Found")
            return
        if not fake.rpc_enabled or not self._authorized():
            self._send(401, "<html><body>Remote API is disabled</body></html>", content_type="text/html")
            return
        if fake.rpc_websudo:
            self._send(200, "<html><body>Administrator Access: confirm your password</body></html>", "text/html")
            return
        try:
            call = json.loads(raw)
        except ValueError:
            self._send(400, {"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}})
            return
        if call.get("method") != "getSpacePermissionSets" or not call.get("params"):
            self._send(200, {"jsonrpc": "2.0", "id": call.get("id"), "error": {"code": -32601, "message": "no method"}})
            return
        key = call["params"][0]
        if key not in fake.spaces:
            self._send(200, {"jsonrpc": "2.0", "id": call.get("id"), "error": {"code": 0, "message": "No space"}})
            return
        perms = fake.space_perms[key]
        rows = [{"groupName": g, "userName": None} for g in sorted(perms.groups)]
        rows += [{"groupName": None, "userName": u} for u in sorted(perms.users)]
        if perms.anonymous:
            rows.append({"groupName": None, "userName": None})
        result = [
            {"type": "VIEWSPACE", "spacePermissions": rows},
            {"type": "EDITSPACE", "spacePermissions": [{"groupName": "confluence-users", "userName": None}]},
        ]
        self._send(200, {"jsonrpc": "2.0", "id": call.get("id"), "result": result})

    def _window(self, q: dict) -> tuple[int, int]:
        start = int(q.get("start") or 0)
        limit = min(int(q.get("limit") or self.owner.page_cap), self.owner.page_cap)
        return start, limit

    def _base(self) -> str:
        return f"http://127.0.0.1:{self.owner.port}{self.owner.context}"

    def _search(self, q: dict) -> None:
        fake = self.owner
        if "cql" not in q:
            self._error(400, "cql is required")
            return
        pred, order = compile_cql(q["cql"], fake.tz)
        matches = [
            p
            for p in fake.pages.values()
            if fake.visible(p) and p.space not in fake.forbidden_spaces and pred(fake.cql_view(p))
        ]
        matches.sort(key=lambda p: p.position)
        matches += sorted(
            (a for a in fake.attachments.values() if fake.attachment_visible(a) and pred(fake.attachment_view(a))),
            key=lambda a: a.position,
        )
        matches += [c for c in fake.comments.values() if fake.comment_visible(c) and pred(fake.comment_view(c))]
        if order:
            key, desc = order
            matches.sort(key=lambda c: fake.view(c).get(key), reverse=desc)
        start, limit = self._window(q)
        if q.get("cursor"):  # Cloud: the cursor defines the position, start is ignored
            start = int(base64.urlsafe_b64decode(q["cursor"].encode()).decode().split(":")[1])
        window = matches[start : start + limit]
        next_link = None
        if start + len(window) < len(matches):
            params = {"cql": q["cql"], "limit": limit}
            if "expand" in q:
                params["expand"] = q["expand"]
            if fake.cloud:
                cursor = base64.urlsafe_b64encode(f"raw:{start + len(window)}".encode()).decode()
                next_link = f"/rest/api/content/search?next=true&cursor={quote(cursor)}&{urlencode(params)}"
            else:
                next_link = f"/rest/api/content/search?{urlencode({**params, 'start': start + len(window)})}"
        if fake.fault_77618 and "ancestors.restrictions" in q.get("expand", ""):
            # CONFCLOUD-77618: one draft/trashed ancestor 404s the whole batch.
            bad = next(
                (a for c in window if isinstance(c, FakePage) for a in fake.ancestors(c) if a.status != "current"),
                None,
            )
            if bad is not None:
                message = {"translation": f"No content with id <ContentId{{id={bad.id}}}> can be found"}
                data = {"authorized": False, "valid": False, "errors": [{"message": message}], "successful": False}
                self._send(404, {"statusCode": 404, "data": data})
                return
        results = [fake.any_content(c, q.get("expand", "")) for c in window]
        self._send(
            200,
            _envelope(
                results,
                start,
                limit,
                self._base(),
                fake.context,
                next_link,
                total=len(matches) if fake.cloud else None,
            ),
        )

    # --- comments (issue 18) ------------------------------------------------------------------
    def _comment_route(self, path: str, q: dict) -> bool:
        """Comment listings; False when `path` is not one of them."""
        fake = self.owner
        if m := re.fullmatch(r"/rest/api/content/([^/]+)/child/comment", path):
            page = fake.pages.get(m.group(1))
            if page is None or not fake.visible(page):
                self._error(404, "No content found with id")
                return True
            locations = set(parse_qs(urlparse(self.path).query).get("location", []))
            # DC: depth=all adds the replies; Cloud ignores depth (root comments only) [C6].
            replies = q.get("depth") == "all" and not fake.cloud
            found = [
                c
                for c in fake.comments.values()
                if c.page_id == page.id and (replies or not c.parent) and (not locations or c.location in locations)
            ]
            start, limit = self._window(q)
            window = found[start : start + limit]
            next_link = None
            if start + len(window) < len(found):
                params = {k: v for k, v in q.items() if k not in ("start", "location")}
                params.update(start=start + len(window), limit=limit)
                next_link = f"{path}?{urlencode(params)}" + "".join(f"&location={loc}" for loc in sorted(locations))
            results = [fake.comment_v1(c, q.get("expand", "")) for c in window]
            self._send(200, _envelope(results, start, limit, self._base(), fake.context, next_link))
            return True
        if not fake.cloud:
            return False
        if m := re.fullmatch(r"/api/v2/(pages|blogposts)/([^/]+)/(footer|inline)-comments", path):
            page = fake.pages.get(m.group(2))
            if page is None or not fake.visible(page):
                self._error(404, "Not Found")
                return True
            found = [c for c in fake.comments.values() if c.page_id == page.id and not c.parent]
        elif m := re.fullmatch(r"/api/v2/(footer|inline)-comments/([^/]+)/children", path):
            parent = fake.comments.get(m.group(2))
            if parent is None or not fake.comment_visible(parent):
                self._error(404, "Not Found")
                return True
            found = [c for c in fake.comments.values() if c.parent == parent.id]
        else:
            return False
        location = m.group(3) if m.lastindex == 3 else m.group(1)
        found = [c for c in found if c.location == location]
        limit = min(int(q.get("limit") or 25), fake.page_cap)
        start = int(base64.urlsafe_b64decode(q["cursor"].encode()).decode()) if q.get("cursor") else 0
        window = found[start : start + limit]
        links = {"base": self._base()}
        if start + len(window) < len(found):
            cursor = base64.urlsafe_b64encode(str(start + len(window)).encode()).decode()
            params = {k: v for k, v in q.items() if k != "cursor"}
            links["next"] = f"{fake.context}{path}?{urlencode({**params, 'cursor': cursor})}"
        results = [fake.comment_v2(c, q.get("body-format", "")) for c in window]
        self._send(200, {"results": results, "_links": links})
        return True


def sample_space(fake: FakeConfluence, key: str = "ENG") -> dict[str, FakePage]:
    """A small, hand-written space with hierarchy, labels, a table, code and a script to drop."""
    fake.add_space(key, "Engineering")
    root = fake.add_page(
        key,
        "Engineering handbook",
        "<h1 id='Handbook-Welcome'>Welcome</h1><p>This handbook explains how the engineering team works.</p>",
        labels=["handbook"],
    )
    deploy = fake.add_page(
        key,
        "Deployment guide",
        "<h1 id='Deploy-Overview'>Overview</h1><p>Production deployments run through the Zephyr pipeline.</p>"
        "<h2 id='Deploy-Windows'>Deployment windows</h2><p>Deploy from Monday to Thursday between 10:00 and 16:00."
        " Never deploy on Fridays.</p><pre data-syntaxhighlighter-params='brush: bash'>zephyr deploy --env prod"
        "</pre><script>window.secret = 'do-not-index'</script>",
        parent=root.id,
        labels=["ops", "deploy"],
    )
    rollback = fake.add_page(
        key,
        "Rollback procedure",
        "<h1 id='Rollback-Steps'>Steps</h1><ol><li>Run <code>zephyr rollback</code>.</li>"
        "<li>Open an incident ticket.</li></ol><table><tr><th>Severity</th><th>Response time</th></tr>"
        "<tr><td>SEV1</td><td>15 minutes</td></tr></table>",
        parent=deploy.id,
        labels=["ops"],
    )
    vacation = fake.add_page(
        key,
        "Congés de l'équipe",
        "<h1 id='Conges-Regles'>Règles</h1><p>Les demandes de congés se font dans l'outil Chronos au moins "
        "deux semaines à l'avance.</p>",
        parent=root.id,
        labels=["rh"],
    )
    oncall = fake.add_page(
        key,
        "On-call rotation",
        "<h1 id='Oncall-Schedule'>Schedule</h1><p>The on-call engineer carries the pager from Monday 9:00 "
        "for one week. The on-call bonus is 200 euros per week.</p>",
        parent=root.id,
        labels=["ops"],
    )
    return {
        "root": root,
        "deploy": deploy,
        "rollback": rollback,
        "vacation": vacation,
        "oncall": oncall,
    }


WORDS = [
    "déploiement",
    "astreinte",
    "sauvegarde",
    "incident",
    "réseau",
    "facture",
    "congés",
    "procédure",
    "serveur",
    "client",
    "contrat",
    "deployment",
    "rollback",
    "pipeline",
    "backup",
    "network",
    "invoice",
    "holiday",
    "procedure",
    "server",
    "customer",
    "contract",
]


# One question per page of `hr_space`, answered only by that page.
HR_QUESTIONS = {
    "Payroll": "When is the payroll paid?",
    "Bonus scheme": "How is the yearly bonus computed?",
    "Canteen": "What does the canteen serve on Fridays?",
}


def hr_space(fake: FakeConfluence, key: str = "HR") -> dict[str, FakePage]:
    """A restricted space for revocation tests: staff may view it; Payroll is restricted to finance
    (carol), Bonus scheme and Canteen are open to staff (carol, erin); erin is a manager."""
    fake.add_group("finance", ["carol"])
    fake.add_group("staff", ["carol", "erin"])
    fake.add_group("managers", ["erin"])
    fake.add_space(key, "Human resources")
    fake.set_space_permissions(key, groups=["staff"], anonymous=False)
    home = fake.add_page(key, "HR Home", "<p>Welcome to the HR space.</p>")
    pages = {
        "Payroll": fake.add_page(
            key, "Payroll", "<p>The payroll is paid on the 25th by bank transfer.</p>", parent=home.id
        ),
        "Bonus scheme": fake.add_page(
            key, "Bonus scheme", "<p>The yearly bonus is computed from the objectives met.</p>", parent=home.id
        ),
        "Canteen": fake.add_page(key, "Canteen", "<p>The canteen serves fish on Fridays.</p>", parent=home.id),
    }
    fake.set_read_restriction(pages["Payroll"].id, groups=["finance"])
    return pages


def revoke_for_carol(fake: FakeConfluence, pages: dict[str, FakePage]) -> None:
    """The three revocations of the issue, all hitting carol: a restriction added (Bonus scheme), carol
    removed from a group (finance: Payroll), a page deleted (Canteen)."""
    fake.set_read_restriction(pages["Bonus scheme"].id, groups=["managers"])
    fake.remove_from_group("finance", "carol")
    fake.delete_page(pages["Canteen"].id)


def generated_space(fake: FakeConfluence, key: str, pages: int) -> None:
    """`pages` deterministic pages under one root, one to three chunks each."""
    fake.add_space(key, f"Space {key}")
    root = fake.add_page(key, f"{key} home", f"<h1 id='{key}-home'>Home</h1><p>Index of space {key}.</p>")
    for n in range(pages - 1):
        paragraphs = []
        for p in range(1 + n % 3):
            words = " ".join(WORDS[(n * 7 + p * 3 + i) % len(WORDS)] for i in range(120))
            paragraphs.append(f"<h2 id='s{p}'>Section {p} of page {n}</h2><p>Page {n} of {key}. {words}.</p>")
        fake.add_page(key, f"{key} page {n:03d}", "".join(paragraphs), parent=root.id, labels=[f"l{n % 4}"])


def demo_space(fake: FakeConfluence, key: str = "DEMO") -> None:
    """Serve the product's own French demo wiki through the fake, as a real Confluence space."""
    from confluence_rag.sources.demo import demo_pages

    fake.add_space(key, "Équipe Plateforme")
    ids: dict[str, str] = {}
    for page in demo_pages():
        parent = ids.get(page.breadcrumb[-1]) if page.breadcrumb else None
        created = fake.add_page(key, page.title, page.html, parent=parent, labels=page.labels, author=page.author)
        ids[page.title] = created.id


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--server", action="store_true", help="Server/DC style instead of Cloud")
    parser.add_argument("--space", default="ENG")
    args = parser.parse_args()
    fake = FakeConfluence(cloud=not args.server)
    sample_space(fake, args.space)
    print(
        f"fake Confluence at {fake.start(port=args.port)} (user {fake.username}, token {fake.api_token})",
        flush=True,
    )
    threading.Event().wait()


if __name__ == "__main__":
    main()

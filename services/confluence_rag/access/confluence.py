"""Reading who may view what in Confluence, with the calls of confluence_permissions.md §5.

Per space and per pass:
- the space's view grant: Cloud v2 `GET /api/v2/spaces/{id}/permissions` (cursor pages; `role`
  principals resolved through `/api/v2/spaces/{id}/role-assignments`), falling back to v1
  `GET /rest/api/space/{key}?expand=permissions` when v2 answers 404, 410 or 501; DC >= 9.1
  `GET /rest/api/space/{key}/permissions` (users as userKey, resolved to usernames with
  `/rest/api/user?key=`) plus `/permissions/anonymous`; older DC the JSON-RPC
  `getSpacePermissionSets`. The DC version comes from `/rest/api/server-information`.
- every page's own read restriction, expanded in the content listing the sync makes anyway
  (nested user/group lists followed through their `_links.next`). `ancestors.restrictions` is never
  expanded (CONFCLOUD-77618 404s the whole batch over a draft or trashed ancestor): an ancestor's
  restriction is looked up in the same listing, and only ancestors missing from it (Cloud folders,
  drafts, trashed or out-of-scope pages) cost one `…/restriction/byOperation/read` each, cached.
- the members of every group that appears in the grant or in a layer (DC `/group/{name}/member`,
  Cloud `/group/{id}/membersByGroupId`), nested groups as the server resolves them.
Whatever cannot be read denies (a layer nobody passes, a space nobody may view, a group with no
members) and is reported in `SpaceAccess.problems`; credentials that do not work still raise.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import parse_qs, quote, urlparse

from requests.exceptions import RequestException

from confluence_rag.access.rule import (
    DENY_LAYER,
    NOBODY,
    Layer,
    SpaceAccess,
    SpaceGrant,
    canonical,
    group_principal,
    referenced_groups,
    user_principal,
)
from confluence_rag.settings import Settings

log = logging.getLogger(__name__)

RESTRICTIONS_EXPAND = "restrictions.read.restrictions.user,restrictions.read.restrictions.group"
RPC_PATH = "rpc/json-rpc/confluenceservice-v2"
MEMBER_PAGE = 200
V2_PAGE = 250  # the v2 maximum
V2_FALLBACK = (404, 410, 501)  # v2 space permissions absent on this site: read v1
ANONYMOUS_CLASS = "anonymous-users"  # the v2 access class of anonymous visitors


class AccessReadError(RuntimeError):
    """One permission call failed; the caller denies what it was needed for."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status  # the HTTP status, when Confluence answered


class ConfluenceConnection(Protocol):
    """What the reader needs of sources/confluence.py's client (this package sits below sources)."""

    settings: Settings
    api: Any  # atlassian-python-api's Confluence: its `request` sends through the client's session

    def auth_error(self, message: str) -> Exception:
        """The error for credentials Confluence rejects: raised, it stops the whole pass."""
        ...


class ConfluenceAccessReader:
    """One pass's permission reads (caches live as long as the object: one sync run)."""

    def __init__(self, client: ConfluenceConnection):
        self.client = client
        self.cloud = bool(client.settings.confluence_cloud)
        self._layers: dict[str, Layer | None] = {}  # content id → its own read layer (None: unreadable)
        self._usernames: dict[str, str] = {}  # DC userKey → username
        self._version: tuple[int, ...] | None = None

    # --- HTTP -----------------------------------------------------------------------------------
    def _call(self, method: str, path: str, params: dict | None = None, json: Any = None) -> Any:
        """JSON body of a 2xx answer; AccessReadError (with the status) for anything else."""
        try:
            response = self.client.api.request(
                method=method, path=path, params=params, json=json, absolute=False, advanced_mode=True
            )
        except RequestException as exc:
            raise AccessReadError(f"{path}: {type(exc).__name__}") from exc
        if response.status_code == 401 and not path.startswith(RPC_PATH):
            raise self.client.auth_error("Confluence rejected the credentials (401) while reading permissions.")
        if not 200 <= response.status_code < 300:
            raise AccessReadError(f"{path.split('?')[0]}: HTTP {response.status_code}", response.status_code)
        try:
            return response.json()
        except ValueError as exc:  # e.g. the WebSudo HTML page with a 200
            raise AccessReadError(f"{path.split('?')[0]}: not JSON (WebSudo or a login page?)") from exc

    def _follow(self, link: str) -> Any:
        return self._call("GET", link.lstrip("/"))

    # --- principals -----------------------------------------------------------------------------
    def user_id(self, user: dict) -> str | None:
        if self.cloud:
            return user.get("accountId")  # opaque, case-sensitive
        key = user.get("userKey")
        name = user.get("username") or (self.username_for_key(key) if key else None)
        # Server/DC usernames are case-insensitive in Confluence: stored lower-cased, as the sign-in
        # side lower-cases the user (auth/authenticator.py), so `Carol` and `carol` are one person.
        return name.lower() if name else None

    def group_id(self, group: dict) -> str | None:
        return (group.get("id") or group.get("name")) if self.cloud else group.get("name")

    def username_for_key(self, key: str) -> str | None:
        if key not in self._usernames:
            try:
                self._usernames[key] = self._call("GET", "rest/api/user", params={"key": key}).get("username") or ""
            except AccessReadError:
                self._usernames[key] = ""
        return self._usernames[key] or None

    # --- restrictions ---------------------------------------------------------------------------
    def _subjects(self, listing: dict | None) -> list[dict]:
        """Every entry of a nested user/group list, following its own `_links.next`."""
        items: list[dict] = []
        seen: set[str] = set()
        while listing:
            items += listing.get("results") or []
            link = (listing.get("_links") or {}).get("next")
            if not link or not listing.get("results") or link in seen:
                break
            seen.add(link)
            listing = self._follow(link)
        return items

    def read_layer(self, read: dict) -> Layer:
        """One read restriction (`{operation, restrictions: {user, group}}`) as a layer (empty: none)."""
        restrictions = read.get("restrictions") or {}
        principals: set[str] = set()
        for user in self._subjects(restrictions.get("user")):
            uid = self.user_id(user)
            # A user we cannot identify still restricts the page: nobody matches a placeholder.
            principals.add(user_principal(uid) if uid else "!unknown-user")
        for group in self._subjects(restrictions.get("group")):
            gid = self.group_id(group)
            principals.add(group_principal(gid) if gid else "!unknown-group")
        return tuple(sorted(principals))

    def remember(self, raw: dict) -> None:
        """Record the own read layer of a listed item (from its expanded `restrictions`)."""
        read = (raw.get("restrictions") or {}).get("read")
        if read is None:
            return  # not expanded: looked up with byOperation when needed
        try:
            self._layers[str(raw["id"])] = self.read_layer(read)
        except AccessReadError as exc:
            log.warning("restriction of %s unreadable: %s", raw.get("id"), exc)
            self._layers[str(raw["id"])] = None

    def own_layer(self, content_id: str, problems: list[str]) -> Layer | None:
        """A content's direct read layer, from the listing or one byOperation call (cached)."""
        if content_id not in self._layers:
            try:
                read = self._call("GET", f"rest/api/content/{quote(content_id)}/restriction/byOperation/read")
                self._layers[content_id] = self.read_layer(read)
            except AccessReadError as exc:  # 403/404 (draft, trashed, not viewable) or a failure: deny
                self._layers[content_id] = None
                problems.append(f"restriction of {content_id} unreadable ({exc}): its subtree is denied")
        return self._layers[content_id]

    @staticmethod
    def chain(raw: dict) -> tuple[str, ...]:
        """The ids whose read restrictions bind the page: its ancestors root first, then itself."""
        return (*(str(a["id"]) for a in raw.get("ancestors") or []), str(raw["id"]))

    def page_layers(self, raw: dict, problems: list[str]) -> tuple[Layer, ...]:
        """The page's own layer and every ancestor's (root first), canonical; unreadable → DENY_LAYER."""
        layers = []
        for content_id in self.chain(raw):
            layer = self.own_layer(content_id, problems)
            layers.append(DENY_LAYER if layer is None else layer)
        return canonical(layers)

    # --- space grants ---------------------------------------------------------------------------
    def space_grant(self, space_key: str, problems: list[str]) -> SpaceGrant:
        try:
            if self.cloud:
                try:
                    return self._cloud_v2_grant(space_key, problems)
                except AccessReadError as exc:
                    if exc.status not in V2_FALLBACK:
                        raise
                    log.info("space %s: v2 space permissions answered %s: reading v1", space_key, exc.status)
                return self._cloud_grant(space_key)
            if self.dc_version() >= (9, 1):
                try:
                    return self._dc_rest_grant(space_key)
                except AccessReadError as exc:
                    if "HTTP 404" not in str(exc):
                        raise
            return self._rpc_grant(space_key)
        except AccessReadError as exc:
            problems.append(
                f"space permissions of {space_key} unreadable ({exc}): nobody may read the space "
                "(the account needs space or Confluence admin on Server/DC, and the Remote API below 9.1)"
            )
            return NOBODY

    def dc_version(self) -> tuple[int, ...]:
        if self._version is None:
            try:
                text = str(self._call("GET", "rest/api/server-information").get("version", ""))
                self._version = tuple(int(p) for p in text.split(".")[:2] if p.isdigit()) or (99,)
            except AccessReadError:
                self._version = (99,)  # unknown: try the REST endpoint, fall back to JSON-RPC on 404
        return self._version

    def _cloud_grant(self, space_key: str) -> SpaceGrant:
        body = self._call("GET", f"rest/api/space/{quote(space_key)}", params={"expand": "permissions"})
        principals: set[str] = set()
        anonymous = False
        for perm in body.get("permissions") or []:
            op = perm.get("operation") or {}
            if (op.get("operation"), op.get("targetType")) != ("read", "space"):
                continue
            if perm.get("anonymousAccess"):
                anonymous = True
            subjects = perm.get("subjects") or {}
            for user in (subjects.get("user") or {}).get("results") or []:
                if uid := self.user_id(user):
                    principals.add(user_principal(uid))
            for group in (subjects.get("group") or {}).get("results") or []:
                if gid := self.group_id(group):
                    principals.add(group_principal(gid))
        return SpaceGrant(frozenset(principals), anonymous)

    def _v2_pages(self, path: str, params: dict | None = None) -> list[dict]:
        """Every result of a v2 listing, following the cursor of its `_links.next`."""
        params = {**(params or {}), "limit": V2_PAGE}
        results: list[dict] = []
        seen: set[str] = set()
        while True:
            body = self._call("GET", path, params=params)
            results += body.get("results") or []
            link = (body.get("_links") or {}).get("next") or ""
            cursor = parse_qs(urlparse(link).query).get("cursor", [""])[0]
            if not cursor or cursor in seen:
                return results
            seen.add(cursor)
            params = {**params, "cursor": cursor}

    def _cloud_v2_grant(self, space_key: str, problems: list[str]) -> SpaceGrant:
        """The read/space rows of v2: users by account id, groups by id, roles through their assignments.

        v2 has no anonymous principal: anonymous visitors read the space only when a role that grants
        it is assigned to the `anonymous-users` access class. Other access classes (all licensed or
        authenticated users) and unknown principal types grant nothing, and are reported."""
        spaces = self._call("GET", "api/v2/spaces", params={"keys": space_key}).get("results") or []
        space_id = next((str(s["id"]) for s in spaces if s.get("key") == space_key and s.get("id")), None)
        if space_id is None:
            raise AccessReadError(f"api/v2/spaces: no space {space_key!r}")
        principals: set[str] = set()
        anonymous = False
        for row in self._v2_pages(f"api/v2/spaces/{space_id}/permissions"):
            op = row.get("operation") or {}
            principal = row.get("principal") or {}
            kind, pid = principal.get("type"), principal.get("id")
            if (op.get("key"), op.get("targetType")) != ("read", "space") or not pid:
                continue
            if kind == "user":
                principals.add(user_principal(pid))
            elif kind == "group":
                principals.add(group_principal(pid))
            elif kind == "role":
                try:
                    anonymous |= self._v2_role(space_id, str(pid), principals, problems)
                except AccessReadError as exc:
                    problems.append(f"role {pid!r} of {space_key} unreadable ({exc}): it grants nothing")
            else:
                problems.append(f"principal type {kind!r} in the permissions of {space_key}: it grants nothing")
        return SpaceGrant(frozenset(principals), anonymous)

    def _v2_role(self, space_id: str, role_id: str, principals: set[str], problems: list[str]) -> bool:
        """Adds the users and groups a role is assigned to; True when anonymous visitors hold it."""
        anonymous = False
        for assignment in self._v2_pages(f"api/v2/spaces/{space_id}/role-assignments", {"role-id": role_id}):
            if str(assignment.get("roleId", role_id)) != role_id:
                continue  # another role's assignment: never taken for this one's
            principal = assignment.get("principal") or {}
            kind, pid = str(principal.get("principalType", "")).upper(), principal.get("principalId")
            if kind == "USER" and pid:
                principals.add(user_principal(pid))
            elif kind == "GROUP" and pid:
                principals.add(group_principal(pid))
            elif kind == "ACCESS_CLASS" and pid == ANONYMOUS_CLASS:
                anonymous = True
            else:
                problems.append(f"role {role_id!r} assigned to {kind or '?'} {pid!r}: it grants nothing")
        return anonymous

    def _dc_rest_grant(self, space_key: str) -> SpaceGrant:
        rows = self._call("GET", f"rest/api/space/{quote(space_key)}/permissions")
        principals: set[str] = set()
        for row in rows if isinstance(rows, list) else []:
            op = row.get("operation") or {}
            if (op.get("operationKey") or op.get("key"), op.get("targetType")) != ("read", "space"):
                continue
            subject = row.get("subject") or {}
            if subject.get("type") == "group" and subject.get("name"):
                principals.add(group_principal(subject["name"]))
            elif subject.get("type") == "user" and (uid := self.user_id(subject)):
                principals.add(user_principal(uid))
        try:
            anon = self._call("GET", f"rest/api/space/{quote(space_key)}/permissions/anonymous")
        except AccessReadError as exc:
            if "HTTP 404" not in str(exc):
                raise
            anon = []
        ops = anon.get("operations", []) if isinstance(anon, dict) else [a.get("operation", a) for a in anon]
        anonymous = any((o.get("operationKey") or o.get("key"), o.get("targetType")) == ("read", "space") for o in ops)
        return SpaceGrant(frozenset(principals), anonymous)

    def _rpc_grant(self, space_key: str) -> SpaceGrant:
        call = {"jsonrpc": "2.0", "method": "getSpacePermissionSets", "id": 7, "params": [space_key]}
        body = self._call("POST", RPC_PATH, json=call)
        if "error" in body or not isinstance(body.get("result"), list):
            raise AccessReadError(f"{RPC_PATH}: {((body.get('error') or {}).get('message')) or 'no result'}")
        principals: set[str] = set()
        anonymous = False
        for permission_set in body["result"]:
            if permission_set.get("type") != "VIEWSPACE":
                continue
            for row in permission_set.get("spacePermissions") or []:
                if row.get("groupName"):
                    principals.add(group_principal(row["groupName"]))
                elif uid := self.user_id({"username": row.get("userName")}):
                    principals.add(user_principal(uid))
                else:
                    anonymous = True  # both null: anonymous
        return SpaceGrant(frozenset(principals), anonymous)

    # --- groups ---------------------------------------------------------------------------------
    def members(self, group: str) -> frozenset[str]:
        """u:… members of a group principal (g:…); AccessReadError when they cannot be listed."""
        gid = group.removeprefix("g:")
        path = (
            f"rest/api/group/{quote(gid, safe='')}/membersByGroupId"
            if self.cloud
            else f"rest/api/group/{quote(gid, safe='')}/member"
        )
        found: set[str] = set()
        start = 0
        while True:
            body = self._call("GET", path, params={"start": start, "limit": MEMBER_PAGE})
            results = body.get("results") or []
            found.update(user_principal(uid) for user in results if (uid := self.user_id(user)))
            # DC under-counts `start` in its next links (Onyx #4129): the offset is re-derived here.
            start += len(results)
            if not results or not (body.get("_links") or {}).get("next"):
                return frozenset(found)

    def space_access(self, space_key: str, listing: list[dict]) -> SpaceAccess:
        """Everything the index needs to decide who may read the space's pages."""
        problems: list[str] = []
        read_at = datetime.now(UTC).isoformat(timespec="seconds")
        grant = self.space_grant(space_key, problems)
        for raw in listing:
            self.remember(raw)
        pages = {str(raw["id"]): self.page_layers(raw, problems) for raw in listing}
        groups: dict[str, frozenset[str]] = {}
        for group in sorted(referenced_groups(grant, pages.values())):
            try:
                groups[group] = self.members(group)
            except AccessReadError as exc:
                groups[group] = frozenset()
                problems.append(f"members of {group} unreadable ({exc}): the group grants nothing")
        for problem in problems:
            log.warning("space %s: %s", space_key, problem)
        chains = {str(raw["id"]): self.chain(raw) for raw in listing}
        own = {cid: self._layers.get(cid) for chain in chains.values() for cid in chain}
        return SpaceAccess(space_key, grant, pages, groups, problems, chains, own, read_at)

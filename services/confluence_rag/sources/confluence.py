"""The Confluence client: LlamaIndex's ConfluenceReader, wrapped where it falls short.

Workarounds (the reader's behaviour and its sources: docs/confluence.md#the-readers-workarounds):
- The reader's Documents carry no space, version, last-modified, author, labels or ancestors, and
  its space mode crashes on atlassian-python-api >= 4.0.3 without `max_num_results`. We list pages
  with CQL through the reader's authenticated client, expanding exactly those fields, and follow
  `_links.next` as given (a cursor on Cloud, `start` on Server/DC), so paging is right on both.
- The reader converts HTML with markdownify `strip=[script, style]`, which keeps script text. We
  convert with `ingestion.html_to_markdown` instead.
- On a 429 the client sleeps `int(Retry-After)` and retries forever (and crashes on an HTTP-date
  Retry-After). We switch that off and mount a urllib3 `Retry` that honours Retry-After (seconds or
  date) up to a cap, backs off exponentially, retries 5xx and timeouts, and gives up after
  CONFLUENCE_MAX_RETRIES.
- Several ingest workers share one request-rate budget (`RequestBudget`, kept in Redis by
  `components.rate_limit`): every attempt, retries included, takes a token first, and a 429 pushes
  back every worker, not only the one that got it. Without a budget nothing changes.
- The reader picks Bearer for `api_token`, which Cloud treats as anonymous: Cloud API tokens go as
  Basic user:token, Server/DC personal access tokens as Bearer.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import quote, urlparse
from zoneinfo import ZoneInfo

from requests.adapters import HTTPAdapter
from requests.exceptions import HTTPError, RequestException
from urllib3.util import Retry

from confluence_rag.access.confluence import RESTRICTIONS_EXPAND, V2_FALLBACK, ConfluenceAccessReader
from confluence_rag.access.rule import SpaceAccess
from confluence_rag.components.metrics import CONFLUENCE_RATE_LIMITED, PERMISSION_PASS_SECONDS
from confluence_rag.ingestion.attachments import UnreadableAttachment, attachment_kind, extract_text
from confluence_rag.ingestion.comments import Comment, comments_signature, with_comments
from confluence_rag.ingestion.models import Page, listing_signature
from confluence_rag.ingestion.source import PageSource, SourceAuthError, SourceError
from confluence_rag.settings import Settings

log = logging.getLogger(__name__)

PAGE_EXPAND = "body.export_view,version,ancestors,metadata.labels,space"
# Everything the signature and the permission pass need, no bodies (restrictions: direct ones only).
LISTING_EXPAND = f"version,ancestors,metadata.labels,{RESTRICTIONS_EXPAND}"
ATTACHMENT_EXPAND = "version,container,space"
COMMENT_EXPAND = "body.view,version,ancestors,extensions.inlineProperties,extensions.resolution"
V2_LIMIT = 250  # the v2 maximum
ID_BATCH = 25


class ConfluenceError(SourceError):
    """A Confluence failure with a message fit for an operator (no secrets in it)."""

    status: int | None = None  # the HTTP status, when Confluence answered


class ConfluenceAuthError(ConfluenceError, SourceAuthError):
    """401/403: retrying will not help; a setting must change."""


class ConfluenceUnreachable(ConfluenceError):
    """No answer from Confluence (refused, timed out, DNS): not a statement about any space."""


class RequestBudget(Protocol):
    """A request-rate budget shared by every process that calls Confluence."""

    def acquire(self) -> None:
        """Block until one more request may be sent."""

    def back_off(self, seconds: float) -> None:
        """Confluence said 429: nobody sends anything for `seconds`."""


class CappedRetry(Retry):
    """urllib3 Retry whose Retry-After wait is capped (a server may ask for hours).

    With a `budget`, a 429 is reported to it (every sharer of the budget waits) and each retry
    takes a token like a first attempt.
    """

    def __init__(self, *args: Any, max_retry_after: float = 60.0, budget: RequestBudget | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.max_retry_after = max_retry_after
        self.budget = budget

    def new(self, **kw: Any) -> CappedRetry:
        retry = super().new(**kw)
        retry.max_retry_after = self.max_retry_after
        retry.budget = self.budget
        return retry

    def increment(self, *args: Any, **kwargs: Any) -> CappedRetry:
        response = kwargs.get("response", args[2] if len(args) > 2 else None)
        if response is not None and response.status == 429:
            CONFLUENCE_RATE_LIMITED.inc()  # counted on every 429, the last one too
        return super().increment(*args, **kwargs)

    def sleep(self, response: Any = None) -> None:
        if self.budget is not None and response is not None and response.status == 429:
            self.budget.back_off(self.get_retry_after(response) or self.get_backoff_time() or 1.0)
        super().sleep(response)
        if self.budget is not None:
            self.budget.acquire()

    def parse_retry_after(self, retry_after: str) -> float:
        # urllib3 accepts seconds or an HTTP-date; an unparsable value waits one second.
        try:
            seconds = super().parse_retry_after(retry_after)
        except Exception:
            seconds = 1.0
        return min(seconds, self.max_retry_after)


class BudgetedAdapter(HTTPAdapter):
    """Takes a token of the shared budget before each request (retries take theirs in CappedRetry)."""

    def __init__(self, budget: RequestBudget | None = None, **kwargs: Any):
        self.budget = budget
        self.sent = 0  # requests sent (first attempts), for the permission pass's request budget
        super().__init__(**kwargs)

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        self.sent += 1
        if self.budget is not None:
            self.budget.acquire()
        return super().send(request, *args, **kwargs)


def _auth_kwargs(settings: Settings) -> dict[str, str]:
    pat = settings.confluence_pat.get_secret_value()
    token = settings.confluence_api_token.get_secret_value()
    if pat:
        return {"api_token": pat}  # Bearer
    if settings.confluence_username and token:
        return {"user_name": settings.confluence_username, "password": token}  # Basic
    raise ConfluenceAuthError(
        "No Confluence credentials: set CONFLUENCE_USERNAME and CONFLUENCE_API_TOKEN (Cloud) "
        "or CONFLUENCE_PAT (Server/Data Center)."
    )


class ConfluenceClient:
    """Reads pages of a space, with the metadata the index needs, through ConfluenceReader's client."""

    def __init__(self, settings: Settings, budget: RequestBudget | None = None):
        if not settings.confluence_url:
            raise ConfluenceError(
                "CONFLUENCE_URL is not set (base URL with context path, e.g. https://example.atlassian.net/wiki)."
            )
        from llama_index.readers.confluence import ConfluenceReader

        self.settings = settings
        self.base_url = settings.confluence_url
        self.last_total: int | None = None  # totalSize of the last search, when the server says
        self.reader = ConfluenceReader(
            base_url=self.base_url,
            cloud=bool(settings.confluence_cloud),
            client_args={
                "timeout": settings.confluence_timeout_s,
                "verify_ssl": settings.confluence_verify_ssl,
                "backoff_and_retry": False,
                "retry_with_header": False,
            },
            **_auth_kwargs(settings),
        )
        self.api = self.reader.confluence
        # atlassian-python-api appends /wiki to *.atlassian.net URLs without it; our links must too.
        self.base_url = self.api.url.rstrip("/")
        retry = CappedRetry(
            total=settings.confluence_max_retries,
            status_forcelist=(429, 500, 502, 503, 504),
            allowed_methods=None,
            backoff_factor=0.5,
            backoff_max=settings.confluence_max_backoff_s,
            respect_retry_after_header=True,
            raise_on_status=False,
            max_retry_after=settings.confluence_max_backoff_s,
            budget=budget,
        )
        self.adapter = BudgetedAdapter(budget, max_retries=retry)
        self.api._session.mount("http://", self.adapter)
        self.api._session.mount("https://", self.adapter)

    # --- low level -------------------------------------------------------------------------
    def _get(self, path: str, params: dict | None = None) -> dict:
        try:
            return self.api.get(path, params=params, absolute=False) or {}
        except HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else None
            raise self._error(status, str(exc)) from exc
        except RequestException as exc:
            raise ConfluenceUnreachable(f"Confluence unreachable at {self.base_url}: {type(exc).__name__}") from exc
        except Exception as exc:  # atlassian ApiError / ApiPermissionError carry the server message
            status = getattr(getattr(exc, "response", None), "status_code", None)
            raise self._error(status, str(exc)) from exc

    def _error(self, status: int | None, message: str) -> ConfluenceError:
        error = self._classify(status, message)
        error.status = status
        return error

    def _classify(self, status: int | None, message: str) -> ConfluenceError:
        if status == 401 or "Unauthorized" in message:
            return ConfluenceAuthError(
                "Confluence rejected the credentials (401). Check CONFLUENCE_USERNAME + "
                "CONFLUENCE_API_TOKEN (Cloud) or CONFLUENCE_PAT (Server/DC), and CONFLUENCE_CLOUD."
            )
        if status == 403 or "not permitted" in message.lower():
            return ConfluenceAuthError(
                f"Confluence refused access (403): {message}. The account behind CONFLUENCE_USERNAME / "
                "CONFLUENCE_PAT needs read access to the space."
            )
        return ConfluenceError(f"Confluence error{f' {status}' if status else ''}: {message}")

    @staticmethod
    def auth_error(message: str) -> ConfluenceAuthError:
        """The error for rejected credentials, for the permission reader (access/confluence.py)."""
        return ConfluenceAuthError(message)

    # --- pages -----------------------------------------------------------------------------
    def get_space(self, space_key: str) -> dict:
        """The space: on Cloud from v2 (`/api/v2/spaces?keys=`), from v1 where v2 answers 404, 410 or 501
        (v1 `/rest/api/space` already answers "Gone" through some gateways); on Server/DC from v1."""
        try:
            found = self._v2_space(space_key) if self.settings.confluence_cloud else None
            return found if found is not None else self._get(f"rest/api/space/{quote(space_key)}")
        except (ConfluenceAuthError, ConfluenceUnreachable):
            raise
        except ConfluenceError as exc:
            raise ConfluenceError(f"Space {space_key!r} not found or not visible to this account.") from exc

    def _v2_space(self, space_key: str) -> dict | None:
        """The space from v2; None where this site has no v2 space API."""
        try:
            found = self._get("api/v2/spaces", params={"keys": space_key}).get("results") or []
        except ConfluenceError as exc:
            if exc.status in V2_FALLBACK:
                return None
            raise
        for space in found:
            if space.get("key") == space_key:
                return space
        raise ConfluenceError(f"no space {space_key!r}")

    def search(self, cql: str, expand: str | None = PAGE_EXPAND) -> Iterator[dict]:
        """Every result of a CQL search, following `_links.next` (cursor or start)."""
        params: dict[str, Any] = {"cql": cql, "limit": self.settings.confluence_page_batch}
        if expand:
            params["expand"] = expand
        for body in self._pages_of("rest/api/content/search", params):
            self.last_total = body.get("totalSize", self.last_total)
            yield from body.get("results", [])

    def _pages_of(self, path: str, params: dict[str, Any] | None) -> Iterator[dict]:
        """Every response of a paged listing, following `_links.next` (v1 cursor or start, v2 cursor)."""
        context = urlparse(self.base_url).path.rstrip("/")
        while True:
            body = self._get(path, params=params)
            yield body
            next_link = (body.get("_links") or {}).get("next")
            if not next_link or not body.get("results"):
                return
            # The next link already carries every parameter. v1 links are relative to the context
            # path, v2 links to the site (they start with the context path).
            path, params = next_link.removeprefix(context).lstrip("/"), None

    # --- scope ---------------------------------------------------------------------------------
    def scope_cql(self, space_key: str, kind: str = "page") -> str:
        """The CQL that selects what a space sync indexes (without ORDER BY)."""
        st = self.settings
        if kind == "attachment":
            types = "attachment"
        else:
            types = "page, blogpost" if st.confluence_include_blogposts else "page"
        clauses = [f'space = "{space_key}"', f"type in ({types})"]
        if st.confluence_root_page_id:
            root = st.confluence_root_page_id
            if kind == "attachment":
                clauses.append(f"(container = {root} OR ancestor = {root})")
            else:
                clauses.append(f"(id = {root} OR ancestor = {root})")
        if kind == "attachment":
            # Label and CQL filters select pages; attachments follow the pages kept (by container id).
            return " AND ".join(clauses)
        if st.confluence_exclude_labels:
            labels = ", ".join(f'"{label}"' for label in st.confluence_exclude_labels)
            clauses.append(f"label not in ({labels})")
        if st.confluence_cql_filter:
            clauses.append(f"({st.confluence_cql_filter})")
        return " AND ".join(clauses)

    def cql_date(self, moment: datetime) -> str:
        """A CQL date literal: minute precision, in the account's time zone (Confluence's rule)."""
        local = moment.astimezone(ZoneInfo(self.settings.confluence_timezone))
        return local.strftime("%Y-%m-%d %H:%M")

    # --- pages -------------------------------------------------------------------------------
    def iter_pages(self, cql: str, space_key: str) -> Iterator[Page]:
        for raw in self.search(cql):
            yield self.to_page(raw, space_key)

    def iter_space_pages(self, space_key: str) -> Iterator[Page]:
        return self.iter_pages(self.scope_cql(space_key), space_key)

    def iter_changed_pages(self, space_key: str, since: datetime) -> Iterator[Page]:
        return self.iter_pages(f'{self.scope_cql(space_key)} AND lastmodified >= "{self.cql_date(since)}"', space_key)

    def iter_pages_by_id(self, page_ids: list[str], space_key: str) -> Iterator[Page]:
        for start in range(0, len(page_ids), ID_BATCH):
            ids = ", ".join(page_ids[start : start + ID_BATCH])
            yield from self.iter_pages(f"{self.scope_cql(space_key)} AND id in ({ids})", space_key)

    def listing_items(self, space_key: str) -> list[dict]:
        """Every page in scope as the search returns it, without bodies, with direct read restrictions."""
        return list(self.search(self.scope_cql(space_key), expand=LISTING_EXPAND))

    def listing(
        self, space_key: str, items: list[dict] | None = None, comment_sigs: dict[str, str] | None = None
    ) -> dict[str, str]:
        """page id → listing signature for every page in scope, without bodies (cheap)."""
        out = {}
        for raw in self.listing_items(space_key) if items is None else items:
            page = self.to_page(raw, space_key)
            page.comments_sig = (comment_sigs or {}).get(page.page_id, "")
            out[page.page_id] = page.signature
        return out

    # --- comments ------------------------------------------------------------------------------
    def comment_signatures(self, space_key: str) -> dict[str, str]:
        """page id → signature of its comments (ids, versions), from one body-less CQL listing of the
        space's comments: the cheapest way to notice a new, edited or deleted comment, none of which
        changes the page's version (docs/design.md)."""
        versions: dict[str, dict[str, int]] = {}
        for raw in self.search(f'space = "{space_key}" AND type = comment', expand="container,version"):
            page_id = str((raw.get("container") or {}).get("id", ""))
            versions.setdefault(page_id, {})[str(raw["id"])] = int((raw.get("version") or {}).get("number") or 0)
        return {page_id: comments_signature(found) for page_id, found in versions.items()}

    def page_comments(self, page: Page) -> list[Comment]:
        """The comment threads of a page, resolved inline ones left out: REST v2 on Cloud (v1 comment
        methods are deprecated there and ignore `depth`), v1 `child/comment?depth=all` on Server/DC."""
        if self.settings.confluence_cloud:
            return self._comments_v2(page)
        return self._comments_v1(page.page_id)

    def _v2_results(self, path: str) -> Iterator[dict]:
        # Without body-format the listing has no bodies (CONFCLOUD-77788).
        for body in self._pages_of(path, {"body-format": "storage", "limit": V2_LIMIT}):
            yield from body.get("results", [])

    def _comments_v2(self, page: Page) -> list[Comment]:
        container = "blogposts" if page.kind == "blogpost" else "pages"
        return [
            self._v2_thread(raw, location)
            for location in ("inline", "footer")
            for raw in self._v2_results(f"api/v2/{container}/{page.page_id}/{location}-comments")
            if raw.get("resolutionStatus") != "resolved"
        ]

    def _v2_thread(self, raw: dict, location: str) -> Comment:
        """One comment and its replies (v2 lists roots only: one call per comment for its children)."""
        props = raw.get("properties") or {}
        children = self._v2_results(f"api/v2/{location}-comments/{raw['id']}/children")
        return Comment(
            id=str(raw["id"]),
            body_html=((raw.get("body") or {}).get("storage") or {}).get("value", ""),
            marker_ref=props.get("inlineMarkerRef") or "",
            selection=props.get("inlineOriginalSelection") or "",
            replies=[self._v2_thread(child, location) for child in children],
        )

    def _comments_v1(self, page_id: str) -> list[Comment]:
        params = {"expand": COMMENT_EXPAND, "depth": "all", "limit": self.settings.confluence_page_batch}
        raws = [
            r for body in self._pages_of(f"rest/api/content/{page_id}/child/comment", params) for r in body["results"]
        ]
        threads: dict[str, Comment] = {}
        parents: dict[str, str | None] = {}
        for raw in raws:
            extensions = raw.get("extensions") or {}
            inline = extensions.get("inlineProperties") or {}
            by = (raw.get("version") or {}).get("by") or {}
            comment_id = str(raw["id"])
            parents[comment_id] = next(
                (str(a["id"]) for a in reversed(raw.get("ancestors") or []) if a.get("type") == "comment"), None
            )
            if (extensions.get("resolution") or {}).get("status") != "resolved":
                threads[comment_id] = Comment(
                    id=comment_id,
                    body_html=((raw.get("body") or {}).get("view") or {}).get("value", ""),
                    author=by.get("displayName") or by.get("publicName") or "",
                    marker_ref=inline.get("markerRef") or "",
                    selection=inline.get("originalSelection") or "",
                )
        roots = []
        for comment_id, comment in threads.items():
            parent = parents[comment_id]
            if parent is None:
                roots.append(comment)
            elif parent in threads:
                threads[parent].replies.append(comment)
            # else: a reply in a resolved thread, hidden with it
        return roots

    # --- attachments -------------------------------------------------------------------------
    def attachment_listing(self, space_key: str, page_ids: set[str]) -> dict[str, str]:
        """attachment id → signature, for the attachments of the pages in scope (no download)."""
        out = {}
        for raw in self.search(self.scope_cql(space_key, "attachment"), expand=ATTACHMENT_EXPAND):
            if str((raw.get("container") or {}).get("id")) in page_ids:
                out[str(raw["id"])] = self._attachment_signature(raw)
        return out

    def iter_attachments(self, cql: str, space_key: str, page_ids: set[str] | None) -> Iterator[Page]:
        """Attachments of the pages `page_ids` (None: of any page, the caller chose the ids)."""
        for raw in self.search(cql, expand=ATTACHMENT_EXPAND):
            if page_ids is None or str((raw.get("container") or {}).get("id")) in page_ids:
                page = self.to_attachment(raw, space_key)
                if page is not None:
                    yield page

    def iter_changed_attachments(self, space_key: str, since: datetime, page_ids: set[str]) -> Iterator[Page]:
        cql = f'{self.scope_cql(space_key, "attachment")} AND lastmodified >= "{self.cql_date(since)}"'
        return self.iter_attachments(cql, space_key, page_ids)

    def changed_ids(self, space_key: str, since: datetime, page_ids: set[str] | None) -> set[str]:
        """Ids of the pages (and, with `page_ids`, their attachments) modified since, without bodies."""
        after = f'lastmodified >= "{self.cql_date(since)}"'
        out = {str(raw["id"]) for raw in self.search(f"{self.scope_cql(space_key)} AND {after}", expand=None)}
        if page_ids is not None:
            cql = f"{self.scope_cql(space_key, 'attachment')} AND {after}"
            out |= {
                str(raw["id"])
                for raw in self.search(cql, expand="container")
                if str((raw.get("container") or {}).get("id")) in page_ids
            }
        return out

    def iter_attachments_by_id(self, ids: list[str], space_key: str, page_ids: set[str] | None) -> Iterator[Page]:
        for start in range(0, len(ids), ID_BATCH):
            batch = ", ".join(ids[start : start + ID_BATCH])
            yield from self.iter_attachments(
                f"{self.scope_cql(space_key, 'attachment')} AND id in ({batch})", space_key, page_ids
            )

    def _attachment_signature(self, raw: dict) -> str:
        container = raw.get("container") or {}
        return listing_signature(
            int((raw.get("version") or {}).get("number") or 0), raw.get("title", ""), [], [container.get("title", "")]
        )

    def to_attachment(self, raw: dict, space_key: str) -> Page | None:
        """Download and extract one attachment; None when its type is not indexed. An attachment over
        the size cap, or that cannot be read (encrypted, corrupt, too slow), comes back `skipped`."""
        title = raw.get("title", "")
        size = int((raw.get("extensions") or {}).get("fileSize") or 0)
        media_type = (raw.get("metadata") or {}).get("mediaType") or (raw.get("extensions") or {}).get("mediaType", "")
        kind = attachment_kind(media_type, title)
        if kind is None:
            log.info("attachment %r skipped (type %r not indexed)", title, media_type)
            return None
        download = raw["_links"]["download"]
        container = raw.get("container") or {}
        version = raw.get("version") or {}
        page = Page(
            page_id=str(raw["id"]),
            space_key=space_key,
            title=title,
            url=self.base_url + download,
            html="",
            version=int(version.get("number") or 0),
            last_modified=version.get("when", ""),
            breadcrumb=[container.get("title", "")],
            kind="attachment",
            parent_id=str(container.get("id", "")),
        )
        st = self.settings
        if size > st.attachment_max_bytes:
            page.skipped = f"{size} bytes, over ATTACHMENT_MAX_BYTES ({st.attachment_max_bytes})"
            return page
        try:
            data = self.api.get(download.lstrip("/"), not_json_response=True)
            page.markdown = extract_text(kind, data or b"", st.attachment_max_seconds)[: st.attachment_max_chars]
        except UnreadableAttachment as exc:  # one bad file must not stop the sync
            page.skipped = str(exc)
        except Exception as exc:
            page.skipped = f"could not be downloaded ({type(exc).__name__})"
        if page.skipped:
            log.warning("attachment %r skipped: %s", title, page.skipped)
        return page

    def to_page(self, raw: dict, space_key: str) -> Page:
        version = raw.get("version") or {}
        labels = ((raw.get("metadata") or {}).get("labels") or {}).get("results") or []
        by = version.get("by") or {}
        return Page(
            page_id=str(raw["id"]),
            space_key=((raw.get("space") or {}).get("key")) or space_key,
            title=raw.get("title", ""),
            url=self.base_url + raw["_links"]["webui"],
            html=((raw.get("body") or {}).get("export_view") or {}).get("value", ""),
            version=int(version.get("number") or 0),
            last_modified=version.get("when", ""),
            author=by.get("displayName") or by.get("publicName") or "",
            labels=[lbl["name"] for lbl in labels if lbl.get("name")],
            breadcrumb=[a.get("title", "") for a in raw.get("ancestors") or []],
            kind=raw.get("type", "page"),
        )


class ConfluenceSource(PageSource):
    """One sync run's view of Confluence: pages in scope and, with CONFLUENCE_INCLUDE_ATTACHMENTS,
    the attachments of those pages (which take their page's place in the tree). With
    CONFLUENCE_INCLUDE_COMMENTS, every page carries its comment threads and their signature."""

    def __init__(self, client: ConfluenceClient):
        self.client = client
        self.with_attachments = client.settings.confluence_include_attachments
        self.with_comments = client.settings.confluence_include_comments
        # Pages in scope, from this run's listing or full fetch. None: this source did not list (a
        # distributed worker fetching the ids a planner chose), so attachments asked by id are kept.
        self._page_ids: set[str] | None = None
        self._items: dict[str, list[dict]] = {}  # this run's body-less listing per space (read once)
        self._comment_sigs: dict[str, dict[str, str]] = {}  # this run's comment listing per space (read once)

    def _listing_items(self, space_key: str) -> list[dict]:
        if space_key not in self._items:
            self._items[space_key] = self.client.listing_items(space_key)
        return self._items[space_key]

    def _comment_signatures(self, space_key: str) -> dict[str, str]:
        if not self.with_comments:
            return {}
        if space_key not in self._comment_sigs:
            self._comment_sigs[space_key] = self.client.comment_signatures(space_key)
        return self._comment_sigs[space_key]

    def _commented(self, pages: Iterator[Page], space_key: str) -> Iterator[Page]:
        """Pages with their comment threads in their body; only pages the listing shows comments
        for cost a request. The signature is the listing's, so the next listing agrees with the index."""
        signatures = self._comment_signatures(space_key)
        for page in pages:
            page.comments_sig = signatures.get(page.page_id, "")
            if page.comments_sig:
                try:
                    page.html = with_comments(page.html, self.client.page_comments(page))
                except ConfluenceError as exc:  # the page without its comments; its signature says so
                    log.warning("comments of page %s could not be read: %s", page.page_id, type(exc).__name__)
                    page.comments_sig = ""
            yield page

    def access(self, space_key: str) -> SpaceAccess:
        with PERMISSION_PASS_SECONDS.labels("read").time():
            return ConfluenceAccessReader(self.client).space_access(space_key, self._listing_items(space_key))

    def expected_total(self) -> int | None:
        return self.client.last_total

    def requests_made(self) -> int:
        return self.client.adapter.sent

    def check_space(self, space_key: str) -> None:
        self.client.get_space(space_key)

    def scope(self, space_key: str) -> str:
        return self.client.scope_cql(space_key)

    def listing(self, space_key: str) -> dict[str, str]:
        out = self.client.listing(space_key, self._listing_items(space_key), self._comment_signatures(space_key))
        self._page_ids = set(out)
        if self.with_attachments:
            out |= self.client.attachment_listing(space_key, self._page_ids)
        return out

    def all_pages(self, space_key: str) -> Iterator[Page]:
        page_ids: set[str] = set()
        self._page_ids = page_ids
        for page in self._commented(self.client.iter_space_pages(space_key), space_key):
            page_ids.add(page.page_id)
            yield page
        if self.with_attachments:
            cql = self.client.scope_cql(space_key, "attachment")
            yield from self.client.iter_attachments(cql, space_key, self._page_ids)

    def changed_since(self, space_key: str, since: datetime) -> Iterator[Page]:
        yield from self._commented(self.client.iter_changed_pages(space_key, since), space_key)
        if self.with_attachments:
            yield from self.client.iter_changed_attachments(space_key, since, self._page_ids or set())

    def changed_ids(self, space_key: str, since: datetime) -> set[str]:
        return self.client.changed_ids(space_key, since, (self._page_ids or set()) if self.with_attachments else None)

    def pages_by_id(self, space_key: str, ids: list[str]) -> Iterator[Page]:
        found: set[str] = set()
        for page in self._commented(self.client.iter_pages_by_id(ids, space_key), space_key):
            found.add(page.page_id)
            yield page
        rest = [i for i in ids if i not in found]
        if self.with_attachments and rest:
            yield from self.client.iter_attachments_by_id(rest, space_key, self._page_ids)

"""A Confluence REST fake that speaks the real protocol over HTTP (shared/research/confluence.md §4).

- Cloud style (context path `/wiki`, cursor next links on search) or Server/DC style (`""` or
  `/confluence`, offset next links), Basic (user:API token) or Bearer (PAT) auth.
- `GET P/rest/api/space/{key}`, `P/rest/api/content/search` (CQL subset, see cql.py),
  `P/download/attachments/{id}/{file}`: what the product calls (other routes go when nothing calls them).
- A small server-side page cap (`page_cap`) so paging is exercised; never more than `limit`.
- 401 (text/plain), 403 (JSON), 404 for missing or restricted content, 400 for bad CQL.
- Failure injection: `fail_next(status, times, retry_after=…)` answers the next requests with that
  status (429/503 with Retry-After, 500…), or `delay` them to provoke timeouts.
- `latency_s`: every request waits that long first (a remote Confluence, for benchmarks);
  `request_times` holds (monotonic time, path) of every request, to check a rate budget.
- Content can change between runs: add, edit, delete, move, relabel, restrict pages.
Run standalone: `python -m tests.fakes.confluence --port 8090 --space DEMO` (for manual tests).
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, quote_plus, urlencode, urlparse
from zoneinfo import ZoneInfo

from tests.fakes.cql import CqlError, compile_cql
from tests.fakes.http import serve, shutdown


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


@dataclass
class Failure:
    status: int
    times: int
    retry_after: str | None = None
    path_contains: str = ""
    delay_s: float = 0.0
    after: int = 0  # let this many matching requests through first


class FakeConfluence:
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
        self.failures: list[Failure] = []
        self.requests: list[str] = []
        self.request_times: list[tuple[float, str]] = []
        self.latency_s = 0.0
        self._lock = threading.Lock()
        self._next_id = 1000
        self._server: ThreadingHTTPServer | None = None

    # --- content ------------------------------------------------------------------------------
    def add_space(self, key: str, name: str | None = None) -> None:
        self.spaces[key] = name or f"Space {key}"

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
        self.pages.pop(page_id)

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
    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._server = serve(_Handler, self, host, port)
        return self.base_url

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.context}"

    def stop(self) -> None:
        shutdown(self._server)

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
        if "ancestors" in wants:
            data["ancestors"] = [
                {
                    "id": a.id,
                    "type": "page",
                    "title": a.title,
                    "_links": {"webui": self.webui(a)},
                }
                for a in self.ancestors(page)
            ]
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

    def view(self, content: FakePage | FakeAttachment) -> dict:
        return self.attachment_view(content) if isinstance(content, FakeAttachment) else self.cql_view(content)

    def any_content(self, content: FakePage | FakeAttachment, expand: str) -> dict:
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
        body: dict | bytes | str,
        content_type: str = "application/json",
        headers: dict | None = None,
    ) -> None:
        if isinstance(body, dict):
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
        if m := re.fullmatch(r"/rest/api/space/([^/]+)", path):
            key = m.group(1)
            if key in fake.forbidden_spaces:
                self._error(403, "Current user not permitted to use Confluence")
            elif key in fake.spaces:
                self._send(
                    200,
                    {
                        "id": abs(hash(key)) % 10**6,
                        "key": key,
                        "name": fake.spaces[key],
                        "type": "global",
                    },
                )
            else:
                self._error(404, f"No space with key : {key}")
        elif path == "/rest/api/content/search":
            self._search(q)
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

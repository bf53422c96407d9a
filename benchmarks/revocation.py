"""Revocation latency and Confluence request budget, with the shipped defaults (docs/permissions.md).

A space of PAGES pages in the Confluence fake (Cloud, 50 results per request, `--request-latency`
seconds per request, like a remote Confluence), ingested once. Then the permission watch runs as in
the worker (PERMISSION_SYNC_MINUTES, PERMISSION_BUDGET_PER_MINUTE and PERMISSION_AUDIT at their
defaults unless `--signal pass`, which turns the audit poll off to measure the fallback alone), and a
query API replica serves over HTTP (proxy sign-in). Revocations of three kinds (a read restriction
added, the user removed from the group a page is restricted to, a page deleted) are applied one at a
time at random moments; for each, the time until the API stops returning the page to that user.
Confluence requests are counted by the fake over the whole measurement (passes and audit polls).
From the measured requests per pass and seconds per request, the budget and latency of a 50,000-page
space are computed (same design, same defaults).
Run: `make bench-revocation` (part of `make bench`); `--pages 60 --revocations 4` for a quick check.
Writes docs/bench/revocation.{md,json}.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from benchmarks import harness
from benchmarks.datasets import REPO
from benchmarks.processes import free_port, wait_http
from confluence_rag.api.app import create_app
from confluence_rag.container import Components
from confluence_rag.settings import Settings
from confluence_rag.worker.access_watch import AccessWatch
from tests.fakes.confluence import FakeConfluence

SPACE = "REV"
USER = "victim"
PAGE_SIZE = 50  # CONFLUENCE_PAGE_BATCH: results per listing request
BIG_SPACE = 50_000
# A remote Confluence answering an expanded search: the common assumption of 5-10 sustained
# requests/s (docs/confluence.md#change-signals; Cloud token limits are unpublished), at the slow end.
ASSUMED_REAL_REQUEST_S = 0.2
GOAL_BIG_S = 15 * 60
KINDS = ("restriction", "membership", "delete")


def codeword(n: int) -> str:
    """A word only page n holds (letters only: the analyzer splits digits from letters)."""
    return "zq" + "".join(chr(ord("a") + int(d)) for d in str(n)) + "vx"


def build_space(fake: FakeConfluence, pages: int, groups: int) -> list[str]:
    """Pages readable by USER: every one open to the space's `staff`, the first `groups` restricted to
    a group of their own (USER a member), each with a unique word to find it by."""
    fake.add_group("staff", [USER, "colleague"])
    fake.add_group("managers", ["boss"])
    fake.add_space(SPACE, "Revocations")
    fake.set_space_permissions(SPACE, groups=["staff"], anonymous=False)
    ids = []
    for n in range(pages):
        page = fake.add_page(SPACE, f"Page {n:05d}", f"<p>Note {n}: the codeword is {codeword(n)}. Routine text.</p>")
        if n < groups:
            fake.add_group(f"team{n}", [USER])
            fake.set_read_restriction(page.id, groups=[f"team{n}"])
        ids.append(page.id)
    return ids


def serve(app) -> tuple[uvicorn.Server, str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    wait_http(f"http://127.0.0.1:{port}/api/health", 120)
    return server, f"http://127.0.0.1:{port}"


def served(api: httpx.Client, user: str, n: int) -> bool:
    body = {"query": codeword(n)}
    results = api.post("/api/search", json=body, headers={"X-Forwarded-User": user}).json()["results"]
    return any(r["title"] == f"Page {n:05d}" for r in results)


def revoke(fake: FakeConfluence, kind: str, n: int, page_id: str) -> None:
    if kind == "restriction":
        fake.set_read_restriction(page_id, groups=["managers"])
    elif kind == "membership":
        fake.remove_from_group(f"team{n}", USER)
    else:
        fake.delete_page(page_id)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)] if ordered else float("nan")


def run(args: argparse.Namespace) -> dict:
    rng = random.Random(args.seed)
    fake = FakeConfluence(cloud=True, page_cap=PAGE_SIZE)
    groups = args.revocations  # enough page-own groups for every membership revocation
    ids = build_space(fake, args.pages, groups)
    fake.start()
    workdir = Path(tempfile.mkdtemp(prefix="bench-revocation-"))
    overrides: dict = {"confluence_spaces": [SPACE], "auth_mode": "proxy"}
    if args.embedding_backend:
        overrides["embedding_backend"] = args.embedding_backend
    if args.signal == "pass":
        overrides["permission_audit"] = "off"
    settings = harness.make_settings(fake, workdir, "revocation", **overrides)
    components = Components(settings)
    harness.say(f"ingesting {args.pages} pages")
    harness.ingest_with(components, SPACE)
    fake.latency_s = args.request_latency
    # A replica that runs no jobs (WORKER_URL set): the watch below plays the worker.
    server, url = serve(create_app(settings.model_copy(update={"worker_url": "http://127.0.0.1:9"})))
    api = httpx.Client(base_url=url, timeout=60)
    user = fake.users[USER].account_id  # Cloud principals are account ids
    watch = AccessWatch(components, threading.Lock())
    watch.start()
    while watch.state.passes < 1:
        time.sleep(0.2)
    started, requests_before = time.monotonic(), len(fake.request_times)
    cycle_s = settings.permission_sync_minutes * 60
    latencies: dict[str, list[float]] = {kind: [] for kind in KINDS}
    candidates = list(range(groups, len(ids)))  # open pages for restriction / delete
    rng.shuffle(candidates)
    for i in range(args.revocations):
        kind = KINDS[i % len(KINDS)]
        n = i if kind == "membership" else candidates.pop()
        assert served(api, user, n), f"page {n} not found before its revocation"
        time.sleep(rng.uniform(0, cycle_s))  # a random moment in the pass cycle
        revoke(fake, kind, n, ids[n])
        at = time.monotonic()
        while served(api, user, n):
            time.sleep(0.1)
            if time.monotonic() - at > args.timeout:
                break
        latencies[kind].append(time.monotonic() - at)
        harness.say(f"{i + 1}/{args.revocations} {kind}: {latencies[kind][-1]:.1f}s")
    minutes = (time.monotonic() - started) / 60
    spent = len(fake.request_times) - requests_before
    watch.stop()
    server.should_exit = True
    fake.stop()

    search = components_search_cost(components, args.pages, user)
    records = list(watch.state.last.values())
    per_pass = watch.state.requests / max(1, watch.state.passes)
    seconds_per_request = statistics.mean(r.duration_s / r.requests for r in records if r.requests)
    all_latencies = [s for values in latencies.values() for s in values]
    return {
        "machine": harness.machine(),
        "pages": args.pages,
        "revocations": args.revocations,
        "signal": args.signal,
        "request_latency_s": args.request_latency,
        "settings": {
            "permission_sync_minutes": settings.permission_sync_minutes,
            "permission_budget_per_minute": settings.permission_budget_per_minute,
            "permission_audit": settings.permission_audit,
            "permission_audit_seconds": settings.permission_audit_seconds,
            "keyword_refresh_s": settings.keyword_refresh_s,
        },
        "latency_s": {
            "p50": pct(all_latencies, 0.5),
            "p95": pct(all_latencies, 0.95),
            "max": max(all_latencies),
            **{kind: [round(s, 2) for s in values] for kind, values in latencies.items()},
        },
        "requests_per_minute": spent / minutes,
        "requests_per_pass": per_pass,
        "passes": watch.state.passes,
        "audit_requests": watch.state.audit_requests,
        "seconds_per_request": seconds_per_request,
        "search_check": search,
        "big_space": big_space(args.pages, per_pass, settings),
    }


def components_search_cost(components: Components, pages: int, user: str) -> dict:
    """What the last check of each result (point 9) costs a search: the generation read plus one read
    of the chosen chunks, timed over searches as a reader of the space."""
    from confluence_rag.auth.identity import Identity
    from confluence_rag.retrieval.search import SearchService

    search = SearchService(components)
    who = Identity(user=user, groups=frozenset(), is_admin=False)
    fetch, total = [], []
    for n in range(min(pages, 40)):
        start = time.perf_counter()
        search.search(f"{codeword(n)} note", identity=who)
        total.append((time.perf_counter() - start) * 1000)
        fetch.append(search.last_timings.get("fetch_ms", 0.0))
    return {"check_ms_p50": statistics.median(fetch), "search_ms_p50": statistics.median(total)}


def big_space(pages: int, per_pass: float, settings: Settings) -> dict:
    """The same design on 50,000 pages: listing requests grow with pages, the rest is fixed."""
    fixed = max(0.0, per_pass - math.ceil(pages / PAGE_SIZE))
    requests = math.ceil(BIG_SPACE / PAGE_SIZE) + fixed
    pass_s = requests * ASSUMED_REAL_REQUEST_S
    cycle_s = max(settings.permission_sync_minutes * 60, requests * 60 / settings.permission_budget_per_minute, pass_s)
    # The least budget that keeps the p95 below the goal: 0.95 · requests / budget + pass ≤ goal.
    least_budget = 0.95 * requests * 60 / max(1.0, GOAL_BIG_S - pass_s)
    return {
        "least_budget_per_minute": least_budget,
        "requests_per_pass": requests,
        "assumed_seconds_per_request": ASSUMED_REAL_REQUEST_S,
        "pass_s": pass_s,
        "cycle_s": cycle_s,
        "requests_per_minute": requests * 60 / cycle_s,
        # A revocation lands at a uniform moment of a cycle and is seen by the next pass that lists
        # after it: it waits up to a cycle, then that pass's own duration.
        "latency_p95_s": 0.95 * cycle_s + pass_s,
    }


def report(result: dict) -> str:
    lat, big, st = result["latency_s"], result["big_space"], result["settings"]
    return "\n".join(
        [
            "# Revocation latency and Confluence request budget",
            "",
            f"Measured {result['machine']['date']} on {result['machine']['cores']} cores "
            f"({result['machine']['git_commit']}): `make bench-revocation`, {result['pages']} pages in the "
            f"Confluence fake at {result['request_latency_s']} s per request, {result['revocations']} revocations "
            f"(restriction added, user removed from a group, page deleted, in turn) at random moments, signal "
            f"`{result['signal']}` (audit: the audit-log poll and the scheduled pass; pass: the scheduled pass "
            f"alone). Settings: PERMISSION_SYNC_MINUTES={st['permission_sync_minutes']}, "
            f"PERMISSION_BUDGET_PER_MINUTE={st['permission_budget_per_minute']}, "
            f"PERMISSION_AUDIT={st['permission_audit']} (every {st['permission_audit_seconds']} s).",
            "",
            "| | value |",
            "|---|---|",
            f"| revocation → API stops returning the page, p50 | {lat['p50']:.1f} s |",
            f"| p95 (goal ≤ 60 s) | {lat['p95']:.1f} s |",
            f"| max | {lat['max']:.1f} s |",
            f"| Confluence requests per minute (passes + audit polls) | {result['requests_per_minute']:.0f} |",
            f"| requests per pass | {result['requests_per_pass']:.0f} |",
            f"| seconds per request during a pass | {result['seconds_per_request']:.3f} |",
            f"| search: last check of the results (point 9), p50 | {result['search_check']['check_ms_p50']:.1f} ms "
            f"of {result['search_check']['search_ms_p50']:.1f} ms |",
            "",
            f"## {BIG_SPACE:,} pages (computed from the measured requests per pass)",
            "",
            f"- Requests per pass: {big['requests_per_pass']:.0f} (one listing request per {PAGE_SIZE} pages, "
            "plus the measured fixed part: space grant, group members, server information).",
            f"- At an assumed {big['assumed_seconds_per_request']} s per request (a remote Confluence; not "
            f"measured): a pass takes {big['pass_s'] / 60:.1f} min; the budget of "
            f"{st['permission_budget_per_minute']:.0f} requests/min spaces passes {big['cycle_s'] / 60:.1f} min "
            f"apart ({big['requests_per_minute']:.0f} requests/min).",
            f"- Revocation latency without a signal, p95: {big['latency_p95_s'] / 60:.1f} min (goal ≤ 15 min). "
            "An audit-log record or a webhook starts the next pass at once, within the budget wait.",
            f"- The least PERMISSION_BUDGET_PER_MINUTE for the 15-minute goal: {big['least_budget_per_minute']:.0f} "
            "requests/min.",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--revocations", type=int, default=30)
    parser.add_argument("--signal", choices=("audit", "pass"), default="pass")
    parser.add_argument("--request-latency", type=float, default=0.05)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--embedding-backend", default=None, help="e.g. torch (MiniLM) for a quick run")
    parser.add_argument("--out", default=str(REPO / "docs" / "bench"))
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    harness.quiet_logging()
    result = run(args)
    text = report(result)
    print(text)
    if not args.no_write:
        harness.write_report(Path(args.out), "revocation", result, text)


if __name__ == "__main__":
    main()

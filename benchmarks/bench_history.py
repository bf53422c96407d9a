"""Added latency of writing history on the chat path: the chat's events with and without recording.

What the chat path adds with history on is exactly `HistoryService.recorded`: it collects the events
and, before `done`, stores the answer in one transaction (a thread hop, then INSERT conversation /
UPDATE its time + INSERT message). So the measure replays one realistic answer's events (6 sources
of ~1,500 characters, 60 tokens) through the bare stream and through `recorded`, interleaved, on
SQLite (the embedded default) and on PostgreSQL (a private local server, `make postgres-install`),
half the answers continuing a conversation. Nothing else of the chat (retrieval, LLM) differs, so
the p50 difference is the added latency. Goal (issue 19): p50 +5 ms or less.
Run: `make bench-history` (part of `make bench`). Writes docs/bench/history.{md,json}.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks import harness
from benchmarks.processes import LocalPostgres
from confluence_rag.auth.identity import Identity
from confluence_rag.history.database import Database
from confluence_rag.history.service import HistoryService
from confluence_rag.settings import Settings

REPO = Path(__file__).resolve().parents[1]
USER = Identity("bench-user", frozenset(), False)
SOURCE_TEXT = "Les congés payés se posent dans l'outil RH au moins deux semaines à l'avance. " * 20


def events() -> list[tuple[str, dict]]:
    sources = [
        {"n": i, "chunk_id": f"p{i}#0", "page_id": f"p{i}", "title": f"Page {i}", "url": f"https://wiki/p{i}",
         "space_key": "RH", "breadcrumb": ["RH"], "heading": "", "labels": [], "last_modified": "2026-01-05",
         "score": 0.5, "snippet": SOURCE_TEXT[:300], "text": SOURCE_TEXT[:1500]}
        for i in range(1, 7)
    ]  # fmt: skip
    done = {"mode": "llm", "answer_found": True, "timings": {"retrieve_ms": 40.0, "total_ms": 900.0}}
    tokens = [("token", {"text": "mot "}) for _ in range(60)]
    return [("sources", {"sources": sources, "mode": "llm", "query": "q"}), *tokens, ("done", done)]


async def _replay(replayed: list[tuple[str, dict]]):
    for event in replayed:
        yield event


async def _consume(stream) -> None:
    async for _ in stream:
        pass


def measure(history: HistoryService, answers: int) -> dict:
    replayed = events()
    bare, recorded = [], []
    conversation = None

    async def run() -> None:
        nonlocal conversation
        for i in range(answers):
            start = time.perf_counter()
            await _consume(_replay(replayed))
            bare.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            last = None
            async for event, data in history.recorded(_replay(replayed), USER, conversation, f"Question {i} ?"):
                last = data if event == "done" else last
            recorded.append((time.perf_counter() - start) * 1000)
            assert last and last["message_id"], "the answer was not recorded"
            conversation = last["conversation_id"] if i % 2 == 0 else None  # half continue a conversation

    asyncio.run(run())
    p50 = statistics.median(recorded) - statistics.median(bare)
    q = statistics.quantiles(recorded, n=20)
    return {"answers": answers, "bare_p50_ms": round(statistics.median(bare), 3),
            "recorded_p50_ms": round(statistics.median(recorded), 3), "recorded_p95_ms": round(q[18], 3),
            "added_p50_ms": round(p50, 3)}  # fmt: skip


def markdown(result: dict) -> str:
    lines = [
        "# Added latency of writing history on the chat path",
        "",
        "`make bench-history` (benchmarks/bench_history.py): one answer's events (6 sources of ~1,500",
        "characters, 60 tokens) replayed through the chat path with and without `HistoryService.recorded`,",
        "interleaved; half the answers continue a conversation. Goal: added p50 ≤ 5 ms.",
        "",
        f"Machine: {result['machine'].get('cpu', '?')}, {result['machine'].get('cores', '?')} cores "
        "(shared with other engineers' test runs).",
        "",
        "| database | answers | without history p50 | with history p50 | with history p95 | added p50 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in result["databases"].items():
        lines.append(
            f"| {name} | {r['answers']} | {r['bare_p50_ms']:.2f} ms | {r['recorded_p50_ms']:.2f} ms "
            f"| {r['recorded_p95_ms']:.2f} ms | **{r['added_p50_ms']:.2f} ms** |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers", type=int, default=500)
    parser.add_argument("--out", default=str(REPO / "docs" / "bench"))
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    harness.quiet_logging()
    workdir = Path(tempfile.mkdtemp(prefix="confluence-rag-bench-history-"))
    postgres = LocalPostgres()
    postgres.start()
    databases = {}
    try:
        for name, url in (
            ("SQLite", f"sqlite:///{workdir / 'history.db'}"),
            ("PostgreSQL", postgres.create_database()),
        ):
            settings = Settings(_env_file=None, state_dir=workdir, database_url=url, auth_mode="proxy")
            history = HistoryService(settings, Database(settings))
            history.database.ensure_schema()
            databases[name] = measure(history, args.answers)
            history.database.engine.dispose()
            harness.say(f"[{name}] {databases[name]}")
    finally:
        postgres.stop()
        postgres.remove()
        shutil.rmtree(workdir, ignore_errors=True)
    result = {"machine": harness.machine(), "databases": databases}
    text = markdown(result)
    print(text)
    if not args.no_write:
        harness.write_report(Path(args.out), "history", result, text)


if __name__ == "__main__":
    main()

"""The query benchmark's own logic: percentiles, the summary, the corpus, and the closed-loop load
generator against a stand-in HTTP server (no timing asserted: the benchmark itself is `make bench-query`)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from benchmarks.bench_query import closed_loop, corpus, cpu_percent, latency_summary, parse_ints, percentile, spread


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile(list(reversed(values)), 95) == 95.0  # order does not matter
    assert percentile([7.0], 99) == 7.0
    assert percentile([1.0, 2.0, 3.0], 50) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0  # a latency that happened, not an average
    assert percentile([], 50) is None


def test_latency_summary():
    summary = latency_summary([10.0, 20.0, 30.0, 40.0], errors=1, window_s=2.0)
    assert summary["requests"] == 4 and summary["errors"] == 1
    assert summary["rps"] == 2.0  # answered requests per second of the measured window
    assert (summary["p50_ms"], summary["p95_ms"], summary["p99_ms"]) == (20.0, 40.0, 40.0)
    assert summary["mean_ms"] == 25.0 and summary["max_ms"] == 40.0
    empty = latency_summary([], errors=3, window_s=0.0)
    assert empty["rps"] == 0.0 and empty["p50_ms"] is None and empty["errors"] == 3


def test_cpu_percent_is_of_one_core():
    assert cpu_percent(1.0, 4.0, 2.0) == 150.0
    assert cpu_percent(1.0, 1.0, 0.0) == 0.0


def test_spread_and_parse_ints():
    assert spread(list(range(10)), 5) == [0, 2, 4, 6, 8]
    assert spread([1, 2], 5) == [1, 2]
    assert parse_ints("1,8,32") == (1, 8, 32)
    for bad in ("", "0,1", "-1"):
        with pytest.raises(Exception):  # noqa: B017  (argparse's or int's error)
            parse_ints(bad)


def test_corpus_questions_are_real_interleaved_and_answerable_in_the_index():
    evalset, queries = corpus(60)
    assert len(evalset.pages) == 60
    sources = {p.source for p in evalset.pages}
    assert sources == {"piaf_dev", "xquad_en", "docs_piwigo_fr_en"}
    assert len(queries) == len(set(queries)) > 60  # many distinct questions, not one repeated string
    from benchmarks.datasets import load_questions

    by_text = {q.question: q for q in load_questions("piaf_dev") + load_questions("xquad_en")}
    ids = {p.page_id for p in evalset.pages}
    assert all(set(by_text[q].gold) <= ids for q in queries)
    assert [by_text[q].lang for q in queries[:4]] == ["fr", "en", "fr", "en"]


class _Counting(BaseHTTPRequestHandler):
    """POST /api/search: sleeps a little, counts requests and the most in flight at once."""

    lock = threading.Lock()
    in_flight = 0
    most = 0
    total = 0
    queries: list[str] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        cls = type(self)
        with cls.lock:
            cls.in_flight += 1
            cls.most = max(cls.most, cls.in_flight)
            cls.total += 1
            cls.queries.append(body["query"])
        time.sleep(0.02)
        with cls.lock:
            cls.in_flight -= 1
        status = 503 if body["query"] == "fail" else 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "15")
        self.end_headers()
        self.wfile.write(b'{"results": []}')


def test_closed_loop_holds_exactly_c_clients_and_leaves_out_the_warm_up():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        queries = ["a", "b", "c", "fail"]
        result = asyncio.run(closed_loop(url, queries, clients=4, warmup_s=0.2, seconds=0.4))
    finally:
        server.shutdown()
        server.server_close()
    assert _Counting.most == 4  # never more than C requests in flight, and C reached
    recorded = len(result.latencies_ms) + sum(result.errors.values())
    assert 0 < recorded < _Counting.total  # the warm-up requests were sent, not recorded
    assert result.errors and set(result.errors) == {"HTTP 503"}  # a non-200 is an error, not a latency
    assert set(_Counting.queries) == set(queries)  # every question in turn
    assert all(ms > 0 for ms in result.latencies_ms) and result.window_s > 0

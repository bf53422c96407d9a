"""The Confluence request budget shared through Redis: real redis-server, real HTTP to the fake.

Each "worker" is its own Redis client and its own ConfluenceClient, as in separate processes.
"""

from __future__ import annotations

import threading
import time

import pytest

from confluence_rag.components.rate_limit import RedisRequestBudget, connect_redis
from confluence_rag.sources.confluence import ConfluenceClient
from tests.conftest import confluence_settings

pytestmark = pytest.mark.timeout(120)


def _budget(redis_server, fake, rate: float) -> RedisRequestBudget:
    return RedisRequestBudget(connect_redis(redis_server.url), fake.base_url, rate, "test")


def _client(redis_server, fake, make_settings, rate: float) -> ConfluenceClient:
    settings = make_settings(**confluence_settings(fake), confluence_max_retries=3, confluence_max_backoff_s=5.0)
    return ConfluenceClient(settings, _budget(redis_server, fake, rate))


def test_the_budget_holds_across_workers(redis_server, fake_confluence, make_settings):
    rate, workers, calls = 8.0, 3, 8
    clients = [_client(redis_server, fake_confluence, make_settings, rate) for _ in range(workers)]

    def work(client: ConfluenceClient) -> None:
        for _ in range(calls):
            client.get_space("ENG")

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    times = sorted(t for t, path in fake_confluence.request_times if "/spaces?keys=" in path)
    assert len(times) == workers * calls
    # A token bucket of `rate`/s with a burst of `rate`: any window of w seconds holds at most rate*(w+1) requests.
    for i, start in enumerate(times):
        in_window = sum(1 for t in times[i:] if t - start <= 1.0)
        assert in_window <= 2 * rate + 1, f"{in_window} requests within 1 s at a budget of {rate}/s"
    assert times[-1] - times[0] >= (workers * calls - rate) / rate - 0.3


def test_a_429_slows_every_worker_down(redis_server, fake_confluence, make_settings):
    first = _client(redis_server, fake_confluence, make_settings, 0)  # no rate: only the shared back-off
    second = _client(redis_server, fake_confluence, make_settings, 0)
    fake_confluence.fail_next(429, retry_after="2")
    thread = threading.Thread(target=lambda: first.get_space("ENG"))
    thread.start()
    while not fake_confluence.request_times:
        time.sleep(0.01)
    time.sleep(0.3)  # the first worker got its 429; the second one asks now
    got_429 = fake_confluence.request_times[0][0]
    second.get_space("ENG")
    thread.join(30)
    times = [t for t, _ in fake_confluence.request_times]
    assert len(times) == 3  # the 429, the first worker's retry, the second worker's request
    # Neither worker sent anything to Confluence before the Retry-After had passed.
    assert min(times[1:]) - got_429 >= 1.9, [round(t - got_429, 2) for t in times]


def test_without_a_budget_a_429_slows_only_its_worker(fake_confluence, make_settings):
    """The control: the same scenario without Redis, the second worker is not held back."""
    settings = make_settings(**confluence_settings(fake_confluence), confluence_max_backoff_s=5.0)
    first, second = ConfluenceClient(settings), ConfluenceClient(settings)
    fake_confluence.fail_next(429, retry_after="2")
    thread = threading.Thread(target=lambda: first.get_space("ENG"))
    thread.start()
    while not fake_confluence.request_times:
        time.sleep(0.01)
    time.sleep(0.3)
    got_429 = fake_confluence.request_times[0][0]
    second.get_space("ENG")
    thread.join(30)
    times = sorted(t for t, _ in fake_confluence.request_times)
    assert len(times) == 3 and times[1] - got_429 < 1.5

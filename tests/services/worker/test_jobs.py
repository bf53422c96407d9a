"""JobManager: jobs hold their stats, the history is bounded in memory as on disk, and what a user
typed (a space key) never reaches a log line raw."""

from __future__ import annotations

import json
import logging
import time

from confluence_rag.container import Components
from confluence_rag.ingestion.indexer import SyncStats
from confluence_rag.worker.jobs import HISTORY, Job, JobManager
from tests.conftest import confluence_settings


def _record(i: int) -> dict:
    return {
        "id": f"{i:012x}", "space_key": "ENG", "full": False, "status": "succeeded", "error": None,
        "created_at": f"2026-11-01T00:{i // 60:02d}:{i % 60:02d}Z", "started_at": None, "finished_at": None,
        "duration_s": 1.0, "pages_added": i, "chunks_written": 2 * i,  # an older, flat record
    }  # fmt: skip


def test_the_job_list_is_bounded_like_its_history_file(make_settings, tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / "jobs.json").write_text(json.dumps([_record(i) for i in range(HISTORY + 50)]), encoding="utf-8")
    manager = JobManager(Components(make_settings(state_dir=state)), state)
    jobs = manager.list()
    assert len(jobs) == HISTORY and jobs[0].stats.pages_added == HISTORY + 49  # the newest kept
    assert isinstance(jobs[0].stats, SyncStats) and jobs[0].public()["chunks_written"] == 2 * (HISTORY + 49)


def test_a_job_holds_its_stats_and_shows_them_flat():
    job = Job(space_key="ENG")
    job.update(SyncStats(mode="full", pages_added=3, failures=["p1"]))
    public = job.public()
    assert public["pages_added"] == 3 and public["space_key"] == "ENG" and "stats" not in public
    assert Job.from_record(json.loads(json.dumps({**vars(job), "stats": vars(job.stats)}))).stats == job.stats


def test_a_forged_space_key_does_not_forge_log_lines(make_settings, fake_confluence, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    settings = make_settings(**confluence_settings(fake_confluence), confluence_max_retries=0)
    manager = JobManager(Components(settings), tmp_path / "state")
    forged = "NOPE\n2026-12-01 00:00:00 CRITICAL confluence_rag: forged"
    job = manager.start(forged)
    for _ in range(600):
        if job.status in ("succeeded", "failed"):
            break
        time.sleep(0.1)
    manager.shutdown()
    assert job.status == "failed" and "not found" in (job.error or "")
    messages = [r.getMessage() for r in caplog.records]
    assert any("NOPE" in m for m in messages)
    assert not any("\n" in m for m in messages), [m for m in messages if "\n" in m]

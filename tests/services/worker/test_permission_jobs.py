"""The permission pass as a job of kind `permissions` (on demand; the scheduled pass is
worker/access_watch.py): no re-embedding."""

from __future__ import annotations

import time

from confluence_rag.container import Components
from confluence_rag.worker.app import schedule_all
from confluence_rag.worker.jobs import JobManager
from tests.conftest import confluence_settings


def wait_idle(jobs: JobManager, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while any(j.status in ("queued", "running") for j in jobs.list()):
        assert time.monotonic() < deadline, "jobs still running"
        time.sleep(0.1)


def test_scheduled_permission_pass_updates_access_and_embeds_nothing(fake_confluence, make_settings):
    components = Components(make_settings(**confluence_settings(fake_confluence), confluence_spaces="ENG"))
    jobs = JobManager(components, components.settings.state_dir)
    try:
        first = jobs.start("ENG")
        wait_idle(jobs)
        assert jobs.get(first.id).status == "succeeded" and jobs.get(first.id).stats.chunks_written > 0

        assert fake_confluence.add_group("auditors").id == "gid-0001-auditors"  # Cloud: group ids
        fake_confluence.set_space_permissions("ENG", groups=["auditors"])  # anonymous view removed
        [job] = schedule_all(jobs, components.settings.confluence_spaces, kind="permissions")
        wait_idle(jobs)
        done = jobs.get(job.id)
        assert done.status == "succeeded" and done.kind == "permissions" and done.stats.mode == "permissions"
        assert done.stats.chunks_written == 0 and done.stats.pages_added == done.stats.pages_updated == 0
        assert done.stats.pages_seen == 5 and done.stats.access_problems == []
        assert done.public()["kind"] == "permissions" and done.public()["access_pages_updated"] == 0
    finally:
        jobs.shutdown()
    grants = components.store().records("space_grant")
    assert '"anonymous": false' in grants["access:space:ENG"] and "g:gid-0001-auditors" in grants["access:space:ENG"]

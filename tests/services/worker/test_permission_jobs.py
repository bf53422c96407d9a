"""The worker's permission pass as a job (what PERMISSION_SYNC_MINUTES schedules): no re-embedding."""

from __future__ import annotations

from confluence_rag.container import Components
from confluence_rag.worker.app import schedule_all
from confluence_rag.worker.jobs import JobManager
from tests.conftest import confluence_settings


def test_scheduled_permission_pass_updates_access_and_embeds_nothing(fake_confluence, make_settings):
    components = Components(make_settings(**confluence_settings(fake_confluence), confluence_spaces="ENG"))
    jobs = JobManager(components, components.settings.state_dir)
    try:
        first = jobs.start("ENG")
        jobs.wait_idle(300)
        assert jobs.get(first.id).status == "succeeded" and jobs.get(first.id).chunks_written > 0

        assert fake_confluence.add_group("auditors").id == "gid-0001-auditors"  # Cloud: group ids
        fake_confluence.set_space_permissions("ENG", groups=["auditors"])  # anonymous view removed
        [job] = schedule_all(jobs, components.settings.confluence_spaces, kind="permissions")
        jobs.wait_idle(300)
        done = jobs.get(job.id)
        assert done.status == "succeeded" and done.kind == "permissions" and done.mode == "permissions"
        assert done.chunks_written == 0 and done.pages_added == done.pages_updated == 0
        assert done.pages_seen == 5 and done.access_problems == []
    finally:
        jobs.shutdown()
    grants = components.store().records("space_grant")
    assert '"anonymous": false' in grants["access:space:ENG"] and "g:gid-0001-auditors" in grants["access:space:ENG"]

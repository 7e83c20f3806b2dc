"""The job record: states from Huey's signals, backoff, failure notices, re-runs, the Jobs page."""

from __future__ import annotations

import pytest

from startvora.core import notify, tasks
from startvora.core.tenancy import current_org_id, org_context
from startvora.extensions import db as _db

calls: list[tuple[int, int | None]] = []


@tasks.task(label="Flaky test job", retries=2, retry_delay=10)
def flaky(org_id: int, fail: bool) -> None:
    calls.append((org_id, current_org_id()))
    if fail:
        raise RuntimeError("the far end said no")


@pytest.fixture
def queued(make_app, people):
    """The real SqliteHuey in a temporary data folder, run by hand as the consumer would."""
    app = make_app(queue__immediate=False)
    calls.clear()
    with app.app_context():
        _db.create_all()
    return app


def run_next() -> None:
    tasks.huey.execute(tasks.huey.dequeue())


def run_due(task) -> None:
    """Run a scheduled retry now, as the consumer does once its time has come."""
    tasks.huey.storage.flush_schedule()
    task.eta = None
    tasks.huey.execute(task)


def test_an_org_task_runs_scoped_and_its_life_is_recorded(queued, people):
    result = flaky(people.org_a.id, False)
    job = tasks.tracker.get(result.id)
    assert (job.state, job.org_id, job.attempts) == ("queued", people.org_a.id, 0)
    run_next()
    job = tasks.tracker.get(result.id)
    assert (job.state, job.attempts, job.error) == ("done", 1, "")
    assert calls == [(people.org_a.id, people.org_a.id)]  # the task ran inside org_context


def test_failures_retry_with_growing_delays_then_fail_for_good(queued, people):
    result = flaky(people.org_a.id, True)
    run_next()
    job = tasks.tracker.get(result.id)
    assert job.state == "retrying" and "the far end said no" in job.error
    [scheduled] = tasks.huey.scheduled()
    first = (scheduled.eta - tasks.huey._get_timestamp()).total_seconds()
    assert 8 < first <= 10
    assert scheduled.retry_delay == 20  # exponential: the next wait is twice as long
    run_due(scheduled)
    [scheduled] = tasks.huey.scheduled()
    assert scheduled.retry_delay == 40
    run_due(scheduled)  # the last retry
    job = tasks.tracker.get(result.id)
    assert (job.state, job.attempts) == ("failed", 3)
    assert tasks.huey.scheduled() == []


def test_a_job_that_fails_for_good_notifies_the_admins(make_app, people):
    app = make_app()  # immediate mode: the failure's notification is dispatched at once
    with app.app_context():
        _db.create_all()
        from tests import factories

        org = factories.make_org(name="Acme", slug="acme")
        owner = factories.make_member(org, "owner", name="Olivia")
        member = factories.make_member(org, "member", name="Mo")
        _db.session.commit()
        task = flaky.s(org.id, True)
        task.retries = 0
        tasks.huey.enqueue(task)
        job = tasks.tracker.get(task.id)
        assert job.state == "failed"
        with org_context(org.id):
            inbox = notify.inbox(org.id, owner.id)
            assert [n.title for n in inbox] == ["A background job failed: Flaky test job"]
            assert inbox[0].body.startswith("RuntimeError: the far end said no")
            assert notify.inbox(org.id, member.id) == []  # not an admin


def test_jobs_running_when_the_consumer_died_are_queued_again(queued, people):
    result = flaky(people.org_a.id, False)
    task = tasks.huey.dequeue()
    tasks.tracker.executing("executing", task)  # ...and then the process is killed
    assert tasks.huey.pending_count() == 0
    assert tasks.tracker.requeue_interrupted() == 1
    assert tasks.tracker.get(result.id).state == "queued"
    run_next()
    assert tasks.tracker.get(result.id).state == "done"
    assert tasks.tracker.requeue_interrupted() == 0


def test_jobs_page_lists_failures_and_retries_them(queued, people, client, login, csrf_token):
    failed = flaky.s(people.org_a.id, True)
    failed.retries = 0
    tasks.huey.enqueue(failed)
    run_next()
    other = flaky.s(people.org_b.id, True)
    other.retries = 0
    tasks.huey.enqueue(other)
    run_next()
    login(people.alice)
    page = client.get("/o/acme/settings/jobs").get_data(as_text=True)
    assert "Flaky test job" in page and "the far end said no" in page
    assert "Worker heartbeat" in page and "Every minute" in page  # the periodic schedule
    assert page.count('name="job"') == 1  # only this organization's failure
    token = csrf_token()
    response = client.post(
        "/o/acme/settings/jobs/retry", data={"csrf_token": token, "job": other.id}
    )
    assert response.status_code == 404  # another organization's job
    response = client.post(
        "/o/acme/settings/jobs/retry", data={"csrf_token": token, "job": failed.id}
    )
    assert response.status_code == 303
    assert tasks.tracker.get(failed.id).state == "queued"
    assert failed.id in [t.id for t in tasks.huey.pending()]


@pytest.mark.parametrize(
    ("who", "status"), [("alice", 200), ("carol", 403), ("bob", 403), ("charlie", 404)]
)
def test_jobs_page_is_for_admins_of_this_organization(client, login, people, who, status):
    login(getattr(people, who))
    assert client.get("/o/acme/settings/jobs").status_code == status


def test_jobs_page_needs_sign_in_and_retry_is_post_only(client, people, login):
    assert client.get("/o/acme/settings/jobs").status_code == 302
    login(people.alice)
    assert client.get("/o/acme/settings/jobs/retry").status_code == 405


def test_schedule_words():
    from startvora.orgs.jobs_views import describe_schedule

    assert describe_schedule({"minute": "*/10"}) == "Every 10 minutes"
    assert describe_schedule({"minute": "17", "hour": "3"}) == "Every day at 03:17 UTC"
    assert describe_schedule({"minute": "0", "day_of_week": "1"}).startswith("Cron schedule")

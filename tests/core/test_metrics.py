"""/metrics: the Prometheus text parses; requests by endpoint; who may scrape; queue and files."""

from __future__ import annotations

import shutil
import time

import pytest

from startvora.config import ConfigError
from startvora.core import tasks
from startvora.extensions import db as _db
from startvora.version import __version__

TOKEN = "a-scraper-token-long-enough"


@tasks.task(label="Metrics probe", retries=0)
def metrics_probe(fail: bool) -> None:
    """Fail when asked: a job for the failed-jobs figure."""
    if fail:
        raise RuntimeError("the probe failed as asked")


def scrape(client, **kwargs) -> dict[tuple[str, tuple], float]:
    """Every sample of one scrape, keyed by (name, sorted labels)."""
    from prometheus_client.parser import text_string_to_metric_families

    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.status_code
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def ready(app):
    """An app on its own data folder that has finished its first-run setup."""
    with app.app_context():
        _db.create_all()
    app.extensions["startvora.setup_done"] = True
    return app.test_client()


def test_the_scrape_parses_and_reports_the_instance(client):
    # No account exists yet: /metrics is not sent to the first-run page, nor to a sign-in.
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=0.0.4")
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    samples = scrape(client)
    assert value(samples, "startvora_build_info", version=__version__) == 1
    names = {name for name, _labels in samples}
    assert {
        "startvora_queue_pending_jobs",
        "startvora_queue_scheduled_jobs",
        "startvora_jobs",
        "startvora_database_file_size_bytes",
        "startvora_disk_free_bytes",
        "startvora_disk_size_bytes",
        "startvora_replication_enabled",
    } <= names
    assert value(samples, "startvora_replication_enabled") == 0
    assert not any(name == "startvora_replication_lag_seconds" for name in names)


def test_openmetrics_and_gzip_on_request(client):
    import gzip

    response = client.get(
        "/metrics",
        headers={
            "Accept": "application/openmetrics-text; version=1.0.0",
            "Accept-Encoding": "gzip",
        },
    )
    assert response.content_type.startswith("application/openmetrics-text")
    assert response.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.data).decode().rstrip().endswith("# EOF")


def test_requests_are_counted_by_endpoint_never_by_url(app, client, people):
    before = scrape(client)
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    assert client.get("/no/such/page/424242").status_code == 404
    contact = "/o/acme/crm/contacts/987654"
    assert client.get(contact).status_code == 302  # to the sign-in page
    assert client.open("/healthz", method="BREW").status_code == 405
    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return (value(after, name, **labels) or 0) - (value(before, name, **labels) or 0)

    requests = "startvora_http_requests_total"
    assert grew(requests, endpoint="health.healthz", method="GET", status="2xx") == 3
    assert grew("startvora_http_request_duration_seconds_count", endpoint="health.healthz") == 3
    assert grew(requests, endpoint="unmatched", method="GET", status="4xx") == 1
    assert grew(requests, endpoint="unmatched", method="other", status="4xx") == 1
    endpoint, _args = app.url_map.bind("localhost").match(contact)
    assert grew(requests, endpoint=endpoint, method="GET", status="3xx") == 1
    # Labels name endpoints: no id, path or made-up method ever becomes a label of its own.
    labels = {v for _name, pairs in after for _key, v in pairs}
    assert not any("424242" in v or "987654" in v or "BREW" in v for v in labels)
    # The scrapes themselves are not counted.
    assert not any("metrics" in v for v in labels)


def test_a_token_is_required_when_set(make_app):
    client = ready(make_app(metrics__token=TOKEN, metrics__networks=""))
    unknown = client.get("/no-such-page")
    assert unknown.status_code == 404
    for headers in (
        {},
        {"Authorization": "Bearer wrong-token-of-some-length"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
    ):
        refused = client.get("/metrics", headers=headers)
        # Refused exactly as an address that does not exist is: nothing tells it is there.
        assert (refused.status_code, refused.data) == (404, unknown.data), headers
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert client.get("/metrics", headers={"Authorization": f"bearer  {TOKEN}"}).status_code == 200
    # Only reading: other methods are unknown here too (and no CSRF check answers first).
    posted = client.post("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert posted.status_code == 404


def test_listed_networks_may_scrape_without_a_token(client, people, make_app):
    unknown = client.get("/no-such-page", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    refused = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert (refused.status_code, refused.data) == (404, unknown.data)
    for local in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):  # the last: IPv4 on a server on ::
        assert client.get("/metrics", environ_base={"REMOTE_ADDR": local}).status_code == 200

    lan = ready(make_app(metrics__networks="10.0.0.0/8, 192.168.1.7"))
    for address, status in (
        ("10.1.2.3", 200),
        ("192.168.1.7", 200),
        ("192.168.1.8", 404),
        ("127.0.0.1", 404),
        ("2001:db8::1", 404),
    ):
        assert lan.get("/metrics", environ_base={"REMOTE_ADDR": address}).status_code == status

    # With a token set, the networks still need none; others need it.
    both = ready(make_app(metrics__token=TOKEN))
    assert both.get("/metrics").status_code == 200
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    assert both.get("/metrics", environ_base=outside).status_code == 404
    authorization = {"Authorization": f"Bearer {TOKEN}"}
    assert both.get("/metrics", environ_base=outside, headers=authorization).status_code == 200


def test_the_address_is_the_one_left_after_trusted_proxies(make_app):
    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    behind_proxy = ready(make_app(security__trusted_proxies=1))
    # The proxy is local, but the client it forwards is not.
    assert behind_proxy.get("/metrics", headers=forwarded).status_code == 404
    assert behind_proxy.get("/metrics").status_code == 200

    direct = ready(make_app())
    # Without a trusted proxy the header is the client's own words: neither helps nor harms.
    assert direct.get("/metrics", headers=forwarded).status_code == 200
    spoofed = direct.get(
        "/metrics",
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
        headers={"X-Forwarded-For": "127.0.0.1"},
    )
    assert spoofed.status_code == 404


@pytest.mark.parametrize(
    ("setting", "raw"),
    [
        ("metrics__networks", "10.0.0.0/33"),
        ("metrics__networks", "127.0.0.1/32,the office"),
        ("metrics__token", "short"),
    ],
)
def test_bad_access_settings_stop_the_start(make_app, setting, raw):
    with pytest.raises(ConfigError) as error:
        make_app(**{setting: raw})
    assert error.value.key == setting.replace("__", ".")


def test_queue_depth_scheduled_and_failed_jobs_reflect_the_queue(make_app):
    app = make_app(queue__immediate=False)
    client = ready(app)
    metrics_probe(True)
    metrics_probe(False)
    metrics_probe.schedule(args=(False,), delay=3600)
    samples = scrape(client)
    # Huey holds a job set for later in the queue until the consumer reads it.
    assert value(samples, "startvora_queue_pending_jobs") == 3
    assert value(samples, "startvora_queue_scheduled_jobs") == 0
    assert value(samples, "startvora_jobs", state="queued") == 3
    assert value(samples, "startvora_jobs", state="failed") == 0
    assert value(samples, "startvora_queue_consumer_last_seen_timestamp_seconds") is None

    for _ in range(3):  # as the consumer does: run what is due, put the rest on the schedule
        tasks.huey.execute(tasks.huey.dequeue())
    tasks.heartbeat.call_local()
    samples = scrape(client)
    assert value(samples, "startvora_queue_pending_jobs") == 0
    assert value(samples, "startvora_queue_scheduled_jobs") == 1
    assert value(samples, "startvora_jobs", state="failed") == 1
    assert value(samples, "startvora_jobs", state="done") == 1
    assert value(samples, "startvora_jobs", state="scheduled") == 1
    seen = value(samples, "startvora_queue_consumer_last_seen_timestamp_seconds")
    assert seen is not None and abs(seen - time.time()) < 60


def test_database_files_and_disk_are_those_of_the_data_folder(make_app, tmp_path):
    client = ready(make_app())
    samples = scrape(client)
    for database, name in (("main", "startvora.db"), ("queue", "queue.db")):
        path = tmp_path / name
        wal = tmp_path / f"{name}-wal"
        assert value(
            samples, "startvora_database_file_size_bytes", database=database, file="db"
        ) == (path.stat().st_size)
        wal_size = wal.stat().st_size if wal.exists() else 0
        assert (
            value(samples, "startvora_database_file_size_bytes", database=database, file="wal")
            == wal_size
        )
    usage = shutil.disk_usage(tmp_path)
    assert value(samples, "startvora_disk_size_bytes") == usage.total
    assert abs(value(samples, "startvora_disk_free_bytes") - usage.free) < 256 * 2**20

"""/metrics in the Prometheus format: requests and latency from every web worker, and figures
read when scraped (queue, jobs, database files, free disk, replication lag, version).

Request counts are prometheus_client multiprocess values (files in <data>/run/metrics, see
core.observability): whichever worker answers a scrape adds up every worker's files. The rest
is read at scrape time by `InstanceCollector`, never stored per process.

Access: a scraper whose address (after the trusted-proxy handling) is in `metrics.networks`, or
that sends `Authorization: Bearer <metrics.token>`. The endpoint is WSGI middleware inside the
proxy fix, so no sign-in, first-run page, CSRF check, rate limit or request count touches it;
a refused request goes on to the app, which answers it as it answers any unknown address.
"""

from __future__ import annotations

import gzip
import hmac
import ipaddress
import logging
import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, request, request_finished, request_started
from prometheus_client import CollectorRegistry, Counter, Histogram, values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy.engine import make_url

from startvora.config import ConfigError, Settings
from startvora.core.observability import MULTIPROC_ENV
from startvora.version import __version__

log = logging.getLogger(__name__)

PATH = "/metrics"
MIN_TOKEN_LENGTH = 16
# Methods are labelled by name only when they are HTTP's own; a client may send any word.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Requests that matched no route (404, 405) share one label: their URLs are the client's choice.
UNMATCHED = "unmatched"
_STARTED = "startvora.metrics.started"

REQUESTS = Counter(
    "startvora_http_requests",
    "HTTP requests answered, by Flask endpoint, method and status class.",
    ("endpoint", "method", "status"),
    registry=None,
)
LATENCY = Histogram(
    "startvora_http_request_duration_seconds",
    "Time from a request's arrival in the app until its response starts, by Flask endpoint.",
    ("endpoint",),
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=None,
)


def init_app(app: Flask) -> None:
    """Serve /metrics in front of the app (inside its proxy fix) and count its requests."""
    settings: Settings = app.extensions["startvora.settings"]
    access = Access.from_settings(settings)
    app.wsgi_app = MetricsEndpoint(app.wsgi_app, registry_for(settings), access)  # type: ignore[method-assign]
    request_started.connect(_started, app)
    request_finished.connect(_finished, app)


def multiprocess() -> bool:
    """Whether this process counts into the shared folder (fixed when the library loaded)."""
    return bool(getattr(values.ValueClass, "_multiprocess", False)) and bool(
        os.environ.get(MULTIPROC_ENV)
    )


def registry_for(settings: Settings) -> CollectorRegistry:
    """What a scrape of this app reports: every process's counts and the instance's figures."""
    registry = CollectorRegistry()
    if multiprocess():
        MultiProcessCollector(registry, path=os.environ[MULTIPROC_ENV])
    else:  # prometheus_client was loaded before the folder was set: this process's counts
        registry.register(REQUESTS)
        registry.register(LATENCY)
    registry.register(InstanceCollector(settings))
    return registry


# -- request counts -------------------------------------------------------------------------


def _started(sender: Flask, **extra: Any) -> None:
    request.environ[_STARTED] = time.perf_counter()


def _finished(sender: Flask, response: Any, **extra: Any) -> None:
    endpoint = request.endpoint or UNMATCHED
    method = request.method if request.method in METHODS else "other"
    started = request.environ.get(_STARTED)
    try:
        REQUESTS.labels(endpoint, method, f"{response.status_code // 100}xx").inc()
        if started is not None:
            LATENCY.labels(endpoint).observe(time.perf_counter() - started)
    except OSError as exc:  # the metrics file cannot grow (a full disk): the request goes on
        log.warning("request not counted: %s", exc)


# -- access ---------------------------------------------------------------------------------

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Access:
    """Who may read /metrics: a network from the list, or the bearer of the token."""

    token: bytes
    networks: tuple[Network, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> Access:
        networks = []
        for part in settings.metrics.networks.split(","):
            if not part.strip():
                continue
            try:
                networks.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError:
                raise ConfigError(
                    "metrics.networks",
                    f"{part.strip()!r} is not an address or a network such as 10.0.0.0/8",
                ) from None
        token = settings.metrics.token
        if token and len(token) < MIN_TOKEN_LENGTH:
            # Refused scrapes are not rate-limited: a short token could be guessed.
            raise ConfigError(
                "metrics.token", f"must be at least {MIN_TOKEN_LENGTH} characters long"
            )
        return cls(token=token.encode(), networks=tuple(networks))

    def has_token(self, authorization: str) -> bool:
        scheme, _, value = authorization.strip().partition(" ")
        return (
            bool(self.token)
            and scheme.lower() == "bearer"
            and hmac.compare_digest(value.strip().encode(), self.token)
        )

    def in_networks(self, remote_addr: str | None) -> bool:
        try:
            address = ipaddress.ip_address(remote_addr or "")
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped  # an IPv4 client of a server bound to ::
        return any(address in network for network in self.networks)

    def allows(self, environ: dict[str, Any]) -> bool:
        return self.has_token(environ.get("HTTP_AUTHORIZATION", "")) or self.in_networks(
            environ.get("REMOTE_ADDR")
        )


class MetricsEndpoint:
    """WSGI middleware: GET /metrics for allowed scrapers; everything else goes to the app."""

    def __init__(self, wsgi_app: Any, registry: CollectorRegistry, access: Access) -> None:
        self.wsgi_app = wsgi_app
        self.registry = registry
        self.access = access

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") not in (
            "GET",
            "HEAD",
        ):
            return self.wsgi_app(environ, start_response)
        if not self.access.allows(environ):
            log.info(
                "/metrics refused to %s: no valid bearer token, and the address is not in"
                " metrics.networks",
                environ.get("REMOTE_ADDR") or "an unknown address",
            )
            return self.wsgi_app(environ, start_response)
        environ["startvora.endpoint"] = "metrics"  # for the access log
        encoder, content_type = choose_encoder(environ.get("HTTP_ACCEPT", ""))
        body = encoder(self.registry)
        headers = [
            ("Content-Type", content_type),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
        ]
        if "gzip" in environ.get("HTTP_ACCEPT_ENCODING", ""):
            body = gzip.compress(body, compresslevel=5)
            headers.append(("Content-Encoding", "gzip"))
        headers.append(("Content-Length", str(len(body))))
        start_response("200 OK", headers)
        return [b"" if environ["REQUEST_METHOD"] == "HEAD" else body]


# -- figures read at scrape time ------------------------------------------------------------


def _gauge(name: str, help_text: str, value: float, **labels: str) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, help_text, labels=list(labels))
    family.add_metric(list(labels.values()), value)
    return family


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


class InstanceCollector(Collector):
    """The instance's state, read on each scrape: one failing part leaves the others out."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def collect(self) -> Iterator[Metric]:
        yield _gauge(
            "startvora_build_info", "The running version of Startvora.", 1, version=__version__
        )
        for part in (self._queue, self._jobs, self._files, self._disk, self._replication):
            try:
                yield from part()
            except (sqlite3.Error, OSError) as exc:
                log.warning("metrics: %s not read: %s", part.__name__.strip("_"), exc)

    def _queue(self) -> Iterable[Metric]:
        from startvora.core import tasks

        yield _gauge(
            "startvora_queue_pending_jobs",
            "Jobs waiting in the queue for the consumer.",
            tasks.huey.pending_count(),
        )
        yield _gauge(
            "startvora_queue_scheduled_jobs",
            "Jobs waiting for their time (retries after a delay, jobs set for later).",
            tasks.huey.scheduled_count(),
        )
        seen = tasks.consumer_last_seen()
        if seen is not None:
            yield _gauge(
                "startvora_queue_consumer_last_seen_timestamp_seconds",
                "When the consumer last beat (it does every minute), as a Unix time.",
                seen,
            )

    def _jobs(self) -> Iterable[Metric]:
        from startvora.core.jobs import STATES
        from startvora.core.tasks import tracker

        if tracker.book is None:
            return
        counts = dict.fromkeys(STATES, 0)
        rows = tracker.book.execute("SELECT state, count(*) FROM startvora_jobs GROUP BY state")
        counts.update(dict(rows.fetchall()))
        family = GaugeMetricFamily(
            "startvora_jobs",
            "Jobs in the job record by state; failed ones stay until retried, done ones a week.",
            labels=["state"],
        )
        for state, count in counts.items():
            family.add_metric([state], count)
        yield family

    def _files(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(
            "startvora_database_file_size_bytes",
            "Size of the SQLite databases and their write-ahead logs.",
            labels=["database", "file"],
        )
        databases = {
            "main": _sqlite_file(self.settings.database_url),
            "queue": self.settings.data_path / "queue.db",
        }
        for name, path in databases.items():
            if path is None or not path.exists():
                continue
            family.add_metric([name, "db"], path.stat().st_size)
            wal = path.with_name(path.name + "-wal")
            family.add_metric([name, "wal"], wal.stat().st_size if wal.exists() else 0)
        yield family

    def _disk(self) -> Iterable[Metric]:
        usage = shutil.disk_usage(self.settings.data_path)
        yield _gauge(
            "startvora_disk_free_bytes", "Free space on the data folder's disk.", usage.free
        )
        yield _gauge("startvora_disk_size_bytes", "Size of the data folder's disk.", usage.total)

    def _replication(self) -> Iterable[Metric]:
        enabled = bool(self.settings.replication.url)
        yield _gauge(
            "startvora_replication_enabled",
            "1 when the databases are replicated with Litestream ([replication] url is set).",
            int(enabled),
        )
        if not enabled:
            return
        from startvora.ops.replication import lag_seconds

        try:
            lag = lag_seconds(self.settings)
        except Exception:  # another module's failure must not cost the whole scrape
            log.exception("metrics: replication lag not read")
            return
        if lag is not None:
            yield _gauge(
                "startvora_replication_lag_seconds",
                "How far the replica is behind the databases (the larger of the two).",
                lag,
            )

import os
from typing import Any

from gunicorn.glogging import Logger

from startvora.config import load_settings
from startvora.core import logs, observability

# Gunicorn settings used by `startvora serve`; bind, workers, threads and timeout come from the
# command line that `startvora serve` builds from Startvora's own settings.
worker_class = "gthread"
graceful_timeout = 15
keepalive = 5
# Heartbeat files in memory, not on an SD card, where the system has /dev/shm.
if os.path.isdir("/dev/shm"):  # noqa: S108
    worker_tmp_dir = "/dev/shm"  # noqa: S108 (gunicorn's documented choice, not a temp file)
accesslog = "-"
# The path without its query string: reset and invitation tokens travel there, never logged.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
errorlog = "-"
loglevel = "warning"
proc_name = "startvora-web"
# Forwarded headers are handled by the app (security.trusted_proxies), not by gunicorn.
forwarded_allow_ips = ""

# The same settings the workers load (STARTVORA_CONFIG and STARTVORA_* come from `serve`).
_settings = load_settings()


def on_starting(server: Any) -> None:
    # Before any worker: counts left by an earlier run's processes are gone, and the workers
    # (forked from here) inherit the folder.
    observability.reset_metrics_dir(_settings)


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    # A dead worker's counters stay (totals must not go down); its live gauges go.
    multiprocess.mark_process_dead(worker.pid)


class JsonLogger(Logger):
    """Gunicorn's own lines as JSON, and each request as fields rather than a formatted line."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(logs.JsonFormatter())

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        method, path = environ.get("REQUEST_METHOD", "-"), environ.get("PATH_INFO", "-")
        fields = {
            "remote_addr": environ.get("REMOTE_ADDR"),  # the client's, after the proxy fix
            "method": method,
            "path": path,  # without the query string, as in the text format
            "status": int(status),
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "request_id": environ.get(logs.REQUEST_ID),
            "endpoint": environ.get(logs.ENDPOINT),
        }
        self.access_log.info(
            "%s %s %s",
            method,
            path,
            status,
            extra={key: value for key, value in fields.items() if value is not None},
        )


if _settings.log.format == "json":
    logger_class = JsonLogger

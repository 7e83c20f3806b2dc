import os

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

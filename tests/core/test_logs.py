"""Logs: one JSON object per line, with the request's id and endpoint; request ids."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import subprocess
import sys

import pytest

from startvora.core import logs


@pytest.fixture
def captured():
    """Lines logged to `startvora.test`, formatted by the JSON formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("startvora.test")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)


def probe_app(make_app, **settings):
    """An app with a page that logs a line and an error."""
    app = make_app(**settings)
    app.extensions["startvora.setup_done"] = True

    @app.get("/probe/<int:number>")
    def probe(number: int) -> str:
        log = logging.getLogger("startvora.test")
        log.info("probe %d", number, extra={"org_id": 7})
        try:
            raise ValueError("bad\nvalue")
        except ValueError:
            log.exception("it failed")
        return "ok"

    return app.test_client()


def lines(stream: io.StringIO) -> list[dict]:
    text = stream.getvalue()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]  # each line is one whole object


def test_a_line_names_the_request_and_its_endpoint(make_app, captured):
    response = probe_app(make_app).get("/probe/5")
    assert response.status_code == 200
    request_id = response.headers["X-Request-ID"]
    info, error = lines(captured)
    assert info["message"] == "probe 5" and info["level"] == "info"
    assert info["logger"] == "startvora.test" and isinstance(info["pid"], int)
    assert (info["request_id"], info["endpoint"]) == (request_id, "probe")
    assert info["org_id"] == 7  # fields passed in `extra` are kept
    assert dt.datetime.fromisoformat(info["time"]).utcoffset() == dt.timedelta(0)
    # A traceback stays inside its one line.
    assert error["message"] == "it failed" and error["request_id"] == request_id
    assert "ValueError: bad" in error["exception"]


def test_each_request_gets_its_own_id(make_app):
    client = probe_app(make_app)
    first, second = (client.get("/healthz").headers["X-Request-ID"] for _ in range(2))
    assert first != second and len(first) == 16


@pytest.mark.parametrize(
    ("proxies", "given", "kept"),
    [
        (1, "edge-4f2a.9", True),  # from the proxy in front: matched across both logs
        (1, "<script>", False),  # not an id: replaced
        (1, "x" * 65, False),
        (0, "edge-4f2a.9", False),  # no trusted proxy: a client's header is not taken
    ],
)
def test_an_id_from_a_trusted_proxy_is_kept(make_app, proxies, given, kept):
    client = probe_app(make_app, security__trusted_proxies=proxies)
    answered = client.get("/healthz", headers={"X-Request-ID": given}).headers["X-Request-ID"]
    assert (answered == given) is kept


def test_outside_a_request_a_line_has_no_request_fields(captured):
    logging.getLogger("startvora.test").warning("from the consumer", extra={"job": "abc"})
    [line] = lines(captured)
    assert "request_id" not in line and "endpoint" not in line
    assert line["job"] == "abc"


def test_json_set_up_without_flask_as_the_supervisor_has_it(tmp_path):
    """The supervisor never loads Flask; its lines and its crashes are JSON too."""
    code = (
        "import logging, sys\n"
        "from startvora.config import load_settings\n"
        "from startvora.core import logs\n"
        "logs.setup(load_settings())\n"
        "logging.getLogger('startvora.serve').info('stopped')\n"
        "import warnings; warnings.warn('careful')\n"
        "assert 'flask' not in sys.modules\n"
        "raise RuntimeError('at the top')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={"STARTVORA_DATA": str(tmp_path), "STARTVORA_LOG__FORMAT": "json", "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    stopped, warned, crashed = (json.loads(line) for line in result.stderr.splitlines())
    assert (stopped["logger"], stopped["message"]) == ("startvora.serve", "stopped")
    assert warned["logger"] == "py.warnings" and "careful" in warned["message"]
    assert crashed["level"] == "critical" and "RuntimeError: at the top" in crashed["exception"]

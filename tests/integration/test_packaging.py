"""The wheel carries templates, static, models_onnx and config, and runs without the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import pytest

from tests.conftest import repo_root

pytestmark = pytest.mark.slow


def test_installed_wheel_finds_its_resources(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(repo_root()),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("startvora-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for required in (
        "startvora/_share/templates/base.html",
        "startvora/_share/static/css/app.css",
        "startvora/_share/config/startvora.example.toml",
        "startvora/_share/models_onnx/README.md",
        "startvora/migrations/env.py",
        "startvora/translations/messages.pot",
    ):
        assert required in names, required
    assert not any(n.startswith("startvora/_share/static/vendor/../") for n in names)

    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    assert (site / "bin" / "startvora").exists()
    work = tmp_path / "elsewhere"
    work.mkdir()
    code = (
        "import startvora, startvora.paths as p;"
        "from startvora import create_app;"
        "app = create_app({'queue.immediate': True});"
        "from flask_migrate import upgrade;"
        "ctx = app.app_context(); ctx.push();"
        "upgrade(directory=app.extensions['migrate'].directory); ctx.pop();"
        "c = app.test_client();"
        "r = c.get('/static/css/app.css'); s = r.status_code; r.close();"
        "print(startvora.__file__); print(p.resource_dir('templates'));"
        "print(p.resource_dir('models_onnx')); print(s, c.get('/setup').status_code)"
    )
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(site), "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=work, env=env, capture_output=True, text=True, check=True
    )
    package, templates, models, statuses = result.stdout.strip().splitlines()[-4:]
    assert package.startswith(str(site)) and templates.startswith(str(site))
    assert models == str(site / "startvora" / "_share" / "models_onnx")
    assert statuses == "200 200"
    assert (work / "data" / "secret_key").exists()  # the data folder is made where it runs

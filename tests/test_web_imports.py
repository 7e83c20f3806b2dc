"""The web worker stays light: heavy libraries are never imported by it."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("sklearn", "pandas", "scipy", "numpy", "lightgbm", "onnxruntime", "torch", "weasyprint")


def test_web_worker_does_not_import_heavy_libraries(tmp_path):
    code = (
        "import json, sys; import startvora.wsgi as w;"
        "c = w.app.test_client(); c.get('/healthz'); c.get('/sign-in');"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={"STARTVORA_DATA": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []

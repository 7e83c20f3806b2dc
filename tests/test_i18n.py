"""Every user-facing string goes through gettext; the source catalogue is current."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import repo_root

ROOT = repo_root()
BRAND = {"Startvora", "OpenAPI"}


def visible_text(template: str) -> list[str]:
    text = re.sub(r"\{#.*?#\}", " ", template, flags=re.S)
    text = re.sub(r"\{%.*?%\}", " ", text, flags=re.S)
    text = re.sub(r"\{\{.*?\}\}", " ", text, flags=re.S)
    # Code samples are not prose: <code> and <pre> stay as they are in every language.
    text = re.sub(r"<(script|style|code|pre)\b.*?</\1>", " ", text, flags=re.S)
    text = re.sub(r"<[^>]*>", " ", text, flags=re.S)
    text = text.replace("&nbsp;", " ")
    return [w for w in re.findall(r"[A-Za-z][A-Za-z']+", text) if w not in BRAND]


def test_templates_have_no_untranslated_text():
    offenders = {}
    for path in sorted((ROOT / "templates").rglob("*.html")):
        source = path.read_text()
        words = visible_text(source)
        attrs = re.findall(
            r'\s(?:aria-label|title|placeholder|alt)="([^"{]*[A-Za-z][^"{]*)"', source
        )
        if words or attrs:
            offenders[str(path.relative_to(ROOT))] = words + attrs
    assert offenders == {}


def test_catalogue_is_current(tmp_path):
    out = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run(
        [
            str(pybabel),
            "extract",
            "-F",
            "startvora/translations/babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-k",
            "ngettext:1,2",
            "--no-location",
            "--omit-header",
            "--sort-output",
            "-o",
            str(out),
            ".",
        ],
        cwd=ROOT,
        check=True,
    )
    committed = (ROOT / "startvora" / "translations" / "messages.pot").read_text()
    assert out.read_text() == committed, "run scripts/update_catalogue.sh"


def test_translation_and_formatting_work_outside_a_request(app):
    import datetime as dt

    from flask_babel import format_datetime, gettext

    with app.app_context():
        assert gettext("Home") == "Home"
        assert "2026" in format_datetime(dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC))

"""WSGI entry point for gunicorn: `startvora.wsgi:app`."""

from __future__ import annotations

from startvora import create_app

app = create_app(migrations=False)

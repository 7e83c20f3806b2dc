"""WSGI entry point for gunicorn: `startvora.wsgi:app`."""

from __future__ import annotations

import gc

from startvora import create_app

app = create_app(migrations=False)
# What start-up made lives as long as the worker: frozen, it leaves the collector's full passes,
# which otherwise walk it all and add tens of milliseconds to whichever request they land in.
gc.freeze()

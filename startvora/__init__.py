"""Startvora: a self-hosted business platform in one Flask application.

This module stays import-light: `startvora serve` reads settings without loading Flask.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from startvora.version import __version__

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["__version__", "create_app"]


def create_app(*args: Any, **kwargs: Any) -> Flask:
    """Build the application; see startvora.app.create_app."""
    from startvora.app import create_app as build

    return build(*args, **kwargs)

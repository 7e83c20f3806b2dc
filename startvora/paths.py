"""Where the shipped resources and the data folder are, from a checkout or an installed wheel."""

from __future__ import annotations

from functools import cache
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
RESOURCES = ("templates", "static", "models_onnx", "config")


@cache
def checkout_root() -> Path | None:
    """The checkout's top folder when running from one, else None."""
    root = PACKAGE_DIR.parent
    if (root / "pyproject.toml").is_file() and (root / "templates").is_dir():
        return root
    return None


def resource_dir(name: str) -> Path:
    """The folder of a shipped resource (templates, static, models_onnx, config)."""
    if name not in RESOURCES:
        raise ValueError(f"unknown resource folder {name!r}")
    root = checkout_root()
    return (root / name) if root else (PACKAGE_DIR / "_share" / name)


def default_data_dir() -> Path:
    """./data beside the checkout, or ./data in the current folder for an installed copy."""
    root = checkout_root()
    return (root / "data") if root else (Path.cwd() / "data")

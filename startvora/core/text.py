"""Small text helpers shared by modules."""

from __future__ import annotations

import hashlib
import re
import unicodedata


def sha256_hex(value: str) -> str:
    """The SHA-256 of a text, in hex: how random tokens are stored (never the tokens)."""
    return hashlib.sha256(value.encode()).hexdigest()


def slugify(value: str, max_length: int = 50) -> str:
    """ASCII, lower-case, hyphen-separated: 'Café Ünïcode Ltd.' -> 'cafe-unicode-ltd'."""
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_length].rstrip("-")

"""Security headers on every response; the CSP forbids inline script."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, Response, request

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "media-src 'self' blob:",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "object-src 'none'",
    ]
)


_SECURE_FLAG = re.compile(r";\s*secure\s*(;|$)", re.IGNORECASE)


class SecureCookiesOverHttps:
    """WSGI middleware: over HTTPS every cookie is Secure, whoever set it (the session,
    Flask-Login's remember-me, any later extension), whatever their static settings say.
    """

    def __init__(self, wsgi_app: Any) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        def start(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            # Read at this point: a proxy fix further in has set the scheme by now.
            if environ.get("wsgi.url_scheme") == "https":
                headers = [
                    (name, value + "; Secure")
                    if name.lower() == "set-cookie" and not _SECURE_FLAG.search(value)
                    else (name, value)
                    for name, value in headers
                ]
            return start_response(status, headers, *args)

        return self.wsgi_app(environ, start)


def init_app(app: Flask) -> None:
    app.wsgi_app = SecureCookiesOverHttps(app.wsgi_app)  # type: ignore[method-assign]

    @app.after_request
    def _headers(response: Response) -> Response:
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.is_secure:
            h.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

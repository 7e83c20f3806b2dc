"""The REST API under /api/v1: personal access tokens, problem documents, OpenAPI 3.1.

Each domain declares its endpoints with `endpoint(...)` on the shared blueprint; the OpenAPI
document is built from the same pydantic schemas the endpoints answer with.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request, url_for
from pydantic import BaseModel

from startvora.core.errors import render_error
from startvora.core.permissions import can
from startvora.core.tenancy import org_context
from startvora.extensions import csrf, db
from startvora.version import __version__

bp = Blueprint("api", __name__, url_prefix="/api/v1")
docs_bp = Blueprint("api_docs", __name__)

LAST_USED_EVERY = dt.timedelta(minutes=1)


@dataclasses.dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    summary: str
    response: type[BaseModel]
    permission: str
    tag: str
    query: tuple[tuple[str, str, str], ...] = ()  # (name, JSON type, description)
    body: type[BaseModel] | None = None  # the request body of a writing endpoint
    status: int = 200


ENDPOINTS: list[Endpoint] = []


class ApiError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class Invalid(Exception):
    """The request body did not validate: field -> message, answered as a 422 problem."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("invalid")
        self.errors = errors


def problem_422(errors: dict[str, str]) -> Response:
    """An RFC 9457 problem document listing each field's message."""
    response = jsonify(
        type="about:blank",
        title="Unprocessable content",
        status=422,
        detail=errors.get("__all__") or "; ".join(f"{k}: {v}" for k, v in errors.items()),
        errors=errors,
    )
    response.status_code = 422
    response.mimetype = "application/problem+json"
    return response


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 400 problem."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "Send a JSON object (Content-Type: application/json).")
    return body


def int_arg(name: str, default: int | None, low: int = 0, high: int = 2**63 - 1) -> int | None:
    """A whole-number query parameter within bounds, or a 400 problem."""
    raw = request.args.get(name, "")
    if raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise ApiError(400, f"`{name}` must be a whole number from {low} to {high}.")
    return int(raw)


def _authenticate() -> None:
    """Bearer token -> g.api_user, g.org, g.membership; ApiError(401) otherwise.

    The identity module registers how a token is checked (app.extensions
    ["startvora.find_token"]) and the organizations module how a membership is found.
    """
    header = request.headers.get("Authorization", "")
    scheme, _, plain = header.partition(" ")
    if scheme.lower() != "bearer" or not plain.strip():
        raise ApiError(401, "Send a personal access token: Authorization: Bearer <token>.")
    token = current_app.extensions["startvora.find_token"](plain.strip())
    if token is None:
        raise ApiError(401, "The token is unknown, revoked, or its owner is deactivated.")
    membership = current_app.extensions["startvora.find_membership_by_id"](
        token.org_id, token.user_id
    )
    if membership is None:
        raise ApiError(401, "The token's owner is no longer a member of its organization.")
    for guard in current_app.extensions.get("startvora.org_guards", ()):
        if guard(membership.org, token.user) is not None:
            raise ApiError(
                403,
                "This organization requires something of the token's owner "
                "first (such as two-factor sign-in); do it in the browser.",
            )
    now = dt.datetime.now(dt.UTC)
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_EVERY:
        token.last_used_at = now  # committed by the endpoint wrapper
    g.api_token, g.api_user = token, token.user
    g.org, g.membership = membership.org, membership


def endpoint(
    path: str,
    *,
    summary: str,
    response: type[BaseModel],
    permission: str,
    tag: str,
    query: tuple[tuple[str, str, str], ...] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a GET endpoint: token auth, permission check, JSON from the response schema."""
    ENDPOINTS.append(Endpoint("get", path, summary, response, permission, tag, query))

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            try:
                _authenticate()
                if not can(permission):
                    raise ApiError(403, f"Your role does not allow {permission}.")
                with org_context(g.org.id):
                    result = view(*args, **kwargs)
                    body = response.model_validate(result, from_attributes=True).model_dump(
                        mode="json"
                    )
                db.session.commit()  # the token's last use; GET endpoints change nothing else
            except ApiError as exc:
                db.session.rollback()
                return render_error(exc.status, exc.detail)
            return jsonify(body)

        bp.add_url_rule(path, view_func=wrapped, methods=["GET"])
        return wrapped

    return decorator


def write_endpoint(
    method: str,
    path: str,
    *,
    summary: str,
    response: type[BaseModel],
    permission: str,
    tag: str,
    body: type[BaseModel] | None = None,
    status: int = 200,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a POST/PATCH/DELETE endpoint: token auth, permission, one commit, 422 problems."""
    ENDPOINTS.append(
        Endpoint(method.lower(), path, summary, response, permission, tag, body=body, status=status)
    )

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            try:
                _authenticate()
                if not can(permission):
                    raise ApiError(403, f"Your role does not allow {permission}.")
                with org_context(g.org.id):
                    result = view(*args, **kwargs)
                    answer = response.model_validate(result, from_attributes=True).model_dump(
                        mode="json"
                    )
                    db.session.commit()
            except ApiError as exc:
                db.session.rollback()
                return render_error(exc.status, exc.detail)
            except Invalid as exc:
                db.session.rollback()
                return problem_422(exc.errors)
            reply = jsonify(answer)
            reply.status_code = status
            return reply

        bp.add_url_rule(
            path, endpoint=f"{method.lower()}_{view.__name__}", view_func=wrapped, methods=[method]
        )
        return wrapped

    return decorator


def openapi_document() -> dict[str, Any]:
    """OpenAPI 3.1 for every declared endpoint, schemas taken from the pydantic models."""
    schemas: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for ep in ENDPOINTS:
        schema = ep.response.model_json_schema(
            ref_template="#/components/schemas/{model}", mode="serialization"
        )
        schemas.update(schema.pop("$defs", {}))
        schemas[ep.response.__name__] = schema
        openapi_path = "/api/v1" + ep.path.replace("<int:", "{").replace("<", "{").replace(">", "}")
        operation: dict[str, Any] = {}
        if ep.body is not None:
            body_schema = ep.body.model_json_schema(
                ref_template="#/components/schemas/{model}", mode="validation"
            )
            schemas.update(body_schema.pop("$defs", {}))
            schemas[ep.body.__name__] = body_schema
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": f"#/components/schemas/{ep.body.__name__}"}
                    }
                },
            }
        paths.setdefault(openapi_path, {})[ep.method] = operation | {
            "summary": ep.summary,
            "tags": [ep.tag],
            "operationId": ep.method
            + "_"
            + (
                ep.path.strip("/").replace("/", "_").replace("<int:", "").replace(">", "") or "root"
            ),
            "parameters": [
                {
                    "name": n,
                    "in": "query",
                    "required": False,
                    "schema": {"type": t},
                    "description": d,
                }
                for n, t, d in ep.query
            ],
            "responses": {
                str(ep.status): {
                    "description": "OK",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": f"#/components/schemas/{ep.response.__name__}"}
                        }
                    },
                },
                "401": {"$ref": "#/components/responses/Problem"},
                "403": {"$ref": "#/components/responses/Problem"},
                **({"422": {"$ref": "#/components/responses/Problem"}} if ep.body else {}),
            },
            "x-permission": ep.permission,
        }
    schemas["Problem"] = {
        "type": "object",
        "description": "RFC 9457 problem details.",
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
        },
        "required": ["title", "status"],
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Startvora API",
            "version": __version__,
            "description": "Your organization's data, with a personal access token.",
        },
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
            "responses": {
                "Problem": {
                    "description": "An error, as a problem document.",
                    "content": {
                        "application/problem+json": {
                            "schema": {"$ref": "#/components/schemas/Problem"}
                        }
                    },
                }
            },
        },
        "security": [{"token": []}],
    }


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 document."""
    return jsonify(openapi_document())


@docs_bp.get("/api-docs")
def reference() -> Any:
    """A readable API reference, rendered here from the OpenAPI document."""
    from startvora.core.htmx import render

    return render(
        "api/reference.html",
        doc=openapi_document(),
        spec_url=url_for("api.openapi"),
        base=request.host_url.rstrip("/"),
    )


def schema_type(prop: dict[str, Any]) -> str:
    """A JSON-schema property in a few words, for the reference page."""
    if "$ref" in prop:
        return prop["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in prop:
        return " or ".join(schema_type(p) for p in prop["anyOf"])
    if prop.get("type") == "array":
        return f"list of {schema_type(prop.get('items', {}))}"
    if prop.get("format") == "date-time":
        return "date-time"
    return str(prop.get("type", "any"))


def init_app(app: Flask) -> None:
    """Register the API after every domain has declared its endpoints."""
    app.jinja_env.globals.update(schema_type=schema_type)
    csrf.exempt(bp)
    app.register_blueprint(bp)
    app.register_blueprint(docs_bp)

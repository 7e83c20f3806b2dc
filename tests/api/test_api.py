"""The REST API: tokens, the three endpoints, problem documents, OpenAPI 3.1, reference page."""

from __future__ import annotations

import pytest

from startvora.auth import tokens
from startvora.auth.models import ApiToken
from startvora.core.tenancy import org_context, system_context
from startvora.extensions import db as _db


@pytest.fixture
def token_for(db):
    def make(user, org):
        with org_context(org.id):
            _, plain = tokens.create_token(user, org.id, "test")
            _db.session.commit()
        return {"Authorization": f"Bearer {plain}"}

    return make


def test_me_org_members(client, people, token_for):
    headers = token_for(people.bob, people.org_a)
    me = client.get("/api/v1/me", headers=headers).get_json()
    assert me == {
        "id": people.bob.id,
        "email": people.bob.email,
        "name": "Bob Viewer",
        "locale": None,
        "two_factor": False,
        "role": "viewer",
    }
    org = client.get("/api/v1/org", headers=headers).get_json()
    assert org["slug"] == "acme" and org["currency"] == "USD"
    page = client.get("/api/v1/members?limit=2", headers=headers).get_json()
    assert len(page["items"]) == 2 and page["next_cursor"] == page["items"][-1]["id"]
    rest = client.get(f"/api/v1/members?after={page['next_cursor']}", headers=headers).get_json()
    emails = {m["email"] for m in page["items"] + rest["items"]}
    assert emails == {people.alice.email, people.carol.email, people.bob.email}
    assert people.charlie.email not in emails and rest["next_cursor"] is None
    with system_context("test"):
        assert _db.session.execute(_db.select(ApiToken.last_used_at)).scalar_one() is not None


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer svt_nope", "Basic abc", "Bearer " + "svt_" + "x" * 300],
)
def test_bad_tokens_get_a_401_problem(client, people, header):
    response = client.get("/api/v1/me", headers={"Authorization": header} if header else {})
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == 401 and body["detail"]


def test_revoked_token_and_removed_member(client, people, token_for):
    headers = token_for(people.carol, people.org_a)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    with system_context("test"):
        token = _db.session.execute(_db.select(ApiToken)).scalar_one()
        tokens.revoke(token)
        _db.session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    headers = token_for(people.bob, people.org_a)
    from startvora.orgs.models import Membership

    _db.session.execute(_db.delete(Membership).where(Membership.user_id == people.bob.id))
    _db.session.commit()
    assert client.get("/api/v1/org", headers=headers).status_code == 401


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=abc", "after=-1", "after=²"])
def test_bad_parameters(client, people, token_for, query):
    response = client.get(f"/api/v1/members?{query}", headers=token_for(people.alice, people.org_a))
    assert response.status_code == 400 and response.mimetype == "application/problem+json"


def test_api_needs_no_csrf_and_unknown_routes_are_problems(client, people, token_for):
    response = client.get("/api/v1/nothing", headers=token_for(people.alice, people.org_a))
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_openapi_document(client, db):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"] == "3.1.0"
    assert {"/api/v1/me", "/api/v1/org", "/api/v1/members"} <= set(doc["paths"])
    members = doc["paths"]["/api/v1/members"]["get"]
    assert {p["name"] for p in members["parameters"]} == {"limit", "after"}
    schemas = doc["components"]["schemas"]
    assert {"MeOut", "OrgOut", "MemberPage", "MemberOut", "Problem"} <= set(schemas)
    assert schemas["MemberPage"]["properties"]["items"]["items"]["$ref"].endswith("/MemberOut")
    # Every $ref points at a schema that exists.
    import json
    import re

    for ref in re.findall(r'"\$ref": "#/components/(\w+)/(\w+)"', json.dumps(doc)):
        assert ref[1] in doc["components"][ref[0]]


def test_reference_page(client, people, login):
    login(people.bob)
    html = client.get("/api-docs").get_data(as_text=True)
    assert "/api/v1/members" in html and "MemberPage" in html and "Bearer" in html


def test_documented_fields_are_the_ones_sent(client, people, token_for):
    doc = client.get("/api/v1/openapi.json").get_json()
    me = client.get("/api/v1/me", headers=token_for(people.alice, people.org_a)).get_json()
    assert set(doc["components"]["schemas"]["MeOut"]["properties"]) == set(me)


def test_a_required_second_factor_closes_the_api_too(client, people, token_for, login, csrf_token):
    headers = token_for(people.bob, people.org_a)
    people.org_a.require_2fa = True
    _db.session.commit()
    response = client.get("/api/v1/members", headers=headers)
    assert response.status_code == 403 and "two-factor" in response.get_json()["detail"]
    login(people.bob)
    refused = client.post(
        "/profile/tokens",
        data={"csrf_token": csrf_token(), "token_name": "x", "org_id": people.org_a.id},
    )
    assert refused.status_code == 422

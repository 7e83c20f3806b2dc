"""Deals and pipelines in /api/v1: filters, sort, pages with totals, writes, problems, OpenAPI."""

from __future__ import annotations

import pytest

from startvora.auth import tokens
from startvora.core import customfields as cf
from startvora.core.tenancy import org_context, system_context
from startvora.crm.models import Deal
from startvora.extensions import db as _db
from tests import factories


@pytest.fixture
def token_for(db):
    def make(user, org):
        with org_context(org.id):
            _, plain = tokens.create_token(user, org.id, "test")
            _db.session.commit()
        return {"Authorization": f"Bearer {plain}"}

    return make


@pytest.fixture
def data(people):
    with system_context("test: rows of both organizations"):
        pipeline = factories.make_pipeline(people.org_a)
        stages = list(pipeline.stages)
        made = [
            factories.make_deal(people.org_a, pipeline, title="Alpha", value_minor=500),
            factories.make_deal(
                people.org_a,
                pipeline,
                title="Bravo",
                value_minor=300,
                stage_id=stages[1].id,
                owner_id=people.carol.id,
            ),
            factories.make_deal(
                people.org_a, pipeline, title="Charlie", value_minor=900, stage_id=stages[4].id
            ),
        ]
        theirs = factories.make_deal(people.org_b, title="Theirs")
        _db.session.commit()
    return {"pipeline": pipeline, "stages": stages, "deals": made, "theirs": theirs}


def titles(body) -> list[str]:
    return [d["title"] for d in body["items"]]


def test_list_filters_sorts_and_pages_with_a_total(client, people, token_for, data):
    headers = token_for(people.bob, people.org_a)
    body = client.get("/api/v1/deals?sort=title", headers=headers).get_json()
    assert titles(body) == ["Alpha", "Bravo", "Charlie"] and body["total"] == 3
    assert body["items"][0]["value"] == "5.00" and body["items"][0]["status"] == "open"
    stages = data["stages"]
    checks = {
        f"stage_id={stages[1].id}": ["Bravo"],
        f"owner_id={people.carol.id}": ["Bravo"],
        "status=won": ["Charlie"],
        "status=open&sort=-value": ["Alpha", "Bravo"],
        f"pipeline_id={data['pipeline'].id}&sort=value": ["Bravo", "Alpha", "Charlie"],
        "q=alp": ["Alpha"],
    }
    for query, expected in checks.items():
        got = client.get(f"/api/v1/deals?{query}", headers=headers).get_json()
        assert titles(got) == expected, query
    page = client.get("/api/v1/deals?sort=title&limit=2", headers=headers).get_json()
    assert (titles(page), page["total"], page["next_offset"]) == (["Alpha", "Bravo"], 3, 2)
    rest = client.get("/api/v1/deals?sort=title&limit=2&offset=2", headers=headers).get_json()
    assert (titles(rest), rest["next_offset"]) == (["Charlie"], None)


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=101", "offset=-1", "status=maybe", "sort=owner", "stage_id=x"]
)
def test_bad_list_parameters_are_400_problems(client, people, token_for, data, query):
    response = client.get(f"/api/v1/deals?{query}", headers=token_for(people.bob, people.org_a))
    assert response.status_code == 400 and response.mimetype == "application/problem+json"


def test_get_one_and_another_orgs_is_404(client, people, token_for, data):
    headers = token_for(people.bob, people.org_a)
    alpha = data["deals"][0]
    body = client.get(f"/api/v1/deals/{alpha.id}", headers=headers).get_json()
    assert (body["title"], body["value_minor"], body["currency"]) == ("Alpha", 500, "USD")
    assert client.get(f"/api/v1/deals/{data['theirs'].id}", headers=headers).status_code == 404


def test_create_change_move_and_delete(client, people, token_for, data):
    with org_context(people.org_a.id):
        _db.session.add(
            cf.CustomField(
                org_id=people.org_a.id, entity="deal", key="seats", label="Seats", kind="number"
            )
        )
        contact = factories.make_contact(people.org_a)
        _db.session.commit()
    headers = token_for(people.carol, people.org_a)
    stages = data["stages"]
    created = client.post(
        "/api/v1/deals",
        json={
            "title": "Delta",
            "stage_id": stages[2].id,
            "value": 1234.5,
            "expected_close": "2026-09-30",
            "contact_id": contact.id,
            "tags": ["api"],
            "custom": {"seats": "25"},
        },
        headers=headers,
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["value"], body["value_minor"], body["currency"]) == ("1234.50", 123450, "USD")
    assert (body["expected_close"], body["custom"], body["tags"]) == (
        "2026-09-30",
        {"seats": 25},
        ["api"],
    )
    url = f"/api/v1/deals/{body['id']}"
    changed = client.patch(url, json={"value": "2000", "custom": {}}, headers=headers).get_json()
    assert (changed["value_minor"], changed["title"], changed["custom"]) == (
        200000,
        "Delta",
        {"seats": 25},
    )
    assert changed["contact_id"] == contact.id  # fields not sent stay
    moved = client.post(
        f"{url}/move", json={"stage_id": stages[5].id, "lost_reason": "Budget"}, headers=headers
    )
    assert moved.get_json()["status"] == "lost" and moved.get_json()["lost_reason"] == "Budget"
    assert moved.get_json()["closed_at"] is not None
    # Deleting needs crm:delete, which a member lacks; the owner may.
    assert client.delete(url, headers=headers).status_code == 403
    gone = client.delete(url, headers=token_for(people.alice, people.org_a))
    assert gone.get_json() == {"id": body["id"], "deleted": True}
    assert client.get(url, headers=headers).status_code == 404
    with org_context(people.org_a.id):
        deal = _db.session.get(Deal, body["id"], execution_options={"include_deleted": True})
        assert deal.deleted_at is not None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "X", "stage_id": "{stage}", "value": "abc"}, "value"),
        ({"title": "X", "stage_id": "{stage}", "value": -1}, "value"),
        ({"title": "X", "stage_id": "{theirs}"}, "stage_id"),
        ({"title": "", "stage_id": "{stage}"}, "title"),
        ({"title": "X", "stage_id": "{stage}", "currency": "EURO"}, "currency"),
        ({"title": "X", "stage_id": "{stage}", "custom": {"nope": 1}}, "custom"),
    ],
)
def test_invalid_bodies_are_422_problems_and_save_nothing(
    client, people, token_for, data, body, field
):
    theirs_stage = data["theirs"].stage_id
    body = {
        k: (
            v.format(stage=data["stages"][0].id, theirs=theirs_stage)
            if isinstance(v, str) and "{" in v
            else v
        )
        for k, v in body.items()
    }
    for k in ("stage_id",):
        if isinstance(body.get(k), str) and body[k].isdigit():
            body[k] = int(body[k])
    response = client.post(
        "/api/v1/deals", json=body, headers=token_for(people.carol, people.org_a)
    )
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert field in response.get_json()["errors"]
    with org_context(people.org_a.id):
        assert _db.session.execute(_db.select(_db.func.count(Deal.id))).scalar_one() == 3


def test_writes_need_json_a_role_and_the_orgs_own_ids(client, people, token_for, data):
    viewer = token_for(people.bob, people.org_a)
    stage = data["stages"][0].id
    assert (
        client.post(
            "/api/v1/deals", json={"title": "X", "stage_id": stage}, headers=viewer
        ).status_code
        == 403
    )
    member = token_for(people.carol, people.org_a)
    assert client.post("/api/v1/deals", data="nope", headers=member).status_code == 400
    theirs = data["theirs"].id
    assert (
        client.patch(f"/api/v1/deals/{theirs}", json={"title": "Mine"}, headers=member).status_code
        == 404
    )
    assert (
        client.post(
            f"/api/v1/deals/{theirs}/move", json={"stage_id": stage}, headers=member
        ).status_code
        == 404
    )
    assert client.post("/api/v1/deals", json={"title": "X", "stage_id": stage}).status_code == 401
    with system_context("test"):
        assert _db.session.get(Deal, theirs).title == "Theirs"


def test_pipelines_with_their_stages(client, people, token_for, data):
    body = client.get("/api/v1/pipelines", headers=token_for(people.bob, people.org_a)).get_json()
    assert body["total"] == 1
    stages = body["items"][0]["stages"]
    assert [(s["name"], s["kind"]) for s in stages][-2:] == [("Won", "won"), ("Lost", "lost")]
    assert [s["position"] for s in stages] == sorted(s["position"] for s in stages)


def test_openapi_lists_the_deal_endpoints(client, db):
    doc = client.get("/api/v1/openapi.json").get_json()
    paths = doc["paths"]
    assert set(paths["/api/v1/deals"]) == {"get", "post"}
    assert set(paths["/api/v1/deals/{deal_id}"]) == {"get", "patch", "delete"}
    assert "post" in paths["/api/v1/deals/{deal_id}/move"]
    assert "get" in paths["/api/v1/pipelines"]
    names = {p["name"] for p in paths["/api/v1/deals"]["get"]["parameters"]}
    assert {"stage_id", "pipeline_id", "owner_id", "status", "sort", "limit", "offset"} <= names
    schemas = doc["components"]["schemas"]
    assert {"DealOut", "DealPage", "PipelineList", "PipelineOut", "StageOut"} <= set(schemas)
    assert "total" in schemas["DealPage"]["properties"]

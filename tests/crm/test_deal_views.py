"""Deal pages: board, move, list, form, deal page, won/lost, trash; pipeline settings."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from startvora.core.tenancy import org_context, system_context
from startvora.crm.models import Deal, Pipeline, Stage
from startvora.extensions import db as _db
from tests import factories

BASE = "/o/acme/crm"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def setup(people):
    """Acme's pipeline with two deals, and a pipeline and deal of Bravo."""
    with system_context("test: rows of both organizations"):
        pipeline = factories.make_pipeline(people.org_a)
        company = factories.make_company(people.org_a, name="Globex")
        deal = factories.make_deal(
            people.org_a,
            pipeline,
            title="Globex fleet",
            company_id=company.id,
            owner_id=people.carol.id,
            value_minor=1_250_000,
        )
        other = factories.make_deal(people.org_a, pipeline, title="Initech pilot", rank=1024)
        theirs_pipeline = factories.make_pipeline(people.org_b)
        theirs = factories.make_deal(people.org_b, theirs_pipeline, title="Their deal")
        _db.session.commit()
        return SimpleNamespace(
            people=people,
            pipeline=pipeline,
            stages=list(pipeline.stages),
            deal=deal,
            other=other,
            theirs=theirs,
            theirs_pipeline=theirs_pipeline,
        )


def post(client, url, token, headers=None, **data):
    return client.post(url, data={"csrf_token": token, **data}, headers=headers or {})


def reload(model, object_id):
    """The row as saved now (None once deleted), trashed or not."""
    with org_context(1):
        _db.session.expire_all()
        return _db.session.execute(
            _db.select(model)
            .where(model.id == object_id)
            .execution_options(include_deleted=True, populate_existing=True)
        ).scalar_one_or_none()


# -- the board -----------------------------------------------------------------------------------


def test_the_board_makes_the_default_pipeline_on_first_visit(client, people, login):
    login(people.bob)
    page = client.get(f"{BASE}/deals").get_data(as_text=True)
    for name in ("New", "Qualified", "Proposal", "Negotiation", "Won", "Lost"):
        assert f">{name}</h2>" in page
    assert "New deal" not in page  # a viewer sees no write buttons
    with org_context(people.org_a.id):
        assert _db.session.execute(_db.select(Pipeline.name)).scalars().all() == ["Sales"]


def test_the_board_shows_cards_counts_and_totals(client, setup, login):
    login(setup.people.alice)
    response = client.get(f"{BASE}/deals")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in page
    assert "Globex fleet" in page and "Globex" in page and "Initech pilot" in page
    assert "$13,500.00" in page  # 12,500 + 1,000 in New
    assert "$1,350.00" in page  # weighted at 10%
    assert 'data-move-url="/o/acme/crm/deals/' in page
    fragment = client.get(f"{BASE}/deals", headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment and "Globex fleet" in fragment
    assert "board.js" in page and "sortable.min.js" in page


def test_move_by_drag_answers_an_event_for_the_board(client, setup, login, csrf_token):
    login(setup.people.carol)
    token = csrf_token()
    qualified = setup.stages[1]
    response = post(
        client, f"{BASE}/deals/{setup.deal.id}/move", token, HTMX, stage_id=str(qualified.id)
    )
    assert response.status_code == 204
    assert list(json.loads(response.headers["HX-Trigger"])) == ["dealsChanged", "closeModal"]
    assert reload(Deal, setup.deal.id).stage_id == qualified.id
    board = client.get(f"{BASE}/deals", headers=HTMX).get_data(as_text=True)
    assert "$3,750.00" in board  # 12,500 x 30% in Qualified


def test_move_before_another_deal_and_into_won(client, setup, login, csrf_token):
    login(setup.people.carol)
    token = csrf_token()
    new, won = setup.stages[0], setup.stages[4]
    post(
        client,
        f"{BASE}/deals/{setup.other.id}/move",
        token,
        HTMX,
        stage_id=str(new.id),
        before_id=str(setup.deal.id),
    )
    with org_context(setup.people.org_a.id):
        titles = _db.session.execute(
            _db.select(Deal.title).where(Deal.stage_id == new.id).order_by(Deal.rank, Deal.id)
        ).scalars()
        assert list(titles) == ["Initech pilot", "Globex fleet"]
    response = post(client, f"{BASE}/deals/{setup.deal.id}/move", token, stage_id=str(won.id))
    assert response.status_code == 303  # without htmx: back to the board
    assert response.headers["Location"].endswith(f"/crm/deals?pipeline={setup.pipeline.id}")
    assert reload(Deal, setup.deal.id).closed_at is not None


def test_move_to_another_pipelines_stage_is_refused(client, setup, login, csrf_token):
    login(setup.people.alice)
    token = csrf_token()
    with org_context(setup.people.org_a.id):
        renewals = factories.make_pipeline(setup.people.org_a, name="Renewals")
        _db.session.commit()
        elsewhere = renewals.stages[1].id
    response = post(
        client, f"{BASE}/deals/{setup.deal.id}/move", token, HTMX, stage_id=str(elsewhere)
    )
    assert response.status_code == 422
    trigger = json.loads(response.headers["HX-Trigger"])
    assert trigger["showToast"]["message"] == "Choose a stage of the deal's pipeline."
    assert "dealsChanged" in trigger  # the board puts the card back
    assert reload(Deal, setup.deal.id).stage_id == setup.stages[0].id
    response = post(
        client,
        f"{BASE}/deals/{setup.deal.id}/move",
        token,
        HTMX,
        stage_id=str(setup.theirs_pipeline.stages[1].id),
    )
    assert response.status_code == 422


def test_the_move_dialog_is_a_fragment_and_a_page(client, setup, login):
    login(setup.people.carol)
    url = f"{BASE}/deals/{setup.deal.id}/move-to"
    fragment = client.get(url, headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment and 'name="stage_id"' in fragment
    assert fragment.count('type="radio"') == 6
    assert "<html" in client.get(url).get_data(as_text=True)


# -- the form ------------------------------------------------------------------------------------


def test_create_a_deal_with_company_and_contact(client, setup, login, csrf_token):
    with org_context(setup.people.org_a.id):
        contact = factories.make_contact(
            setup.people.org_a, first_name="Ada", last_name="Lovelace", email="ada@globex.test"
        )
        _db.session.commit()
    login(setup.people.carol)
    token = csrf_token()
    form = client.get(f"{BASE}/deals/new").get_data(as_text=True)
    assert 'name="stage_id"' in form and "USD" in form
    response = post(
        client,
        f"{BASE}/deals/new",
        token,
        title="Globex expansion",
        stage_id=str(setup.stages[2].id),
        value="48,000.50",
        currency="EUR",
        expected_close="2026-06-30",
        owner_id=str(setup.people.carol.id),
        company_name="globex",
        contact_name="Ada Lovelace <ada@globex.test>",
        tags="expansion, q2",
    )
    assert response.status_code == 303
    with org_context(setup.people.org_a.id):
        deal = _db.session.execute(
            _db.select(Deal).where(Deal.title == "Globex expansion")
        ).scalar_one()
        assert (deal.value_minor, deal.currency, str(deal.expected_close)) == (
            4_800_050,
            "EUR",
            "2026-06-30",
        )
        assert (deal.company.name, deal.contact_id, deal.tags) == (
            "Globex",
            contact.id,
            ["expansion", "q2"],
        )
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "€48,000.50" in page and "Ada Lovelace" in page
    lookup = client.get(f"{BASE}/deals/contacts-lookup?contact_name=ada").get_data(as_text=True)
    assert lookup == '<option value="Ada Lovelace &lt;ada@globex.test&gt;"></option>'


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"value": "abc"}, "value", "Enter an amount like 1250.00."),
        ({"value": "-100"}, "value", "The value cannot be negative."),
        ({"value": "1.999"}, "value", "USD amounts have at most 2 decimals."),
        ({"title": ""}, "title", "This field is required."),
        ({"company_name": "Nobody Inc"}, "company_name", "No company is called Nobody Inc"),
        ({"owner_id": "4"}, "owner_id", "Choose an owner from the members"),
        ({"pipeline": "other"}, "stage_id", "This stage belongs to another pipeline"),
        ({"stage_id": "theirs"}, "stage_id", "Choose a stage from the list."),
    ],
)
def test_bad_input_gets_a_clear_422_and_saves_nothing(
    client, setup, login, csrf_token, values, field, message
):
    login(setup.people.carol)
    token = csrf_token()
    data = {"title": "Bad", "stage_id": str(setup.stages[0].id), "value": "10"}
    data.update(values)
    if values.get("stage_id") == "theirs":
        data["stage_id"] = str(setup.theirs_pipeline.stages[0].id)
    if values.get("pipeline") == "other":
        with org_context(setup.people.org_a.id):
            renewals = factories.make_pipeline(setup.people.org_a, name="Renewals")
            _db.session.commit()
            data["pipeline_id"] = str(setup.pipeline.id)
            data["stage_id"] = str(renewals.stages[0].id)
    response = post(client, f"{BASE}/deals/new", token, HTMX, **data)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" not in body
    assert f'id="f-{field}-error"' in body and message in body
    with org_context(setup.people.org_a.id):
        assert _db.session.execute(_db.select(_db.func.count(Deal.id))).scalar_one() == 2


def test_edit_a_deal_and_change_its_stage(client, setup, login, csrf_token):
    login(setup.people.carol)
    token = csrf_token()
    form = client.get(f"{BASE}/deals/{setup.deal.id}/edit").get_data(as_text=True)
    assert 'value="12500.00"' in form and 'value="Globex"' in form
    response = post(
        client,
        f"{BASE}/deals/{setup.deal.id}/edit",
        token,
        title="Globex fleet (20 vans)",
        stage_id=str(setup.stages[3].id),
        value="15000",
        currency="USD",
        company_name="Globex",
        owner_id=str(setup.people.carol.id),
    )
    assert response.status_code == 303
    deal = reload(Deal, setup.deal.id)
    assert (deal.title, deal.value_minor, deal.stage_id) == (
        "Globex fleet (20 vans)",
        1_500_000,
        setup.stages[3].id,
    )
    page = client.get(f"{BASE}/deals/{deal.id}").get_data(as_text=True)
    assert "Negotiation" in page and "$12,000.00" in page  # weighted at 80%


# -- the deal page: won, lost, reopen, trash -------------------------------------------------------


def test_won_lost_and_reopen_from_the_deal_page(client, setup, login, csrf_token):
    login(setup.people.carol)
    token = csrf_token()
    url = f"{BASE}/deals/{setup.deal.id}"
    response = post(client, f"{url}/lost", token, reason="  ")
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "Say why the deal was lost." in body
    assert reload(Deal, setup.deal.id).stage_id == setup.stages[0].id
    assert post(client, f"{url}/lost", token, reason="Chose a competitor").status_code == 303
    deal = reload(Deal, setup.deal.id)
    assert (deal.stage_id, deal.lost_reason) == (setup.stages[5].id, "Chose a competitor")
    page = client.get(url).get_data(as_text=True)
    assert "Reason: Chose a competitor" in page and "Reopen" in page
    assert post(client, f"{url}/reopen", token).status_code == 303
    assert reload(Deal, setup.deal.id).closed_at is None
    assert post(client, f"{url}/won", token).status_code == 303
    assert reload(Deal, setup.deal.id).stage_id == setup.stages[4].id
    page = client.get(url).get_data(as_text=True)
    assert "Won on" in page
    assert 'id="timeline"' in page  # the timeline of activities and changes


def test_move_from_the_deal_page_comes_back_to_it(client, setup, login, csrf_token):
    login(setup.people.carol)
    token = csrf_token()
    response = post(
        client,
        f"{BASE}/deals/{setup.deal.id}/move",
        token,
        stage_id=str(setup.stages[2].id),
        back="deal",
        place="top",
    )
    assert response.headers["Location"].endswith(f"/crm/deals/{setup.deal.id}")


def test_delete_moves_the_deal_to_the_trash(client, setup, login, csrf_token):
    login(setup.people.alice)
    token = csrf_token()
    response = post(client, f"{BASE}/deals/{setup.deal.id}/delete", token)
    assert response.status_code == 303
    assert reload(Deal, setup.deal.id).deleted_at is not None
    assert client.get(f"{BASE}/deals/{setup.deal.id}").status_code == 404
    assert "Globex fleet" not in client.get(f"{BASE}/deals").get_data(as_text=True)


# -- the list ------------------------------------------------------------------------------------


def test_list_searches_filters_and_sorts(client, setup, login):
    login(setup.people.bob)
    page = client.get(f"{BASE}/deals/list").get_data(as_text=True)
    assert "Globex fleet" in page and "Initech pilot" in page and "2 results" in page
    found = client.get(f"{BASE}/deals/list?q=globex", headers=HTMX).get_data(as_text=True)
    assert "<html" not in found and "Globex fleet" in found and "Initech pilot" not in found
    mine = client.get(f"{BASE}/deals/list?f_owner={setup.people.carol.id}").get_data(as_text=True)
    assert "Globex fleet" in mine and "Initech pilot" not in mine
    won = client.get(f"{BASE}/deals/list?f_status=won").get_data(as_text=True)
    assert "Globex fleet" not in won and "Nothing matches" in won
    by_value = client.get(f"{BASE}/deals/list?sort=value&dir=desc").get_data(as_text=True)
    assert by_value.index("Globex fleet") < by_value.index("Initech pilot")


def test_bulk_tag_assign_delete_and_export(client, setup, login, csrf_token):
    login(setup.people.alice)
    token = csrf_token()
    ids = [str(setup.deal.id), str(setup.other.id)]
    client.post(f"{BASE}/deals/bulk/tag", data={"csrf_token": token, "ids": ids, "tag": "q3"})
    client.post(
        f"{BASE}/deals/bulk/assign",
        data={"csrf_token": token, "ids": ids, "owner_id": str(setup.people.alice.id)},
    )
    for deal_id in (setup.deal.id, setup.other.id):
        deal = reload(Deal, deal_id)
        assert "q3" in deal.tags and deal.owner_id == setup.people.alice.id
    csv = client.post(f"{BASE}/deals/export", data={"csrf_token": token, "f_status": "open"})
    lines = csv.get_data(as_text=True).splitlines()
    assert lines[0].startswith("Deal,Stage,Status,Value,Currency")
    assert any(line.startswith("Globex fleet,New,Open,12500.00,USD") for line in lines)
    response = client.post(
        f"{BASE}/deals/bulk/delete", data={"csrf_token": token, "ids": [str(setup.other.id)]}
    )
    assert response.status_code == 303
    assert reload(Deal, setup.other.id).deleted_at is not None


# -- pipeline settings ---------------------------------------------------------------------------


def test_pipeline_settings_rename_add_reorder(client, setup, login, csrf_token):
    login(setup.people.alice)
    token = csrf_token()
    url = f"{BASE}/pipelines/{setup.pipeline.id}"
    assert client.get(f"{BASE}/pipelines").headers["Location"].endswith(url)
    page = client.get(url).get_data(as_text=True)
    assert "Negotiation" in page and "2 deals" in page
    response = post(client, f"{url}/rename", token, HTMX, name="New business")
    assert response.status_code == 200 and "<html" not in response.get_data(as_text=True)
    assert json.loads(response.headers["HX-Trigger"])["showToast"]["message"] == "Saved."
    post(client, f"{url}/stages", token, name="Demo", probability="40", kind="open")
    demo = reload_stage_named("Demo")
    assert demo.position == 4 and demo.probability == 40
    post(client, f"{BASE}/stages/{demo.id}/up", token)
    assert reload_stage_named("Demo").position == 3
    response = post(
        client, f"{BASE}/stages/{demo.id}", token, HTMX, name="Demo", probability="101", kind="open"
    )
    assert response.status_code == 422
    assert "Enter a number in the allowed range." in response.get_data(as_text=True)
    post(client, f"{BASE}/stages/{demo.id}", token, name="Trial", probability="45", kind="open")
    assert reload_stage_named("Trial").probability == 45


def reload_stage_named(name: str) -> Stage:
    with org_context(1):
        _db.session.expire_all()
        return _db.session.execute(_db.select(Stage).where(Stage.name == name)).scalar_one()


def test_deleting_a_stage_with_deals_is_refused_with_a_clear_message(
    client, setup, login, csrf_token
):
    login(setup.people.alice)
    token = csrf_token()
    new = setup.stages[0]
    new_id = new.id
    response = post(client, f"{BASE}/stages/{new.id}/delete", token, HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" not in body
    assert "Move its 2 deals to another stage first." in body
    assert reload(Stage, new.id) is not None
    assert reload(Deal, setup.deal.id).stage_id == new.id
    # Offering a target stage moves them, then removes the stage.
    qualified = setup.stages[1]
    response = post(client, f"{BASE}/stages/{new.id}/delete", token, move_to=str(qualified.id))
    assert response.status_code == 303
    assert reload(Stage, new_id) is None
    assert reload(Deal, setup.deal.id).stage_id == qualified.id


def test_new_pipeline_and_its_refusals(client, setup, login, csrf_token):
    login(setup.people.alice)
    token = csrf_token()
    response = post(client, f"{BASE}/pipelines", token, name="Sales")
    assert response.status_code == 422
    assert "Another pipeline has this name." in response.get_data(as_text=True)
    response = post(client, f"{BASE}/pipelines", token, name="Renewals")
    assert response.status_code == 303
    with org_context(setup.people.org_a.id):
        renewals = _db.session.execute(
            _db.select(Pipeline).where(Pipeline.name == "Renewals")
        ).scalar_one()
        renewals_id = renewals.id
    board = client.get(f"{BASE}/deals?pipeline={renewals_id}").get_data(as_text=True)
    assert "Pipeline: Renewals" in board and "Globex fleet" not in board
    refused = post(client, f"{BASE}/pipelines/{setup.pipeline.id}/delete", token)
    assert refused.status_code == 422
    assert "Move its 2 deals to another pipeline first." in refused.get_data(as_text=True)
    assert post(client, f"{BASE}/pipelines/{renewals_id}/delete", token).status_code == 303
    assert reload(Pipeline, renewals_id) is None


# -- access ----------------------------------------------------------------------------------------

PAGES = [
    "/deals",
    "/deals/list",
    "/deals/new",
    "/deals/{deal}",
    "/deals/{deal}/edit",
    "/deals/{deal}/move-to",
    "/pipelines",
    "/pipelines/{pipeline}",
]
WRITES = [
    ("/deals/new", {"title": "X", "stage_id": "{stage}"}),
    ("/deals/{deal}/edit", {"title": "X", "stage_id": "{stage}"}),
    ("/deals/{deal}/move", {"stage_id": "{stage}"}),
    ("/deals/{deal}/won", {}),
    ("/deals/{deal}/reopen", {}),
    ("/deals/{deal}/lost", {"reason": "x"}),
    ("/deals/{deal}/delete", {}),
    ("/deals/bulk/tag", {"ids": "{deal}", "tag": "x"}),
    ("/deals/bulk/assign", {"ids": "{deal}"}),
    ("/deals/bulk/delete", {"ids": "{deal}"}),
    ("/pipelines", {"name": "Other"}),
    ("/pipelines/{pipeline}/rename", {"name": "Other"}),
    ("/pipelines/{pipeline}/delete", {}),
    ("/pipelines/{pipeline}/stages", {"name": "Other"}),
    ("/stages/{stage}", {"name": "Other"}),
    ("/stages/{stage}/up", {}),
    ("/stages/{stage}/delete", {}),
]
POST_ONLY = [
    "/deals/{deal}/move",
    "/deals/{deal}/won",
    "/deals/{deal}/reopen",
    "/deals/{deal}/lost",
    "/deals/{deal}/delete",
    "/deals/bulk/tag",
    "/deals/bulk/delete",
    "/deals/export",
    "/pipelines/{pipeline}/rename",
    "/pipelines/{pipeline}/delete",
    "/pipelines/{pipeline}/stages",
    "/stages/{stage}",
    "/stages/{stage}/down",
    "/stages/{stage}/delete",
]


def fill(path: str, deal, pipeline, stage) -> str:
    return BASE + path.format(deal=deal.id, pipeline=pipeline.id, stage=stage.id)


@pytest.mark.parametrize("path", PAGES)
def test_pages_need_sign_in(client, setup, path):
    response = client.get(fill(path, setup.deal, setup.pipeline, setup.stages[1]))
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    htmx = client.get(fill(path, setup.deal, setup.pipeline, setup.stages[1]), headers=HTMX)
    assert htmx.status_code == 401 and "HX-Redirect" in htmx.headers


@pytest.mark.parametrize("path", [p for p in PAGES if "{" in p])
def test_another_orgs_ids_are_404(client, setup, login, path):
    login(setup.people.alice)
    theirs = setup.theirs_pipeline
    response = client.get(fill(path, setup.theirs, theirs, theirs.stages[0]))
    assert response.status_code == 404


@pytest.mark.parametrize(("path", "data"), [w for w in WRITES if "{" in w[0]])
def test_another_orgs_ids_are_404_for_writes(client, setup, login, csrf_token, path, data):
    login(setup.people.alice)
    token = csrf_token()
    theirs = setup.theirs_pipeline
    values = {k: v.format(deal=setup.theirs.id, stage=theirs.stages[1].id) for k, v in data.items()}
    response = post(client, fill(path, setup.theirs, theirs, theirs.stages[1]), token, **values)
    assert response.status_code == 404
    with system_context("test: their deal is untouched"):
        deal = _db.session.get(Deal, setup.theirs.id)
        assert (deal.title, deal.stage_id, deal.deleted_at) == (
            "Their deal",
            theirs.stages[0].id,
            None,
        )


@pytest.mark.parametrize(("path", "data"), WRITES)
def test_a_viewer_is_refused_writes(client, setup, login, csrf_token, path, data):
    login(setup.people.bob)
    token = csrf_token()
    values = {k: v.format(deal=setup.deal.id, stage=setup.stages[1].id) for k, v in data.items()}
    response = post(
        client, fill(path, setup.deal, setup.pipeline, setup.stages[1]), token, **values
    )
    assert response.status_code == 403
    deal = reload(Deal, setup.deal.id)
    assert (deal.title, deal.stage_id, deal.deleted_at) == (
        "Globex fleet",
        setup.stages[0].id,
        None,
    )


@pytest.mark.parametrize(
    "path", ["/pipelines/{pipeline}/rename", "/stages/{stage}", "/stages/{stage}/delete"]
)
def test_a_member_may_not_change_pipelines(client, setup, login, csrf_token, path):
    login(setup.people.carol)
    response = post(
        client, fill(path, setup.deal, setup.pipeline, setup.stages[1]), csrf_token(), name="X"
    )
    assert response.status_code == 403


@pytest.mark.parametrize("path", POST_ONLY)
def test_post_only_routes_refuse_get(client, setup, login, path):
    login(setup.people.alice)
    response = client.get(fill(path, setup.deal, setup.pipeline, setup.stages[1]))
    assert response.status_code == 405
    assert reload(Deal, setup.deal.id).deleted_at is None

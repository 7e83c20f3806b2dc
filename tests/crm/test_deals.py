"""Deal rules: the default pipeline, ranks and moves, won and lost, board totals, stage deletes."""

from __future__ import annotations

import datetime as dt

import pytest

from startvora.core import notify
from startvora.core.audit import AuditEvent
from startvora.core.tenancy import org_context, system_context
from startvora.crm import deal_notifications, deals
from startvora.crm.deal_schemas import DealIn, PipelineIn, StageIn
from startvora.crm.models import Deal, Pipeline, Stage
from startvora.crm.services import CrmError
from startvora.extensions import db as _db
from tests import factories


@pytest.fixture
def acme(people):
    """The services run scoped to Acme, as a request or a task would be."""
    with org_context(people.org_a.id):
        yield people


@pytest.fixture
def heard(app):
    """Names and payloads of the deal events delivered after each commit."""
    got: list[tuple[str, dict]] = []
    registry = app.extensions.setdefault("startvora.events", {})
    handler = (lambda event: got.append((event.name, event.payload)), False)
    for name in ("deal.won", "deal.lost", "crm.deal_moved"):
        registry.setdefault(name, []).append(handler)
    yield got
    for name in ("deal.won", "deal.lost", "crm.deal_moved"):
        registry[name].remove(handler)


def order(stage: Stage) -> list[str]:
    return list(
        _db.session.execute(
            _db.select(Deal.title).where(Deal.stage_id == stage.id).order_by(Deal.rank, Deal.id)
        ).scalars()
    )


def deal_in(stage: Stage, **values) -> DealIn:
    data = {"title": "Big one", "stage_id": stage.id, "value": "1000", **values}
    return DealIn.model_validate(data, context={"currency": "USD"})


# -- the default pipeline ------------------------------------------------------------------------


def test_default_pipeline_is_made_once(acme):
    org_id = acme.org_a.id
    pipeline = deals.ensure_default_pipeline(org_id)
    assert pipeline.name == "Sales"
    assert [(s.name, s.probability, s.kind) for s in pipeline.stages] == [
        ("New", 10, "open"),
        ("Qualified", 25, "open"),
        ("Proposal", 50, "open"),
        ("Negotiation", 75, "open"),
        ("Won", 100, "won"),
        ("Lost", 0, "lost"),
    ]
    assert deals.ensure_default_pipeline(org_id).id == pipeline.id
    assert len(deals.pipelines(org_id)) == 1


def test_default_pipeline_leaves_an_existing_one_alone(acme):
    mine = factories.make_pipeline(acme.org_a, name="Renewals")
    assert deals.ensure_default_pipeline(acme.org_a.id).id == mine.id
    assert [p.name for p in deals.pipelines(acme.org_a.id)] == ["Renewals"]


# -- saving --------------------------------------------------------------------------------------


def test_a_new_deal_goes_first_in_its_stage_and_keeps_its_history(acme):
    org = acme.org_a
    pipeline = factories.make_pipeline(org)
    new = pipeline.stages[0]
    factories.make_deal(org, pipeline, title="Older", rank=0)
    contact = factories.make_contact(org)
    deal = deals.save_deal(
        org.id,
        acme.carol.id,
        deal_in(new, value="1250.5", contact_id=contact.id, owner_id=acme.carol.id, tags="a, b"),
    )
    assert (deal.value_minor, deal.currency, deal.pipeline_id) == (125050, "USD", pipeline.id)
    assert (deal.contact_id, deal.owner_id, deal.tags, deal.search_name) == (
        contact.id,
        acme.carol.id,
        ["a", "b"],
        "big one",
    )
    assert order(new) == ["Big one", "Older"]
    same = {"contact_id": contact.id, "owner_id": acme.carol.id, "tags": "a, b"}
    deals.save_deal(
        org.id, acme.carol.id, deal_in(new, title="Bigger one", value="2000", **same), None, deal
    )
    _db.session.commit()
    actions = _db.session.execute(
        _db.select(AuditEvent.action, AuditEvent.summary)
        .where(AuditEvent.target_type == "Deal", AuditEvent.target_id == deal.id)
        .order_by(AuditEvent.id)
    ).all()
    assert actions == [("crm.deal_created", "Big one"), ("crm.deal_changed", "title, value")]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ("owner", "owner_id"),
        ("contact", "contact_id"),
        ("company", "company_id"),
        ("stage", "stage_id"),
        ("pipeline", "stage_id"),
    ],
)
def test_links_to_another_organization_or_pipeline_are_refused(acme, change, field):
    org = acme.org_a
    pipeline = factories.make_pipeline(org)
    other_pipeline = factories.make_pipeline(org, name="Renewals")
    with system_context("test: a row of the other organization"):
        theirs = factories.make_pipeline(acme.org_b)
        their_contact = factories.make_contact(acme.org_b)
        their_company = factories.make_company(acme.org_b)
    values = {
        "owner": {"owner_id": acme.charlie.id},
        "contact": {"contact_id": their_contact.id},
        "company": {"company_id": their_company.id},
        "stage": {"stage_id": theirs.stages[0].id},
        "pipeline": {"pipeline_id": pipeline.id, "stage_id": other_pipeline.stages[1].id},
    }[change]
    with pytest.raises(CrmError) as refused:
        deals.save_deal(org.id, acme.alice.id, deal_in(pipeline.stages[0], **values))
    assert refused.value.field == field
    if change == "pipeline":
        assert "another pipeline" in str(refused.value.message)
    _db.session.rollback()
    assert _db.session.execute(_db.select(_db.func.count(Deal.id))).scalar_one() == 0


@pytest.mark.parametrize(
    ("value", "currency", "message"),
    [
        ("abc", "USD", "Enter an amount like 1250.00."),
        ("-5", "USD", "The value cannot be negative."),
        ("10.005", "USD", "USD amounts have at most 2 decimals."),
        ("10.5", "JPY", "JPY amounts have no decimals."),
        ("1e20", "USD", "The value is too large."),
    ],
)
def test_bad_values_are_refused_with_a_clear_message(app, value, currency, message):
    from startvora.core.forms import parse

    with app.test_request_context():
        data, errors = parse(
            DealIn, {"title": "X", "stage_id": "1", "value": value, "currency": currency}
        )
    assert data is None and errors == {"value": message}


def test_values_use_the_currency_exponent(app):
    for value, currency, minor in (("12", "JPY", 12), ("1.234", "KWD", 1234), ("0.1", "EUR", 10)):
        data = DealIn.model_validate(
            {"title": "X", "stage_id": 1, "value": value, "currency": currency}
        )
        assert data.value_minor == minor
    data = DealIn.model_validate(
        {"title": "X", "stage_id": 1, "value": "1.234,5"},
        context={"currency": "EUR", "locale": "de"},
    )
    assert (data.currency, data.value_minor) == ("EUR", 123450)


# -- ranks and moves -----------------------------------------------------------------------------


def test_moves_put_a_deal_before_another_or_at_either_end(acme):
    org = acme.org_a
    pipeline = factories.make_pipeline(org)
    new, qualified = pipeline.stages[0], pipeline.stages[1]
    a, b, c = (
        factories.make_deal(org, pipeline, title=t, rank=i * deals.RANK_STEP)
        for i, t in enumerate("ABC")
    )
    d = factories.make_deal(org, pipeline, title="D", stage_id=qualified.id)
    deals.move_deal(org.id, acme.alice.id, c, new, before_id=b.id)
    assert order(new) == ["A", "C", "B"]
    deals.move_deal(org.id, acme.alice.id, a, new)  # no before: the end
    assert order(new) == ["C", "B", "A"]
    deals.move_deal(org.id, acme.alice.id, a, new, place="top")
    assert order(new) == ["A", "C", "B"]
    deals.move_deal(org.id, acme.alice.id, b, qualified, before_id=d.id)
    assert (order(new), order(qualified)) == (["A", "C"], ["B", "D"])
    # A stale "before" (a deal of another stage) puts the deal at the end, not elsewhere.
    deals.move_deal(org.id, acme.alice.id, a, qualified, before_id=c.id)
    assert order(qualified) == ["B", "D", "A"]


def test_ties_and_full_gaps_renumber_the_stage(acme):
    org = acme.org_a
    pipeline = factories.make_pipeline(org)
    new = pipeline.stages[0]
    made = [factories.make_deal(org, pipeline, title=str(i), rank=5) for i in range(4)]
    deals.move_deal(org.id, acme.alice.id, made[0], new, before_id=made[3].id)
    assert order(new) == ["1", "2", "0", "3"]
    ranks = [d.rank for d in sorted(made, key=lambda d: (d.rank, d.id))]
    assert ranks == sorted(set(ranks)), "ranks are distinct after renumbering"
    for _ in range(15):  # halving a gap of 1024 runs out after ten moves
        deals.move_deal(org.id, acme.alice.id, made[1], new, before_id=made[0].id)
        deals.move_deal(org.id, acme.alice.id, made[2], new, before_id=made[1].id)
    assert order(new)[-1] == "3" and len(order(new)) == 4


def test_a_deal_moves_only_within_its_pipeline(acme):
    org = acme.org_a
    pipeline = factories.make_pipeline(org)
    other = factories.make_pipeline(org, name="Renewals")
    deal = factories.make_deal(org, pipeline)
    with pytest.raises(CrmError):
        deals.move_deal(org.id, acme.alice.id, deal, other.stages[1])
    assert deal.stage_id == pipeline.stages[0].id


def test_won_and_lost_close_the_deal_and_emit_events_after_commit(acme, heard):
    org = acme.org_a
    pipeline = factories.make_pipeline(org)
    won, lost = pipeline.stages[4], pipeline.stages[5]
    deal = factories.make_deal(org, pipeline, owner_id=acme.carol.id)
    deals.move_deal(org.id, acme.alice.id, deal, won)
    assert deal.closed_at is not None and deal.lost_reason == ""
    assert heard == []  # nothing is announced before the commit
    _db.session.commit()
    assert [name for name, _payload in heard] == ["crm.deal_moved", "deal.won"]
    payload = heard[1][1]
    assert (payload["deal_id"], payload["actor_id"], payload["value_minor"]) == (
        deal.id,
        acme.alice.id,
        100000,
    )
    heard.clear()
    deals.move_deal(org.id, acme.alice.id, deal, lost, lost_reason="Too expensive")
    _db.session.commit()
    assert [n for n, _p in heard] == ["crm.deal_moved", "deal.lost"]
    assert deal.lost_reason == "Too expensive" and deal.closed_at is not None
    heard.clear()
    deals.move_deal(org.id, acme.alice.id, deal, pipeline.stages[2])
    _db.session.commit()
    assert [n for n, _p in heard] == ["crm.deal_moved"]
    assert deal.closed_at is None and deal.lost_reason == ""


def test_a_rolled_back_move_announces_nothing(acme, heard):
    org = acme.org_a
    pipeline = factories.make_pipeline(org)
    deal = factories.make_deal(org, pipeline)
    _db.session.commit()
    deals.move_deal(org.id, acme.alice.id, deal, pipeline.stages[4])
    _db.session.rollback()
    _db.session.commit()
    assert heard == []


def test_mark_won_mark_lost_and_reopen(acme, heard):
    org = acme.org_a
    pipeline = factories.make_pipeline(org)
    deal = factories.make_deal(org, pipeline)
    with pytest.raises(CrmError) as refused:
        deals.mark_lost(org.id, acme.alice.id, deal, "   ")
    assert refused.value.field == "reason" and deal.stage.kind == "open"
    deals.mark_lost(org.id, acme.alice.id, deal, "Went with a competitor")
    assert (deal.stage.kind, deal.lost_reason) == ("lost", "Went with a competitor")
    closed_at = deal.closed_at
    deals.mark_lost(org.id, acme.alice.id, deal, "Budget cut")  # a better reason, same close
    assert (deal.lost_reason, deal.closed_at) == ("Budget cut", closed_at)
    deals.mark_won(org.id, acme.alice.id, deal)
    assert (deal.stage.kind, deal.lost_reason) == ("won", "")
    deals.reopen_deal(org.id, acme.alice.id, deal)
    assert (deal.stage.id, deal.closed_at) == (pipeline.stages[0].id, None)
    _db.session.commit()
    assert [n for n, _p in heard if n.startswith("deal.")] == ["deal.lost", "deal.won"]
    history = _db.session.execute(
        _db.select(AuditEvent.action)
        .where(AuditEvent.target_type == "Deal", AuditEvent.target_id == deal.id)
        .order_by(AuditEvent.id)
    ).scalars()
    assert list(history) == [
        "crm.deal_lost",
        "crm.deal_changed",
        "crm.deal_won",
        "crm.deal_reopened",
    ]


def test_mark_won_needs_a_won_stage(acme):
    org = acme.org_a
    pipeline = factories.make_pipeline(org)
    deal = factories.make_deal(org, pipeline)
    won = pipeline.stages[4]
    deals.delete_stage(org.id, acme.alice.id, won)
    with pytest.raises(CrmError, match="no won stage"):
        deals.mark_won(org.id, acme.alice.id, _db.session.get(Deal, deal.id))


def test_deal_won_notifies_the_owner_and_admins_but_not_who_won_it(app, acme):
    if "deal.won" not in notify.kinds(app):  # the CRM's register() calls this once
        deal_notifications.register(app)
    org = acme.org_a
    admin = factories.make_member(org, "admin", name="Adam Admin")
    pipeline = factories.make_pipeline(org)
    deal = factories.make_deal(org, pipeline, title="Fleet renewal", owner_id=acme.carol.id)
    _db.session.commit()
    deals.mark_won(org.id, acme.alice.id, deal)
    _db.session.commit()
    rows = _db.session.execute(
        _db.select(notify.Notification.user_id, notify.Notification.title, notify.Notification.path)
    ).all()
    assert {user for user, _t, _p in rows} == {acme.carol.id, admin.id}
    assert rows[0][1] == "Deal won: Fleet renewal ($1,000.00)"
    assert rows[0][2] == f"/o/acme/crm/deals/{deal.id}"


# -- the board -----------------------------------------------------------------------------------


def test_board_counts_totals_and_weighted_values_to_the_cent(acme):
    org = acme.org_a
    pipeline = factories.make_pipeline(org)  # New 10%, Qualified 30%, Proposal 60%, ...
    qualified, proposal = pipeline.stages[1:3]
    factories.make_deal(org, pipeline, value_minor=1005)  # $10.05
    factories.make_deal(org, pipeline, value_minor=1010)  # $10.10
    factories.make_deal(org, pipeline, stage_id=qualified.id, value_minor=333)  # $3.33 x 30%
    factories.make_deal(org, pipeline, stage_id=proposal.id, value_minor=1_000_000, currency="EUR")
    gone = factories.make_deal(org, pipeline, value_minor=99_999)
    deals.trash_deal(org.id, acme.alice.id, gone)
    factories.make_deal(org, pipeline, stage_id=pipeline.stages[4].id, value_minor=500)
    board = deals.board(org.id, pipeline, "USD")
    cols = {c.stage.name: c for c in board.columns}
    assert [c.stage.name for c in board.columns] == ["New", "Qualified", "Proposal", "Negotiation"]
    assert [c.stage.kind for c in board.closed] == ["won", "lost"]
    assert (cols["New"].count, cols["New"].totals, cols["New"].weighted) == (
        2,
        {"USD": 2015},
        {"USD": 202},  # 20.15 x 10% = 2.015 -> 2.02, rounded half up
    )
    assert cols["Qualified"].weighted == {"USD": 100}  # 3.33 x 30% = 0.999 -> 1.00
    assert cols["Proposal"].totals == {"EUR": 1_000_000}  # no rates: a total per currency
    assert cols["Proposal"].weighted == {"EUR": 600_000}
    assert (cols["Negotiation"].count, cols["Negotiation"].totals) == (0, {})
    assert board.closed[0].count == 1 and board.closed[0].deals == []
    assert board.open_count == 4
    assert board.open_total == {"USD": 2348, "EUR": 1_000_000}  # the base currency first
    assert list(board.open_weighted) == ["USD", "EUR"]


def test_board_shows_the_first_cards_by_rank_and_filters_by_owner(acme):
    org = acme.org_a
    pipeline = factories.make_pipeline(org)
    for i in range(7):
        factories.make_deal(
            org, pipeline, title=f"D{i}", rank=-i, owner_id=acme.carol.id if i % 2 else None
        )
    board = deals.board(org.id, pipeline, "USD", limit=5)
    first = board.columns[0]
    assert [d.title for d in first.deals] == ["D6", "D5", "D4", "D3", "D2"]
    assert (first.count, first.more) == (7, 2)
    mine = deals.board(org.id, pipeline, "USD", owner_id=acme.carol.id)
    assert [d.title for d in mine.columns[0].deals] == ["D5", "D3", "D1"]


def test_weighted_rounds_half_up_in_the_currency_exponent():
    assert deals.weighted(1005, 50, "USD") == 503  # 5.025 -> 5.03
    assert deals.weighted(5, 50, "JPY") == 3  # 2.5 yen -> 3
    assert deals.weighted(1001, 25, "KWD") == 250  # 0.25025 -> 0.250
    assert deals.weighted(0, 75, "EUR") == 0


# -- pipelines and stages ------------------------------------------------------------------------


def test_stage_delete_is_refused_while_it_holds_deals_and_nothing_changes(acme):
    org = acme.org_a
    pipeline = factories.make_pipeline(org)
    new = pipeline.stages[0]
    deal = factories.make_deal(org, pipeline, title="Kept")
    factories.make_deal(org, pipeline, title="Kept too")
    _db.session.commit()
    before = [(s.id, s.name, s.position) for s in pipeline.stages]
    with pytest.raises(CrmError) as refused:
        deals.delete_stage(org.id, acme.alice.id, new)
    assert str(refused.value.message) == "Move its 2 deals to another stage first."
    _db.session.rollback()
    _db.session.expire_all()
    pipeline = _db.session.get(Pipeline, pipeline.id)
    assert [(s.id, s.name, s.position) for s in pipeline.stages] == before
    assert _db.session.get(Deal, deal.id).stage_id == new.id


def test_stage_delete_can_move_its_deals_first(acme, heard):
    org = acme.org_a
    pipeline = factories.make_pipeline(org)
    new, qualified, lost = pipeline.stages[0], pipeline.stages[1], pipeline.stages[5]
    factories.make_deal(org, pipeline, title="Q", stage_id=qualified.id)
    a = factories.make_deal(org, pipeline, title="A", rank=0)
    factories.make_deal(org, pipeline, title="B", rank=1)
    trashed = factories.make_deal(org, pipeline, title="T")
    deals.trash_deal(org.id, acme.alice.id, trashed)
    with pytest.raises(CrmError):
        deals.delete_stage(org.id, acme.alice.id, new, move_to=new)
    deals.delete_stage(org.id, acme.alice.id, new, move_to=qualified)
    _db.session.commit()
    assert order(qualified) == ["Q", "A", "B"]
    assert [s.position for s in pipeline.stages] == [0, 1, 2, 3, 4]
    with system_context("test: the trashed deal"):
        assert _db.session.get(Deal, trashed.id).stage_id == qualified.id
    # Moving deals into a lost stage closes them.
    deals.delete_stage(org.id, acme.alice.id, qualified, move_to=lost)
    _db.session.commit()
    assert _db.session.get(Deal, a.id).closed_at is not None
    assert [n for n, _p in heard].count("deal.lost") == 3


def test_a_pipeline_keeps_an_open_stage(acme):
    org = acme.org_a
    pipeline = factories.make_pipeline(org)
    for stage in pipeline.stages[1:4]:
        deals.delete_stage(org.id, acme.alice.id, stage)
    _db.session.expire(pipeline, ["stages"])
    last_open = pipeline.stages[0]
    with pytest.raises(CrmError, match="at least one open stage"):
        deals.delete_stage(org.id, acme.alice.id, last_open)
    with pytest.raises(CrmError, match="at least one open stage"):
        deals.save_stage(
            org.id, acme.alice.id, pipeline, StageIn(name="New", kind="won"), last_open
        )


def test_stage_kind_changes_only_when_empty_and_new_open_stages_go_before_won(acme):
    org = acme.org_a
    pipeline = factories.make_pipeline(org)
    factories.make_deal(org, pipeline)
    with pytest.raises(CrmError, match="before changing its kind"):
        deals.save_stage(
            org.id, acme.alice.id, pipeline, StageIn(name="New", kind="won"), pipeline.stages[0]
        )
    deals.save_stage(org.id, acme.alice.id, pipeline, StageIn(name="Demo", probability=40), None)
    assert [s.name for s in pipeline.stages] == [
        "New",
        "Qualified",
        "Proposal",
        "Negotiation",
        "Demo",
        "Won",
        "Lost",
    ]
    with pytest.raises(CrmError, match="already has a stage"):
        deals.save_stage(org.id, acme.alice.id, pipeline, StageIn(name=" demo "), None)
    demo = pipeline.stages[4]
    deals.shift_stage(org.id, acme.alice.id, demo, -1)
    assert [s.name for s in pipeline.stages][3:5] == ["Demo", "Negotiation"]
    ids = [s.id for s in reversed(pipeline.stages)]
    deals.reorder_stages(org.id, acme.alice.id, pipeline, ids)
    assert [s.id for s in pipeline.stages] == ids
    with pytest.raises(CrmError):
        deals.reorder_stages(org.id, acme.alice.id, pipeline, ids[1:])


def test_pipelines_are_named_once_and_deleted_only_when_empty(acme):
    org = acme.org_a
    sales = factories.make_pipeline(org)
    with pytest.raises(CrmError, match="Keep at least one pipeline"):
        deals.delete_pipeline(org.id, acme.alice.id, sales)
    renewals = deals.create_pipeline(org.id, acme.alice.id, PipelineIn(name="Renewals"))
    assert renewals.stages[0].name == "New" and renewals.position == 1
    with pytest.raises(CrmError, match="Another pipeline has this name"):
        deals.create_pipeline(org.id, acme.alice.id, PipelineIn(name="SALES"))
    deal = factories.make_deal(org, renewals)
    with pytest.raises(CrmError, match="Move its 1 deal"):
        deals.delete_pipeline(org.id, acme.alice.id, renewals)
    deals.trash_deal(org.id, acme.alice.id, deal)
    with pytest.raises(CrmError, match="in the trash"):
        deals.delete_pipeline(org.id, acme.alice.id, renewals)
    deals.rename_pipeline(org.id, acme.alice.id, sales, PipelineIn(name="New business"))
    _db.session.commit()
    assert [p.name for p in deals.pipelines(org.id)] == ["New business", "Renewals"]


def test_expected_close_is_kept_as_a_date(acme):
    org = acme.org_a
    pipeline = factories.make_pipeline(org)
    deal = deals.save_deal(
        org.id, acme.alice.id, deal_in(pipeline.stages[0], expected_close="2026-03-31")
    )
    assert deal.expected_close == dt.date(2026, 3, 31)

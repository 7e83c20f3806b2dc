"""The deal board in a real browser: drag a card to another stage and see the columns' counts
and totals change; the Move menu does the same from the keyboard; a lost drop asks why."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from startvora.core.tenancy import org_context
from startvora.extensions import db
from tests import factories
from tests.browser.conftest import check_accessibility, sign_in

pytestmark = pytest.mark.browser


def seed_deals(live_server) -> dict[str, object]:
    who = live_server.seed()
    with live_server.app.app_context():
        from startvora.orgs.models import Organization

        org = db.session.execute(db.select(Organization)).scalar_one()
        with org_context(org.id):
            pipeline = factories.make_pipeline(org)
            globex = factories.make_company(org, name="Globex")
            factories.make_deal(
                org, pipeline, title="Globex fleet", value_minor=1_250_000, company_id=globex.id
            )
            factories.make_deal(org, pipeline, title="Initech pilot", value_minor=300_000, rank=1)
            factories.make_deal(
                org,
                pipeline,
                title="Umbrella audit",
                value_minor=800_000,
                stage_id=pipeline.stages[1].id,
            )
            db.session.commit()
            who["stages"] = {s.name: s.id for s in pipeline.stages}
    return who


def column(page: Page, stage_id: int):
    return page.locator(f"[data-column='{stage_id}']")


def test_drag_a_deal_to_another_stage_updates_both_columns(live_server, page: Page, width):
    who = seed_deals(live_server)
    stages = who["stages"]
    sign_in(page, live_server.url, who["email"], who["password"])
    page.goto(live_server.url + "/o/acme/crm/deals")
    new, qualified = column(page, stages["New"]), column(page, stages["Qualified"])
    expect(new.locator("[data-count]")).to_have_text("2")
    expect(new.locator("[data-total]")).to_have_text("€15,500.00")
    expect(qualified.locator("[data-count]")).to_have_text("1")
    expect(qualified.locator("[data-weighted]")).to_contain_text("€2,400.00")  # 8,000 x 30%
    check_accessibility(page)

    card = new.locator(".deal-card", has_text="Globex fleet")
    target = qualified.locator(".deal-card", has_text="Umbrella audit")
    # SortableJS follows the pointer move by move; the top edge of a card drops before it.
    card.drag_to(target, steps=12, target_position={"x": 40, "y": 3})

    # No reload: the board region refreshes itself from the server's answer.
    expect(new.locator("[data-count]")).to_have_text("1")
    expect(new.locator("[data-total]")).to_have_text("€3,000.00")
    expect(qualified.locator("[data-count]")).to_have_text("2")
    expect(qualified.locator("[data-total]")).to_have_text("€20,500.00")
    expect(qualified.locator("[data-weighted]")).to_contain_text("€6,150.00")
    expect(qualified.locator(".deal-card").first).to_contain_text("Globex fleet")
    page.reload()  # and it is saved
    expect(column(page, stages["Qualified"]).locator("[data-count]")).to_have_text("2")


def test_move_menu_from_the_keyboard(live_server, page: Page, width):
    who = seed_deals(live_server)
    stages = who["stages"]
    sign_in(page, live_server.url, who["email"], who["password"])
    page.goto(live_server.url + "/o/acme/crm/deals")
    page.get_by_role("link", name="Move Initech pilot to another stage").focus()
    page.keyboard.press("Enter")
    dialog = page.locator("#modal")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text("Move Initech pilot")
    check_accessibility(page)
    dialog.get_by_label("Proposal").check()
    dialog.get_by_role("button", name="Move").press("Enter")
    expect(dialog).to_be_hidden()
    proposal = column(page, stages["Proposal"])
    expect(proposal.locator("[data-count]")).to_have_text("1")
    expect(proposal.locator("[data-total]")).to_have_text("€3,000.00")
    expect(column(page, stages["New"]).locator("[data-count]")).to_have_text("1")


def test_dropping_on_lost_asks_why(live_server, page: Page, width):
    who = seed_deals(live_server)
    stages = who["stages"]
    sign_in(page, live_server.url, who["email"], who["password"])
    page.goto(live_server.url + "/o/acme/crm/deals")
    card = column(page, stages["New"]).locator(".deal-card", has_text="Initech pilot")
    card.drag_to(column(page, stages["Lost"]), steps=12)
    dialog = page.locator("#lost-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Reason").fill("Chose a competitor")
    dialog.get_by_role("button", name="Mark as lost").click()
    expect(column(page, stages["Lost"]).locator("[data-count]")).to_have_text("1")
    expect(column(page, stages["New"]).locator("[data-count]")).to_have_text("1")
    page.goto(live_server.url + "/o/acme/crm/deals/list?f_status=lost")
    expect(page.locator("#deals-list")).to_contain_text("Initech pilot")

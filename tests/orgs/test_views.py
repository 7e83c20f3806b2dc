"""Dashboard, members list, export and removal: the mandatory view tests and the rules."""

from __future__ import annotations

import csv
import io

import pytest

from startvora.extensions import db as _db
from startvora.orgs.models import Membership

VIEWS = ["/o/acme/", "/o/acme/members"]
WRITES = ["/o/acme/members/export", "/o/acme/members/remove"]


def member_id(org, user):
    return _db.session.execute(
        _db.select(Membership.id).where(Membership.org_id == org.id, Membership.user_id == user.id)
    ).scalar_one()


@pytest.mark.parametrize("url", VIEWS)
def test_it_works(client, people, login, url):
    login(people.bob)
    response = client.get(url)
    assert response.status_code == 200
    assert "Acme Trading" in response.get_data(as_text=True)


@pytest.mark.parametrize("url", VIEWS + WRITES)
def test_it_requires_login(client, people, url):
    response = client.get(url) if url in VIEWS else client.post(url)
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/sign-in")


@pytest.mark.parametrize("url", VIEWS)
def test_it_hides_other_orgs(client, people, login, url):
    login(people.charlie)
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("url", WRITES)
@pytest.mark.parametrize("who", ["bob", "carol"])
def test_it_requires_admin(client, people, login, csrf_token, url, who):
    login(getattr(people, who))
    ids = [member_id(people.org_a, people.alice)]
    response = client.post(url, data={"csrf_token": csrf_token(), "ids": ids})
    assert response.status_code == 403
    assert _db.session.get(Membership, ids[0]) is not None


def test_htmx_returns_fragment(client, people, login):
    login(people.alice)
    response = client.get("/o/acme/members?q=carol", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert "<html" not in body and "Carol Member" in body and "Bob Viewer" not in body
    assert "HX-Request" in response.headers["Vary"]


def test_dashboard_shows_widgets_by_permission(client, people, login):
    login(people.alice)
    html = client.get("/o/acme/").get_data(as_text=True)
    assert "Your organization" in html and "Team" in html and "System" in html
    login(people.bob)
    html = client.get("/o/acme/").get_data(as_text=True)
    assert "Team" in html and "Background jobs waiting" not in html


def test_dashboard_formats_for_the_org_locale(client, people, login):
    people.org_a.locale, people.org_a.currency, people.org_a.timezone = "de", "EUR", "Asia/Tokyo"
    _db.session.commit()
    login(people.alice)
    html = client.get("/o/acme/").get_data(as_text=True)
    assert "1.234.567,89\xa0€" in html and "Asia/Tokyo" in html
    assert 'lang="de"' in html


def test_nav_shows_only_what_exists_and_marks_current(client, people, login):
    login(people.alice)
    html = client.get("/o/acme/members").get_data(as_text=True)
    assert '<a href="/o/acme/members" aria-current="page">' in html
    assert 'href="/o/acme/"' in html


def test_export_selected_and_filtered(client, people, login, csrf_token):
    login(people.alice)
    people.carol.name = "=HYPERLINK(1)"
    _db.session.commit()
    ids = [member_id(people.org_a, people.carol)]
    response = client.post("/o/acme/members/export", data={"csrf_token": csrf_token(), "ids": ids})
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["Name", "Email", "Role", "Joined"]
    assert rows[1][0] == "'=HYPERLINK(1)" and len(rows) == 2
    everyone = client.post(
        "/o/acme/members/export", data={"csrf_token": csrf_token(), "f_role": "viewer"}
    )
    rows = list(csv.reader(io.StringIO(everyone.get_data(as_text=True))))
    assert [r[1] for r in rows[1:]] == [people.bob.email]


def test_remove_members(client, people, login, csrf_token):
    login(people.alice)
    bob = member_id(people.org_a, people.bob)
    charlie = member_id(people.org_b, people.charlie)  # another org's id is ignored
    response = client.post(
        "/o/acme/members/remove", data={"csrf_token": csrf_token(), "ids": [bob, charlie]}
    )
    assert response.status_code == 303
    assert _db.session.get(Membership, bob) is None
    assert _db.session.get(Membership, charlie) is not None
    assert "Removed 1 person." in client.get(response.headers["Location"]).get_data(as_text=True)


def test_the_last_owner_stays(client, people, login, csrf_token):
    login(people.alice)
    alice = member_id(people.org_a, people.alice)
    response = client.post(
        "/o/acme/members/remove", data={"csrf_token": csrf_token(), "ids": [alice]}
    )
    follow = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "at least one owner" in follow
    assert _db.session.get(Membership, alice) is not None


def test_only_owners_remove_owners(client, people, login, csrf_token):
    from tests import factories

    admin = factories.make_member(people.org_a, "admin")
    _db.session.commit()
    login(admin)
    alice = member_id(people.org_a, people.alice)
    response = client.post(
        "/o/acme/members/remove", data={"csrf_token": csrf_token(), "ids": [alice]}
    )
    assert "Only an owner can remove" in client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    assert _db.session.get(Membership, alice) is not None


def test_remove_with_nothing_ticked(client, people, login, csrf_token):
    login(people.alice)
    response = client.post("/o/acme/members/remove", data={"csrf_token": csrf_token()})
    assert "Select at least one" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_about_lists_vendored_components(client, people, login):
    login(people.carol)
    part = client.get("/about", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in part and "htmx.org" in part and "0BSD" in part
    assert "axe-core" not in part  # a test-only file is not part of the product


def test_person_without_org(client, db, login):
    from tests import factories

    loner = factories.make_user()
    _db.session.commit()
    login(loner)
    response = client.get("/home")
    assert response.status_code == 200 and "not in any organization" in response.get_data(
        as_text=True
    )


def test_owners_removing_each_other_at_once_keep_one(app, people):
    import threading

    from startvora.orgs import services
    from tests import factories

    second = factories.make_member(people.org_a, "owner")
    _db.session.commit()
    pairs = [(people.alice, second), (second, people.alice)]
    flushed = threading.Event()
    outcome = {}

    def remove(actor_user, target_user, first):
        with app.app_context():
            actor = _db.session.get(Membership, member_id(people.org_a, actor_user))
            target = member_id(people.org_a, target_user)
            try:
                services.remove_members(actor.org, actor, [target])
                if first:
                    flushed.set()
                    threading.Event().wait(0.3)  # hold the write lock a moment
                _db.session.commit()
                outcome[first] = "removed"
            except services.LastOwnerError:
                _db.session.rollback()
                outcome[first] = "refused"
            finally:
                _db.session.remove()

    a = threading.Thread(target=remove, args=(*pairs[0], True))
    a.start()
    flushed.wait(5)
    b = threading.Thread(target=remove, args=(*pairs[1], False))
    b.start()
    a.join()
    b.join()
    assert outcome == {True: "removed", False: "refused"}
    owners = _db.session.execute(
        _db.select(_db.func.count()).where(
            Membership.org_id == people.org_a.id, Membership.role == "owner"
        )
    ).scalar_one()
    assert owners == 1


@pytest.mark.parametrize("bad", ["²", "99999999999999999999999", "-1", "1.5", ""])
def test_odd_ids_are_ignored(client, people, login, csrf_token, bad):
    login(people.alice)
    response = client.post(
        "/o/acme/members/remove", data={"csrf_token": csrf_token(), "ids": [bad]}
    )
    assert response.status_code == 303
    assert "Select at least one" in client.get(response.headers["Location"]).get_data(as_text=True)

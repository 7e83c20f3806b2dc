"""Notifications: who is told about what, preferences, organization channels (a real HTTP
server on 127.0.0.1 behind apprise), the inbox, and the live stream."""

from __future__ import annotations

import html
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from startvora.auth.models import User
from startvora.core import live, mail, notify, tasks
from startvora.core.db import utcnow
from startvora.core.tenancy import org_context
from startvora.extensions import db as _db
from startvora.orgs.models import Invitation, Membership
from tests import factories
from tests.conftest import csrf_of, text_part

SECRET = "s3cr3t-t0ken-4711"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def hook_server() -> Iterator[tuple[int, list[tuple[str, dict]]]]:
    """A real HTTP server on 127.0.0.1 that keeps every JSON body posted to it."""
    received: list[tuple[str, dict]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            received.append((self.path, json.loads(self.rfile.read(length) or b"{}")))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass  # quiet test output

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], received
    server.shutdown()
    server.server_close()


@pytest.fixture
def admin(people) -> User:
    """A second administrator of acme, besides alice (the owner)."""
    user = factories.make_member(people.org_a, "admin", name="Dora Admin")
    _db.session.commit()
    return user


def titles(org, user) -> list[str]:
    with org_context(org.id):
        return [n.title for n in notify.inbox(org.id, user.id)]


def invite(client, token: str, email: str = "dan@example.com", role: str = "member"):
    return client.post(
        "/o/acme/invitations", data={"csrf_token": token, "email": email, "role": role}
    )


def shared_link(client) -> str:
    page = client.get("/o/acme/members").get_data(as_text=True)
    return re.search(r'id="invite-link">https?://[^/]+(/invitations/accept\?t=[^<]+)<', page)[1]


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def notification(org, user, **values):
    with org_context(org.id):
        return factories.make_notification(org, user, **values)


def channel(org, **values):
    with org_context(org.id):
        return factories.make_channel(org, **values)


def reload(model, object_id, org):
    """The row as stored now (None when deleted)."""
    with org_context(org.id):
        _db.session.expire_all()
        return _db.session.execute(
            _db.select(model).where(model.id == object_id)
        ).scalar_one_or_none()


def failed_job(task: str = "startvora.core.tasks.prune_jobs", **payload) -> dict:
    return {"job_id": "no-such-job", "task": task, **payload}


# -- who is told about what ---------------------------------------------------------------------


def test_an_invitation_notifies_the_other_admins_not_the_inviter(
    client, people, login, csrf_token, admin
):
    login(people.alice)
    assert invite(client, csrf_token()).status_code == 303
    assert titles(people.org_a, admin) == ["Alice Owner invited dan@example.com as member"]
    assert titles(people.org_a, people.alice) == []  # the inviter knows
    assert titles(people.org_a, people.carol) == titles(people.org_a, people.bob) == []
    with org_context(people.org_a.id):
        [item] = notify.inbox(people.org_a.id, admin.id)
    assert (item.event, item.path, item.read_at) == ("member.invited", "/o/acme/members", None)
    with org_context(people.org_a.id):
        told = _db.session.execute(_db.select(live.LiveEvent.topic, live.LiveEvent.user_id))
        # open members pages reload their list; dora's bell counts one more
        assert sorted(told, key=str) == [("members", None), ("notifications", admin.id)]


def test_a_member_joining_notifies_the_admins(client, people, login, csrf_token, admin):
    login(people.alice)
    invite(client, csrf_token(), email=people.charlie.email)
    path = shared_link(client)
    login(people.charlie)
    assert client.post(path, data={"csrf_token": csrf_token()}).status_code == 303
    joined = "Charlie Other joined as member"
    assert titles(people.org_a, people.alice) == [joined]
    invited = f"Alice Owner invited {people.charlie.email} as member"
    assert titles(people.org_a, admin) == [joined, invited]  # newest first
    assert joined not in titles(people.org_a, people.charlie)
    assert titles(people.org_a, people.carol) == []
    membership_id = _db.session.execute(
        _db.select(Membership.id)
        .where(Membership.user_id == people.charlie.id)
        .where(Membership.org_id == people.org_a.id)
    ).scalar_one()
    with org_context(people.org_a.id):
        [item] = notify.inbox(people.org_a.id, people.alice.id)
    assert item.path == f"/o/acme/members/{membership_id}"


def test_each_kind_has_its_default_channels(app, people):
    declared = {
        k.event: (k.defaults, k.permission, str(k.label)) for k in notify.kinds(app).values()
    }
    assert {
        "member.invited": (frozenset({"app"}), "org:admin", "Someone is invited"),
        "member.joined": (frozenset({"app", "email"}), "org:admin", "Someone joins"),
        "job.failed": (frozenset({"app", "email"}), "org:admin", "A background job fails"),
    }.items() <= declared.items()  # other modules add their own kinds
    with org_context(people.org_a.id):
        for kind in notify.kinds(app).values():
            assert notify.wants(people.org_a.id, people.alice.id, kind) == set(kind.defaults)


def checked(page: str) -> set[str]:
    return set(re.findall(r'name="([\w.]+:\w+)"[^>]*? checked', page))


def test_preferences_are_saved_and_app_off_stops_in_app_notifications(
    client, people, login, csrf_token, admin
):
    prefs = "/o/acme/notifications/preferences"
    login(admin)
    page = text(client.get(prefs))
    assert "Someone is invited" in page and "A background job fails" in page
    assert {
        "member.invited:app",
        "member.joined:app",
        "member.joined:email",
        "job.failed:app",
        "job.failed:email",
    } <= checked(page)
    response = client.post(
        prefs,
        data={
            "csrf_token": csrf_token(),
            "member.joined:app": "on",
            "job.failed:email": "on",
            "unknown.event:app": "on",
        },
    )
    assert response.status_code == 303 and response.headers["Location"] == prefs
    page = text(client.get(prefs))
    assert "Notification settings saved." in page
    assert {c for c in checked(page) if c.startswith(("member.", "job."))} == {
        "member.joined:app",
        "job.failed:email",
    }
    kinds = notify.kinds()
    with org_context(people.org_a.id):
        assert notify.wants(people.org_a.id, admin.id, kinds["member.invited"]) == set()
        assert notify.wants(people.org_a.id, admin.id, kinds["member.joined"]) == {"app"}
        assert notify.wants(people.org_a.id, admin.id, kinds["job.failed"]) == {"email"}
        # others keep the defaults
        assert notify.wants(people.org_a.id, people.alice.id, kinds["member.invited"]) == {"app"}
        stored = _db.session.execute(
            _db.select(notify.Preference.event).where(notify.Preference.user_id == admin.id)
        ).scalars()
        assert "unknown.event" not in set(stored)

    login(people.alice)
    invite(client, csrf_token())
    assert titles(people.org_a, admin) == []  # "in Startvora" is off for invitations


def test_a_role_sees_only_the_kinds_it_may_choose(client, people, login, csrf_token):
    prefs = "/o/acme/notifications/preferences"
    login(people.carol)
    page = text(client.get(prefs))
    assert "A background job fails" not in page and "Someone joins" not in page
    assert client.post(prefs, data={"csrf_token": csrf_token()}).status_code == 303


def wait_for(box: list, count: int, timeout: float = 5.0) -> list:
    deadline = time.monotonic() + timeout
    while len(box) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(box) >= count, f"{len(box)} of {count} emails arrived"
    return box


def test_email_preference_sends_through_the_outbox(mail_app):
    box = mail_app.config["TEST_MAILBOX"]
    with mail_app.app_context():
        alice = _db.session.get(User, mail_app.config["TEST_OWNER_ID"])
        org_id = alice.memberships[0].org_id
        org = alice.memberships[0].org
        dora = factories.make_member(org, "admin", name="Dora Admin", email="dora@acme.test")
        with org_context(org_id):
            notify.set_preferences(org_id, dora.id, {"member.invited": {"email"}})
        _db.session.commit()
        dora_id, alice_session_id = dora.id, alice.get_id()
    owner = mail_app.test_client()
    with owner.session_transaction() as session:
        session["_user_id"] = alice_session_id
    assert invite(owner, csrf_of(owner)).status_code == 303

    wait_for(box, 2)  # the invitation itself, and the notification to dora
    [message] = [m for m in box if m["To"] == "dora@acme.test"]
    assert message["Subject"] == "Alice Owner invited dan@example.com as member"
    assert message["From"] == "Startvora <office@example.com>"  # the instance's server
    body = text_part(message)
    assert "Alice Owner invited dan@example.com as member" in body
    assert re.search(r"https?://[^/\s]+/o/acme/members\b", body)
    with mail_app.app_context(), org_context(org_id):
        [sent] = [m for m in mail.outbox_for(org_id) if m.to_address == "dora@acme.test"]
        assert (sent.status, sent.attempts) == ("sent", 1)
        assert notify.inbox(org_id, dora_id) == []  # email only, as chosen


def test_a_failing_email_job_is_not_emailed_about(client, people, smtp_server, admin):
    """Otherwise a broken mail server makes every failed email announce itself by email."""
    port, received = smtp_server
    with org_context(people.org_a.id):
        _db.session.add(
            mail.MailServer(host="127.0.0.1", port=port, security="none", from_address="a@b.test")
        )
        _db.session.commit()
    notify.dispatch.call_local(people.org_a.id, "job.failed", failed_job())
    wait_for(received, 2)  # alice and dora, by default
    assert sorted(m["To"] for m in received) == sorted([people.alice.email, admin.email])

    notify.dispatch.call_local(
        people.org_a.id, "job.failed", failed_job("startvora.core.mail.deliver_email")
    )
    assert titles(people.org_a, admin) == [
        "A background job failed: Send email",  # told in Startvora, not by email
        "A background job failed: Forget finished jobs",
    ]
    assert len(mail.outbox_for(people.org_a.id)) == 2 and len(received) == 2


# -- dispatch is idempotent ---------------------------------------------------------------------


def test_dispatch_twice_with_the_same_event_notifies_once(people, admin, hook_server):
    port, posted = hook_server
    channel(people.org_a, url=f"json://127.0.0.1:{port}/all")
    with org_context(people.org_a.id):
        invitation = Invitation(
            org_id=people.org_a.id,
            email="eve@example.com",
            role="viewer",
            invited_by_id=people.alice.id,
            token_hash="0" * 64,
            expires_at=utcnow(),
        )
        _db.session.add(invitation)
        _db.session.commit()
    payload = {"invitation_id": invitation.id, "role": "viewer", "event_id": "e" * 32}
    notify.dispatch.call_local(people.org_a.id, "member.invited", payload)
    notify.dispatch.call_local(people.org_a.id, "member.invited", dict(payload))
    assert titles(people.org_a, admin) == ["Alice Owner invited eve@example.com as viewer"]
    assert len(posted) == 1
    with org_context(people.org_a.id):
        handled = _db.session.execute(_db.select(notify.HandledEvent.event_id)).scalars().all()
    assert handled == ["e" * 32]


# -- channels -------------------------------------------------------------------------------------

CHANNELS = "/o/acme/settings/channels"


def test_a_channel_is_added_and_its_url_never_shown_again(
    client, people, login, csrf_token, hook_server
):
    port, posted = hook_server
    url = f"json://hook:{SECRET}@127.0.0.1:{port}/team"
    login(people.alice)
    response = client.post(
        CHANNELS,
        data={
            "csrf_token": csrf_token(),
            "name": "Team chat",
            "url": url,
            "events": ["member.invited", "not.a.kind"],
        },
    )
    assert response.status_code == 303 and response.headers["Location"] == CHANNELS
    with org_context(people.org_a.id):
        [stored] = _db.session.execute(_db.select(notify.Channel)).scalars().all()
    assert (stored.name, stored.url, stored.service, stored.events, stored.enabled) == (
        "Team chat",
        url,
        "JSON",
        ["member.invited"],
        True,
    )
    assert stored.display_url.startswith(f"json://hook:****@127.0.0.1:{port}/team")
    assert SECRET not in stored.display_url

    page = text(client.get(CHANNELS))
    assert "Channel added." in page and stored.display_url in page
    assert "Someone is invited" in page  # the events it hears
    client.post(f"{CHANNELS}/{stored.id}/test", data={"csrf_token": csrf_token()})
    assert len(posted) == 1
    for url_seen in (CHANNELS, "/o/acme/audit", "/o/acme/settings"):
        assert SECRET not in client.get(url_seen).get_data(as_text=True), url_seen


def test_send_test_delivers_now(client, people, login, csrf_token, hook_server):
    port, posted = hook_server
    hook = channel(people.org_a, url=f"json://127.0.0.1:{port}/hook", last_error="old")
    _db.session.commit()
    login(people.alice)
    response = client.post(f"{CHANNELS}/{hook.id}/test", data={"csrf_token": csrf_token()})
    assert response.status_code == 303
    [(path, body)] = posted
    assert path == "/hook" and body["title"] == "Test from Acme Trading"
    assert body["message"] == "Alice Owner sent this test from Startvora."
    assert "Test message sent to Team chat." in text(client.get(CHANNELS))
    assert reload(notify.Channel, hook.id, people.org_a).last_error == ""


def test_an_event_reaches_only_the_channels_that_hear_it(
    client, people, login, csrf_token, hook_server
):
    port, posted = hook_server
    base = f"json://127.0.0.1:{port}"
    channel(people.org_a, name="Invites", url=f"{base}/invited", events=["member.invited"])
    channel(people.org_a, name="Joins", url=f"{base}/joined", events=["member.joined"])
    every = channel(people.org_a, name="Everything", url=f"{base}/all")
    channel(people.org_a, name="Paused", url=f"{base}/paused", enabled=False)
    channel(people.org_b, name="Bravo", url=f"{base}/bravo")
    _db.session.commit()
    login(people.alice)
    invite(client, csrf_token())
    assert sorted(path for path, _body in posted) == ["/all", "/invited"]
    for _path, body in posted:
        assert body["title"] == "Alice Owner invited dan@example.com as member"
        assert re.fullmatch(r"https?://[^/\s]+/o/acme/members", body["message"])
    assert reload(notify.Channel, every.id, people.org_a).last_sent_at is not None


def test_a_channel_that_is_down_says_why_and_is_retried(client, people, login, csrf_token):
    down = channel(people.org_a, url=f"json://127.0.0.1:{free_port()}/hook")
    _db.session.commit()
    reason = "A Connection error occurred sending JSON notification to 127.0.0.1."
    login(people.alice)
    response = client.post(f"{CHANNELS}/{down.id}/test", data={"csrf_token": csrf_token()})
    assert response.status_code == 303
    page = text(client.get(CHANNELS))
    assert f"The test message was not delivered: {reason}" in page and "Failing" in page
    assert reload(notify.Channel, down.id, people.org_a).last_error == reason

    with org_context(people.org_a.id):
        _db.session.execute(_db.update(notify.Channel).values(last_error=""))
        _db.session.commit()
    with pytest.raises(notify.ChannelError, match="A Connection error occurred"):
        notify.send_to_channel.call_local(people.org_a.id, down.id, "job.failed", failed_job())
    assert reload(notify.Channel, down.id, people.org_a).last_error == reason
    notify.send_to_channel(people.org_a.id, down.id, "job.failed", failed_job())  # the queue
    retries = [t for t in tasks.huey.scheduled() if tuple(t.args)[:2] == (people.org_a.id, down.id)]
    assert len(retries) == 1 and retries[0].retries == 4


@pytest.mark.parametrize("url", ["not a url", "foo://bar", "json://", "  "])
def test_a_malformed_url_is_refused(client, people, login, csrf_token, url):
    login(people.alice)
    response = client.post(
        CHANNELS, data={"csrf_token": csrf_token(), "name": "Broken", "url": url}
    )
    assert response.status_code == 422
    page = text(response)
    assert 'id="f-url-error"' in page
    assert "This is not a channel URL Startvora can use." in page or "required" in page
    assert f'value="{url}"' not in page
    with org_context(people.org_a.id):
        assert _db.session.execute(_db.select(notify.Channel)).first() is None


def test_htmx_gets_the_add_form_fragment(client, people, login, csrf_token):
    login(people.alice)
    response = client.post(
        CHANNELS,
        data={"csrf_token": csrf_token(), "name": "Broken", "url": "foo://bar"},
        headers={"HX-Request": "true"},
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" not in body
    assert "This is not a channel URL Startvora can use." in body


def test_channels_are_paused_resumed_and_removed(client, people, login, csrf_token):
    hook_id = channel(people.org_a).id
    _db.session.commit()
    login(people.alice)
    token = csrf_token()
    client.post(f"{CHANNELS}/{hook_id}/toggle", data={"csrf_token": token})
    assert reload(notify.Channel, hook_id, people.org_a).enabled is False
    assert "Paused" in text(client.get(CHANNELS))
    client.post(f"{CHANNELS}/{hook_id}/toggle", data={"csrf_token": token})
    assert reload(notify.Channel, hook_id, people.org_a).enabled is True
    response = client.post(f"{CHANNELS}/{hook_id}/delete", data={"csrf_token": token})
    assert response.status_code == 303
    assert reload(notify.Channel, hook_id, people.org_a) is None
    assert "org.channel_removed" in text(client.get("/o/acme/audit"))


@pytest.mark.parametrize("action", ["test", "toggle", "delete"])
def test_another_orgs_channel_is_not_found(client, people, login, csrf_token, action):
    theirs = channel(people.org_b)
    _db.session.commit()
    login(people.alice)
    response = client.post(f"{CHANNELS}/{theirs.id}/{action}", data={"csrf_token": csrf_token()})
    assert response.status_code == 404
    stored = reload(notify.Channel, theirs.id, people.org_b)
    assert stored is not None and stored.enabled


# -- the inbox ------------------------------------------------------------------------------------

INBOX = "/o/acme/notifications"


def test_the_inbox_lists_and_opening_marks_read_and_goes_there(client, people, login, csrf_token):
    first = notification(people.org_a, people.alice, title="Dan joined", path="/o/acme/members")
    notification(people.org_a, people.alice, title="Invoice paid", body="INV-7 by Bravo")
    notification(people.org_a, people.carol, title="For Carol only")
    _db.session.commit()
    login(people.alice)
    page = text(client.get(INBOX))
    assert "Dan joined" in page and "Invoice paid" in page and "INV-7 by Bravo" in page
    assert "For Carol only" not in page and "2 unread at Acme Trading." in page
    assert page.index("Invoice paid") < page.index("Dan joined")  # newest first

    response = client.post(f"{INBOX}/{first.id}/open", data={"csrf_token": csrf_token()})
    assert response.status_code == 303 and response.headers["Location"] == "/o/acme/members"
    assert reload(notify.Notification, first.id, people.org_a).read_at is not None
    with org_context(people.org_a.id):
        assert notify.unread_count(people.org_a.id, people.alice.id) == 1
    htmx = client.post(
        f"{INBOX}/{first.id}/open",
        data={"csrf_token": csrf_token()},
        headers={"HX-Request": "true"},
    )
    assert htmx.status_code == 204 and htmx.headers["HX-Redirect"] == "/o/acme/members"


@pytest.mark.parametrize(
    "path", ["//evil.test", "https://evil.test/x", "/\\evil.test", "javascript:alert(1)", ""]
)
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_opening_never_leaves_the_site(client, people, login, csrf_token, path, htmx):
    item = notification(people.org_a, people.alice, path=path)
    _db.session.commit()
    login(people.alice)
    response = client.post(
        f"{INBOX}/{item.id}/open",
        data={"csrf_token": csrf_token()},
        headers={"HX-Request": "true"} if htmx else {},
    )
    # Browsers read "/\\evil.test" as "//evil.test": another site.
    target = response.headers["HX-Redirect" if htmx else "Location"]
    assert target == INBOX
    assert reload(notify.Notification, item.id, people.org_a).read_at is not None


def test_mark_all_read(client, people, login, csrf_token):
    for n in range(3):
        notification(people.org_a, people.alice, title=f"Note {n}")
    theirs = notification(people.org_a, people.carol, title="Carol's")
    _db.session.commit()
    login(people.alice)
    response = client.post(f"{INBOX}/read", data={"csrf_token": csrf_token()})
    assert response.status_code == 303 and response.headers["Location"] == INBOX
    page = text(client.get(INBOX))
    assert "All notifications are read." in page and "Nothing unread at Acme Trading." in page
    with org_context(people.org_a.id):
        assert notify.unread_count(people.org_a.id, people.alice.id) == 0
        assert notify.unread_count(people.org_a.id, people.carol.id) == 1
        told = _db.session.execute(_db.select(live.LiveEvent.topic, live.LiveEvent.user_id)).all()
    assert told == [("notifications", people.alice.id)]  # other open pages update their bell
    assert reload(notify.Notification, theirs.id, people.org_a).read_at is None


def test_older_notifications_come_by_page(client, people, login):
    items = [notification(people.org_a, people.alice, title=f"Note #{n:02d}") for n in range(35)]
    _db.session.commit()
    login(people.alice)
    page = text(client.get(INBOX))
    assert page.count('class="notification"') == 30
    assert "Note #34" in page and "Note #05" in page and "Note #04" not in page
    older = f"{INBOX}?before={items[5].id}"
    assert f'href="{older}"' in page
    part = client.get(older, headers={"HX-Request": "true"})
    body = text(part)
    assert part.status_code == 200 and "<html" not in body
    assert body.count('class="notification"') == 5 and "Note #04" in body and "Note #00" in body
    assert "Note #05" not in body and "before=" not in body  # the last page
    full = text(client.get(older))
    assert "<html" in full and full.count('class="notification"') == 5


def test_the_bell_badge(client, people, login):
    login(people.alice)
    assert client.get("/o/acme/live/badge").get_data(as_text=True).strip() == ""
    for _ in range(3):
        notification(people.org_a, people.alice)
    notification(people.org_a, people.carol)
    _db.session.commit()
    badge = client.get("/o/acme/live/badge").get_data(as_text=True)
    assert '<span class="count" aria-hidden="true">3</span>' in badge and "3 unread" in badge


def test_someone_elses_notification_stays_theirs(client, people, login, csrf_token):
    item = notification(people.org_a, people.alice, path="/o/acme/members")
    _db.session.commit()
    login(people.carol)
    response = client.post(f"{INBOX}/{item.id}/open", data={"csrf_token": csrf_token()})
    assert response.status_code == 302 and response.headers["Location"] == INBOX
    client.post(f"{INBOX}/read", data={"csrf_token": csrf_token()})
    assert "Hello" not in text(client.get(INBOX))
    assert reload(notify.Notification, item.id, people.org_a).read_at is None


def test_another_orgs_notification_is_not_found(client, people, login, csrf_token):
    theirs = notification(people.org_b, people.charlie)
    _db.session.commit()
    login(people.alice)
    response = client.post(f"{INBOX}/{theirs.id}/open", data={"csrf_token": csrf_token()})
    assert response.status_code == 404
    assert client.post(f"{INBOX}/999999/open", data={"csrf_token": csrf_token()}).status_code == 404
    assert reload(notify.Notification, theirs.id, people.org_b).read_at is None


# -- the live stream ------------------------------------------------------------------------------


def sse(response) -> Iterator[tuple[str, str]]:
    """(event, data) per message of a text/event-stream response, as the client reads it."""
    for chunk in response.response:
        block = chunk.decode() if isinstance(chunk, bytes) else chunk
        fields: dict[str, list[str]] = {}
        for line in block.strip("\n").splitlines():
            name, _, value = line.partition(":")
            fields.setdefault(name, []).append(value.removeprefix(" "))
        event = fields.get("event", ["retry" if "retry" in fields else "comment"])[0]
        data = "\n".join(fields.get("data", fields.get("retry", [])))
        yield event, data


@pytest.fixture
def quick_stream(monkeypatch):
    monkeypatch.setattr(live, "POLL_SECONDS", 0.02)
    monkeypatch.setattr(live, "STREAM_SECONDS", 0.3)


def publish(org, topic: str, user=None) -> None:
    with org_context(org.id):
        live.publish(org.id, topic, user_id=user.id if user else None)
        _db.session.flush()


def test_the_stream_sends_the_badge_then_what_changed(client, people, login, quick_stream):
    notification(people.org_a, people.alice)
    notification(people.org_a, people.alice)
    publish(people.org_a, "members")  # before the stream opened: old news
    _db.session.commit()
    login(people.alice)
    response = client.get("/o/acme/live", buffered=False)
    try:
        assert response.status_code == 200 and response.mimetype == "text/event-stream"
        assert response.headers["Cache-Control"] == "no-store"
        stream = sse(response)
        assert next(stream) == ("retry", "5000")
        event, badge = next(stream)
        assert (
            event == "notifications" and '<span class="count" aria-hidden="true">2</span>' in badge
        )

        publish(people.org_a, "members")
        publish(people.org_a, "members")  # twice in one poll: one message
        publish(people.org_a, "notifications", user=people.carol)  # someone else's bell
        publish(people.org_b, "members")  # another organization
        _db.session.commit()
        assert list(stream) == [("changed-members", "members")]
    finally:
        response.close()


def test_the_stream_updates_the_bell_of_its_person(client, people, login, quick_stream):
    login(people.alice)
    response = client.get("/o/acme/live", buffered=False)
    try:
        stream = sse(response)
        next(stream), next(stream)
        notification(people.org_a, people.alice)
        publish(people.org_a, "notifications", user=people.alice)
        _db.session.commit()
        event, badge = next(stream)
        assert event == "notifications" and "1 unread" in badge
    finally:
        response.close()


def test_a_stream_hears_only_its_own_organization(client, people, login, quick_stream):
    login(people.charlie)
    assert client.get("/o/acme/live").status_code == 404
    response = client.get("/o/bravo/live", buffered=False)
    try:
        stream = sse(response)
        assert [event for event, _data in (next(stream), next(stream))] == [
            "retry",
            "notifications",
        ]
        publish(people.org_a, "members")
        publish(people.org_a, "notifications")
        _db.session.commit()
        assert list(stream) == []
    finally:
        response.close()


def test_member_changes_reach_open_members_pages(client, people, login, csrf_token):
    membership_id = _db.session.execute(
        _db.select(Membership.id).where(Membership.user_id == people.carol.id)
    ).scalar_one()
    login(people.alice)
    response = client.post(
        f"/o/acme/members/{membership_id}/role", data={"csrf_token": csrf_token(), "role": "viewer"}
    )
    assert response.status_code == 303
    with org_context(people.org_a.id):
        told = _db.session.execute(_db.select(live.LiveEvent.topic, live.LiveEvent.user_id))
        assert told.all() == [("members", None)]


def test_no_free_slot_answers_503_and_each_stream_frees_its_slot(
    app, client, people, login, monkeypatch
):
    slots = threading.BoundedSemaphore(1)
    monkeypatch.setitem(app.extensions, "startvora.live_slots", slots)
    monkeypatch.setattr(live, "STREAM_SECONDS", 0)
    login(people.alice)
    assert slots.acquire(blocking=False)
    busy = client.get("/o/acme/live")
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "30"
    slots.release()
    for method in ("GET", "HEAD"):  # a HEAD never starts the stream: its slot comes back too
        response = client.open("/o/acme/live", method=method, buffered=False)
        assert response.status_code == 200
        list(response.response)
        response.close()
        assert slots.acquire(blocking=False), method
        slots.release()


# -- who may see what -----------------------------------------------------------------------------

PERSONAL = [INBOX, f"{INBOX}/preferences", "/o/acme/live/badge"]
CHANNEL_POSTS = ["", "/{id}/test", "/{id}/toggle", "/{id}/delete"]


@pytest.mark.parametrize("who", ["carol", "bob"])
def test_channel_pages_are_for_admins(client, people, login, csrf_token, who):
    hook = channel(people.org_a)
    _db.session.commit()
    login(getattr(people, who))
    token = csrf_token()
    assert client.get(CHANNELS).status_code == 403
    for suffix in CHANNEL_POSTS:
        url = CHANNELS + suffix.format(id=hook.id)
        response = client.post(url, data={"csrf_token": token, "name": "x", "url": "json://x"})
        assert response.status_code == 403, url
    stored = reload(notify.Channel, hook.id, people.org_a)
    assert stored is not None and stored.enabled


@pytest.mark.parametrize("who", ["alice", "carol", "bob"])
def test_the_inbox_is_for_every_member(client, people, login, who):
    login(getattr(people, who))
    for url in PERSONAL:
        assert client.get(url).status_code == 200, url


def test_other_organizations_and_strangers_are_kept_out(client, people, login, csrf_token):
    item = notification(people.org_a, people.alice)
    hook = channel(people.org_a)
    _db.session.commit()
    for url in [*PERSONAL, CHANNELS, "/o/acme/live"]:
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")
    login(people.charlie)
    token = csrf_token()
    for url in [*PERSONAL, CHANNELS, "/o/acme/live"]:
        assert client.get(url).status_code == 404, url
    posts = [CHANNELS + s.format(id=hook.id) for s in CHANNEL_POSTS]
    posts += [f"{INBOX}/read", f"{INBOX}/{item.id}/open", f"{INBOX}/preferences"]
    for url in posts:
        assert client.post(url, data={"csrf_token": token}).status_code == 404, url


ACTIONS = [
    f"{CHANNELS}/1/test",
    f"{CHANNELS}/1/toggle",
    f"{CHANNELS}/1/delete",
    f"{INBOX}/read",
    f"{INBOX}/1/open",
]


@pytest.mark.parametrize("url", ACTIONS)
def test_actions_are_post_only(client, people, login, url):
    login(people.alice)
    assert client.get(url).status_code == 405

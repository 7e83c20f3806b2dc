"""Every organization route, walked with another organization's member: always 404."""

from __future__ import annotations

import pytest


def org_rules(app):
    return [r for r in app.url_map.iter_rules() if "org_slug" in r.arguments]


def test_every_org_route_is_a_404_for_outsiders(app, client, people, login, csrf_token):
    login(people.charlie)
    token = csrf_token()
    rules = org_rules(app)
    assert len(rules) >= 4
    for rule in rules:
        values = {arg: 1 for arg in rule.arguments if arg != "org_slug"}
        url = rule.build({"org_slug": "acme", **values}, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, data={"csrf_token": token})
            assert response.status_code == 404, f"{method} {url}"


@pytest.mark.parametrize("slug", ["acme", "no-such-org"])
def test_unknown_and_foreign_orgs_look_the_same(client, people, login, slug):
    login(people.charlie)
    assert client.get(f"/o/{slug}/").status_code == 404

"""Home redirect, the dashboard, and the members list."""

from __future__ import annotations

from typing import Any

from flask import g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import func

from startvora.auth.models import User
from startvora.core import audit, listview
from startvora.core.audit import AuditEvent
from startvora.core.db import folded
from startvora.core.forms import form_data, parse
from startvora.core.htmx import redirect_to, render
from startvora.core.permissions import ROLE_LABELS, ROLES, can, require
from startvora.core.registry import visible_widgets
from startvora.core.tenancy import get_scoped_or_404
from startvora.extensions import db
from startvora.orgs import services
from startvora.orgs.blueprints import bp, home_bp
from startvora.orgs.models import Invitation, Membership
from startvora.orgs.schemas import RoleIn
from startvora.paths import resource_dir


@home_bp.get("/")
@login_required
def index() -> Any:
    """Send a signed-in person to their last or first organization."""
    return redirect(url_for("home.home"))


@home_bp.get("/home")
@login_required
def home() -> Any:
    """The organization to open after sign-in."""
    memberships = services.memberships_of(current_user)
    if not memberships:
        return render("orgs/no_org.html")
    slugs = {m.org.slug for m in memberships}
    last = session.get("last_org")
    slug = last if last in slugs else memberships[0].org.slug
    return redirect(url_for("orgs.dashboard", org_slug=slug))


@bp.before_request
def _remember_org() -> None:
    session["last_org"] = g.org.slug


@bp.get("/")
@require("org:view")
def dashboard() -> Any:
    """The home dashboard: a card from each module the member may see."""
    cards = [(w, w.context(g.org, current_user)) for w in visible_widgets()]
    return render("orgs/dashboard.html", cards=cards)


def _assignable_roles() -> list[tuple[str, Any]]:
    """The roles the current member may give: only owners make owners."""
    return [(r, ROLE_LABELS[r]) for r in ROLES if r != "owner" or g.membership.role == "owner"]


def _members_spec() -> listview.ListSpec:
    def query() -> Any:
        return (
            db.select(Membership)
            .join(User, Membership.user_id == User.id)
            .where(Membership.org_id == g.org.id)
        )

    def by_role(stmt: Any, role: str) -> Any:
        return stmt.where(Membership.role == role)

    return listview.ListSpec(
        name="members",
        query=query,
        id=Membership.id,
        columns=[
            listview.Column("name", _l("Name"), sort=folded(User.name)),
            listview.Column("email", _l("Email"), sort=folded(User.email), hide_on_phone=True),
            listview.Column("role", _l("Role"), sort=Membership.role),
            listview.Column(
                "joined", _l("Joined"), sort=Membership.created_at, align="end", hide_on_phone=True
            ),
        ],
        search=[User.name, User.email],
        filters=[
            listview.Filter("role", _l("Role"), [(r, ROLE_LABELS[r]) for r in ROLES], by_role)
        ],
        default_sort="name",
        bulk=True,
    )


@bp.get("/members")
@require("org:view")
def members_index() -> Any:
    """Everyone in the organization, with search, role filter, sort and pages."""
    page = listview.run(_members_spec())
    open_invitations = []
    if can("org:admin"):
        open_invitations = list(
            db.session.execute(
                db.select(Invitation)
                .where(Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
                .order_by(Invitation.created_at.desc())
            ).scalars()
        )
    return render(
        "orgs/members/index.html",
        block="listing",
        page=page,
        role_labels=ROLE_LABELS,
        roles=_assignable_roles(),
        invitations=open_invitations,
        invite_link=session.pop("invite_link", None),
    )


@bp.post("/members/export")
@require("org:admin")
def members_export() -> Any:
    """CSV of the ticked members, or of every member matching the current filters."""
    spec = _members_spec()
    ids = listview.selected_ids(request.form)
    if ids:
        stmt = spec.query().where(Membership.id.in_(ids))
    else:
        stmt = listview.filtered(spec, listview.read_state(spec, request.form))
    members = list(
        db.session.execute(stmt.order_by(func.lower(User.name), Membership.id)).scalars()
    )
    audit.record(
        "members.exported",
        org=g.org,
        actor=current_user,
        summary=f"{len(members)} members to CSV",
        count=len(members),
    )
    db.session.commit()
    return listview.csv_response(
        f"{g.org.slug}-members.csv",
        [_("Name"), _("Email"), _("Role"), _("Joined")],
        ([m.user.name, m.user.email, m.role, m.created_at.date().isoformat()] for m in members),
    )


@bp.post("/members/remove")
@require("org:admin")
def members_remove() -> Any:
    """Remove the ticked people from the organization."""
    ids = listview.selected_ids(request.form)
    back = url_for("orgs.members_index", **_list_params(request.form))
    if not ids:
        return redirect_to(back, _("Select at least one person first."), "warning")
    own_id, org_name = g.membership.id, g.org.name
    try:
        emails = services.remove_members(g.org, g.membership, ids)
    except services.MemberRuleError as exc:
        db.session.rollback()
        return redirect_to(back, str(exc.message), "error")
    if emails:
        audit.record(
            "members.removed",
            org=g.org,
            actor=current_user,
            summary=", ".join(emails),
            emails=emails,
        )
    db.session.commit()
    if own_id in ids:
        return redirect_to(url_for("home.home"), _("You left %(org)s.", org=org_name))
    return redirect_to(
        back, ngettext("Removed %(num)d person.", "Removed %(num)d people.", len(emails))
    )


def _list_params(form: Any) -> dict[str, str]:
    """The list state carried by a bulk form, to come back to the same view."""
    spec = _members_spec()
    return listview.read_state(spec, form).params()


@home_bp.get("/about")
@login_required
def about() -> Any:
    """Version and the third-party components shipped, with their licences."""
    return render("orgs/about.html", block="dialog", components=_vendored_components())


def _vendored_components() -> list[dict[str, str]]:
    versions = resource_dir("static") / "vendor" / "VERSIONS"
    rows = []
    for line in versions.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        file, package, version, licence, _sha = line.split("\t")
        if not file.startswith("../"):  # test-only files are not part of the product
            rows.append({"package": package, "version": version, "licence": licence})
    return rows


@bp.get("/members/<int:member_id>")
@require("org:view")
def members_show(member_id: int) -> Any:
    """One member: role, two-factor status, and the history of their membership."""
    membership = get_scoped_or_404(Membership, member_id)
    history = list(
        db.session.execute(
            db.select(AuditEvent)
            .where(
                AuditEvent.org_id == g.org.id,
                AuditEvent.target_type == "Membership",
                AuditEvent.target_id == membership.id,
            )
            .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
            .limit(50)
        ).scalars()
    )
    return render(
        "orgs/members/show.html",
        member=membership,
        history=history,
        role_labels=ROLE_LABELS,
        roles=_assignable_roles(),
        errors={},
    )


@bp.post("/members/<int:member_id>/role")
@require("org:admin")
def members_role(member_id: int) -> Any:
    """Change a member's role; owners stay guarded and one owner always remains."""
    membership = get_scoped_or_404(Membership, member_id)
    back = url_for("orgs.members_show", member_id=membership.id)
    data, errors = parse(RoleIn, form_data(request.form, ("role",)))
    if data is None:
        return redirect_to(back, errors.get("role", _("Choose a role.")), "error")
    old = membership.role
    try:
        changed = services.change_role(g.org, g.membership, membership, data.role)
    except services.MemberRuleError as exc:
        db.session.rollback()
        return redirect_to(back, str(exc.message), "error")
    if changed:
        audit.record(
            "members.role_changed",
            org=g.org,
            actor=current_user,
            target=membership,
            summary=f"{membership.user.email}: {old} → {data.role}",
            old=old,
            new=data.role,
        )
    db.session.commit()
    return redirect_to(back, _("The role is saved.") if changed else None)

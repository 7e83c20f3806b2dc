"""Deal rules: pipelines and their stages, deals on a board, moves, won and lost.

Services take the organization id and the acting user explicitly, flush and never commit. Every
change publishes the live topic "deals", so open boards and lists refresh themselves.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import lazyload, load_only

from startvora.auth.models import User, initials_of
from startvora.core import audit, events, live, money
from startvora.core.db import fold, utcnow
from startvora.crm import services
from startvora.crm.deal_schemas import DealIn, PipelineIn, StageIn
from startvora.crm.models import Company, Contact, Deal, Pipeline, Stage, person_name
from startvora.crm.services import CrmError
from startvora.extensions import db

RANK_STEP = 1024  # gaps between ranks, so a drop between two cards writes one row
BOARD_LIMIT = 25  # cards shown per column; the list view has the rest
TOPIC = "deals"


def _default_stages() -> list[tuple[str, int, str]]:
    return [
        (_("New"), 10, "open"),
        (_("Qualified"), 25, "open"),
        (_("Proposal"), 50, "open"),
        (_("Negotiation"), 75, "open"),
        (_("Won"), 100, "won"),
        (_("Lost"), 0, "lost"),
    ]


# -- pipelines -----------------------------------------------------------------------------------


def pipelines(org_id: int) -> list[Pipeline]:
    """The organization's pipelines in their order."""
    return list(
        db.session.execute(
            select(Pipeline)
            .where(Pipeline.org_id == org_id)
            .order_by(Pipeline.position, Pipeline.id)
        ).scalars()
    )


def ensure_default_pipeline(org_id: int) -> Pipeline:
    """The first pipeline; a "Sales" pipeline with the usual stages when there is none yet."""
    existing = pipelines(org_id)
    if existing:
        return existing[0]
    return _new_pipeline(org_id, _("Sales"), 0)


def _new_pipeline(org_id: int, name: str, position: int) -> Pipeline:
    pipeline = Pipeline(org_id=org_id, name=name, position=position)
    db.session.add(pipeline)
    db.session.flush()
    for i, (stage_name, probability, kind) in enumerate(_default_stages()):
        db.session.add(
            Stage(
                org_id=org_id,
                pipeline_id=pipeline.id,
                name=stage_name,
                position=i,
                probability=probability,
                kind=kind,
            )
        )
    db.session.flush()
    db.session.expire(pipeline, ["stages"])
    return pipeline


def _check_pipeline_name(org_id: int, name: str, pipeline: Pipeline | None = None) -> None:
    for other in pipelines(org_id):
        if other is not pipeline and fold(other.name) == fold(name):
            raise CrmError(_("Another pipeline has this name."), "name")


def create_pipeline(org_id: int, actor_id: int | None, data: PipelineIn) -> Pipeline:
    """A new pipeline, last in the order, with the usual stages to rename or delete."""
    _check_pipeline_name(org_id, data.name)
    position = max((p.position for p in pipelines(org_id)), default=-1) + 1
    pipeline = _new_pipeline(org_id, data.name, position)
    audit.record(
        "crm.pipeline_created", org=org_id, actor=actor_id, target=pipeline, summary=data.name
    )
    live.publish(org_id, TOPIC)
    return pipeline


def rename_pipeline(
    org_id: int, actor_id: int | None, pipeline: Pipeline, data: PipelineIn
) -> None:
    """Give a pipeline another name."""
    _check_pipeline_name(org_id, data.name, pipeline)
    if pipeline.name != data.name:
        old, pipeline.name = pipeline.name, data.name
        audit.record(
            "crm.pipeline_renamed",
            org=org_id,
            actor=actor_id,
            target=pipeline,
            summary=f"{old} → {data.name}",
        )
        live.publish(org_id, TOPIC)
    db.session.flush()


def _deal_count(column: Any, value: int, *, trashed: bool = False) -> int:
    stmt = select(func.count(Deal.id)).where(column == value)
    if trashed:
        stmt = stmt.where(Deal.deleted_at.is_not(None)).execution_options(include_deleted=True)
    else:
        stmt = stmt.where(Deal.deleted_at.is_(None))
    return db.session.execute(stmt).scalar_one()


def delete_pipeline(org_id: int, actor_id: int | None, pipeline: Pipeline) -> None:
    """Remove an empty pipeline; one holding deals (even in the trash) is refused, unchanged."""
    if len(pipelines(org_id)) <= 1:
        raise CrmError(_("Keep at least one pipeline."))
    count = _deal_count(Deal.pipeline_id, pipeline.id)
    if count:
        raise CrmError(
            ngettext(
                "Move its %(num)d deal to another pipeline first.",
                "Move its %(num)d deals to another pipeline first.",
                count,
            )
        )
    trashed = _deal_count(Deal.pipeline_id, pipeline.id, trashed=True)
    if trashed:
        raise CrmError(
            ngettext(
                "%(num)d deal of this pipeline is in the trash: restore and move it, or "
                "delete it for good first.",
                "%(num)d deals of this pipeline are in the trash: restore and move them, or "
                "delete them for good first.",
                trashed,
            )
        )
    audit.record(
        "crm.pipeline_deleted", org=org_id, actor=actor_id, target=pipeline, summary=pipeline.name
    )
    db.session.delete(pipeline)
    db.session.flush()
    live.publish(org_id, TOPIC)


# -- stages --------------------------------------------------------------------------------------


def stage_deal_count(stage: Stage) -> int:
    return _deal_count(Deal.stage_id, stage.id)


def _renumber_stages(pipeline: Pipeline, ordered: list[Stage]) -> None:
    for i, stage in enumerate(ordered):
        stage.position = i
    db.session.flush()
    db.session.expire(pipeline, ["stages"])


def _stage_name_taken(pipeline: Pipeline, name: str, stage: Stage | None) -> bool:
    return any(s is not stage and fold(s.name) == fold(name) for s in pipeline.stages)


def save_stage(
    org_id: int,
    actor_id: int | None,
    pipeline: Pipeline,
    data: StageIn,
    stage: Stage | None = None,
) -> Stage:
    """Add a stage (an open one goes before won and lost) or change one.

    A stage's kind cannot change while it holds deals (they would be won or lost unnoticed),
    and a pipeline always keeps an open stage.
    """
    if _stage_name_taken(pipeline, data.name, stage):
        raise CrmError(_("This pipeline already has a stage with this name."), "name")
    if stage is None:
        stages = list(pipeline.stages)
        stage = Stage(
            org_id=org_id,
            pipeline_id=pipeline.id,
            name=data.name,
            probability=data.probability,
            kind=data.kind,
        )
        db.session.add(stage)
        at = len(stages)
        if data.kind == "open":
            at = next((i for i, s in enumerate(stages) if s.kind != "open"), len(stages))
        stages.insert(at, stage)
        db.session.flush()
        _renumber_stages(pipeline, stages)
        audit.record(
            "crm.stage_created", org=org_id, actor=actor_id, target=pipeline, summary=data.name
        )
    else:
        if data.kind != stage.kind:
            count = stage_deal_count(stage)
            if count:
                raise CrmError(
                    ngettext(
                        "Move its %(num)d deal to another stage before changing its kind.",
                        "Move its %(num)d deals to another stage before changing its kind.",
                        count,
                    ),
                    "kind",
                )
            if stage.kind == "open" and _open_stages(pipeline, but=stage) == []:
                raise CrmError(_("A pipeline needs at least one open stage."), "kind")
        changed = [
            f"{name}: {getattr(stage, name)} → {getattr(data, name)}"
            for name in ("name", "probability", "kind")
            if getattr(stage, name) != getattr(data, name)
        ]
        stage.name, stage.probability, stage.kind = data.name, data.probability, data.kind
        db.session.flush()
        if changed:
            audit.record(
                "crm.stage_changed",
                org=org_id,
                actor=actor_id,
                target=pipeline,
                summary=", ".join(changed),
            )
    live.publish(org_id, TOPIC)
    return stage


def _open_stages(pipeline: Pipeline, but: Stage | None = None) -> list[Stage]:
    return [s for s in pipeline.stages if s.kind == "open" and s is not but]


def shift_stage(org_id: int, actor_id: int | None, stage: Stage, step: int) -> None:
    """Move a stage one place earlier (-1) or later (+1) in its pipeline."""
    pipeline = stage.pipeline
    stages = list(pipeline.stages)
    i = stages.index(stage)
    j = i + (1 if step > 0 else -1)
    if 0 <= j < len(stages):
        stages[i], stages[j] = stages[j], stages[i]
        _renumber_stages(pipeline, stages)
        live.publish(org_id, TOPIC)


def reorder_stages(org_id: int, actor_id: int | None, pipeline: Pipeline, ids: list[int]) -> None:
    """Put a pipeline's stages in the given order (every stage id once)."""
    by_id = {s.id: s for s in pipeline.stages}
    if sorted(ids) != sorted(by_id):
        raise CrmError(_("List every stage of the pipeline once."), "ids")
    _renumber_stages(pipeline, [by_id[i] for i in ids])
    audit.record(
        "crm.stages_reordered",
        org=org_id,
        actor=actor_id,
        target=pipeline,
        summary=", ".join(by_id[i].name for i in ids),
    )
    live.publish(org_id, TOPIC)


def delete_stage(
    org_id: int, actor_id: int | None, stage: Stage, move_to: Stage | None = None
) -> None:
    """Remove a stage. While it holds deals this is refused and nothing changes, unless
    `move_to` (another stage of the same pipeline) is given: its deals go there first."""
    pipeline = stage.pipeline
    if move_to is not None and (move_to.pipeline_id != stage.pipeline_id or move_to is stage):
        raise CrmError(_("Choose another stage of the same pipeline."), "move_to")
    remaining = [s for s in pipeline.stages if s is not stage]
    if not any(s.kind == "open" for s in remaining):
        raise CrmError(_("A pipeline needs at least one open stage."))
    count = stage_deal_count(stage)
    if count and move_to is None:
        raise CrmError(
            ngettext(
                "Move its %(num)d deal to another stage first.",
                "Move its %(num)d deals to another stage first.",
                count,
            ),
            "move_to",
        )
    if count and move_to is not None:
        deals = list(
            db.session.execute(
                select(Deal).where(Deal.stage_id == stage.id).order_by(Deal.rank, Deal.id)
            ).scalars()
        )
        rank = _end_rank(move_to, exclude=None)
        for deal in deals:
            deal.stage_id, deal.stage, deal.rank = move_to.id, move_to, rank
            rank += RANK_STEP
            _stage_changed(org_id, actor_id, deal, stage, move_to, "")
    # Deals in the trash keep their place in the pipeline: they follow to a remaining stage.
    fallback = move_to or next(
        (s for s in remaining if s.kind == stage.kind), _open_stages(pipeline, but=stage)[0]
    )
    db.session.execute(
        db.update(Deal)
        .where(Deal.stage_id == stage.id, Deal.org_id == org_id)
        .values(stage_id=fallback.id)
        .execution_options(include_deleted=True, synchronize_session=False)
    )
    audit.record(
        "crm.stage_deleted",
        org=org_id,
        actor=actor_id,
        target=pipeline,
        summary=stage.name,
        moved=count,
        moved_to=move_to.id if move_to else None,
    )
    db.session.delete(stage)
    db.session.flush()
    _renumber_stages(pipeline, remaining)
    live.publish(org_id, TOPIC)


# -- deals ---------------------------------------------------------------------------------------


def _in_org(model: type, object_id: int | None, org_id: int) -> Any:
    if object_id is None:
        return None
    obj = db.session.get(model, object_id)
    if obj is None or obj.org_id != org_id or getattr(obj, "deleted_at", None) is not None:
        return False
    return obj


def _check_links(org_id: int, data: DealIn) -> Stage:
    """The deal's stage, after checking that every id it names is one of this organization's."""
    stage = _in_org(Stage, data.stage_id, org_id)
    if not stage:
        raise CrmError(_("Choose a stage from the list."), "stage_id")
    if data.pipeline_id is not None:
        pipeline = _in_org(Pipeline, data.pipeline_id, org_id)
        if not pipeline:
            raise CrmError(_("Choose a pipeline from the list."), "pipeline_id")
        if stage.pipeline_id != pipeline.id:
            raise CrmError(
                _(
                    "This stage belongs to another pipeline: choose a stage of %(name)s.",
                    name=pipeline.name,
                ),
                "stage_id",
            )
    services.check_owner(org_id, data.owner_id)
    if _in_org(Contact, data.contact_id, org_id) is False:
        raise CrmError(_("Choose a contact of this organization."), "contact_id")
    if _in_org(Company, data.company_id, org_id) is False:
        raise CrmError(_("Choose a company of this organization."), "company_id")
    return stage


DEAL_FIELDS = (
    "title",
    "value_minor",
    "currency",
    "expected_close",
    "owner_id",
    "contact_id",
    "company_id",
    "tags",
)


def save_deal(
    org_id: int,
    actor_id: int | None,
    data: DealIn,
    custom: dict[str, Any] | None = None,
    deal: Deal | None = None,
) -> Deal:
    """Create a deal (first in its stage) or change one; a new stage counts as a move."""
    stage = _check_links(org_id, data)
    created = deal is None
    old_stage = None if deal is None else deal.stage
    if deal is None:
        deal = Deal(org_id=org_id, pipeline_id=stage.pipeline_id, stage_id=stage.id, stage=stage)
        deal.rank = top_rank(stage, exclude=None)
        if stage.kind != "open":
            deal.closed_at = utcnow()
        db.session.add(deal)
    changed = []
    for name in DEAL_FIELDS:
        value = getattr(data, name)
        if getattr(deal, name) != value:
            setattr(deal, name, value)
            changed.append("value" if name == "value_minor" else name)
    if custom is not None and custom != (deal.custom or {}):
        keys = set(custom) ^ set(deal.custom or {}) | {
            k for k in custom if custom[k] != (deal.custom or {}).get(k)
        }
        changed += [f"custom.{k}" for k in sorted(keys)]
        deal.custom = dict(custom)
    deal.search_name = fold(deal.title)[:300]
    if old_stage is not None and old_stage.id != stage.id:
        deal.pipeline_id = stage.pipeline_id
        deal.stage_id, deal.stage = stage.id, stage
        deal.rank = top_rank(stage, exclude=deal)
    db.session.flush()
    if created:
        audit.record(
            "crm.deal_created", org=org_id, actor=actor_id, target=deal, summary=deal.title
        )
        events.emit("crm.deal_created", org_id=org_id, id=deal.id, deal_id=deal.id)
        if stage.kind != "open":
            events.emit(f"deal.{stage.kind}", **_payload(org_id, actor_id, deal))
    elif changed:
        audit.record(
            "crm.deal_changed",
            org=org_id,
            actor=actor_id,
            target=deal,
            summary=", ".join(changed),
            fields=changed,
        )
        events.emit("crm.deal_changed", org_id=org_id, id=deal.id, deal_id=deal.id)
    if old_stage is not None and old_stage.id != stage.id:
        _stage_changed(org_id, actor_id, deal, old_stage, stage, "")
    live.publish(org_id, TOPIC)
    return deal


def _payload(org_id: int, actor_id: int | None, deal: Deal) -> dict[str, Any]:
    return {
        "org_id": org_id,
        "id": deal.id,
        "deal_id": deal.id,
        "actor_id": actor_id,
        "stage_id": deal.stage_id,
        "value_minor": deal.value_minor,
        "currency": deal.currency,
    }


def _others(stage: Stage, exclude: Deal | None) -> list[Any]:
    where = [Deal.stage_id == stage.id, Deal.deleted_at.is_(None)]
    if exclude is not None and exclude.id is not None:
        where.append(Deal.id != exclude.id)
    return where


def _end_rank(stage: Stage, exclude: Deal | None) -> int:
    last = db.session.execute(
        select(func.max(Deal.rank)).where(*_others(stage, exclude))
    ).scalar_one()
    return 0 if last is None else last + RANK_STEP


def top_rank(stage: Stage, exclude: Deal | None = None) -> int:
    """A rank that puts a deal first in its stage."""
    first = db.session.execute(
        select(func.min(Deal.rank)).where(*_others(stage, exclude))
    ).scalar_one()
    return 0 if first is None else first - RANK_STEP


def _rank_before(stage: Stage, deal: Deal, before: Deal) -> int:
    """A rank that sorts `deal` just before `before` in `stage`; renumbers the stage when the
    two neighbours leave no gap (ranks are whole numbers)."""
    prev = db.session.execute(
        select(Deal.rank)
        .where(
            *_others(stage, deal),
            or_(Deal.rank < before.rank, and_(Deal.rank == before.rank, Deal.id < before.id)),
        )
        .order_by(Deal.rank.desc(), Deal.id.desc())
        .limit(1)
    ).scalar()
    if prev is None:
        return before.rank - RANK_STEP
    if before.rank - prev >= 2:
        return (prev + before.rank) // 2
    rows = list(
        db.session.execute(
            select(Deal)
            .where(*_others(stage, deal))
            .order_by(Deal.rank, Deal.id)
            .options(load_only(Deal.id, Deal.rank), lazyload("*"))
        ).scalars()
    )
    rank = 0
    mine = 0
    for row in rows:
        if row.id == before.id:
            mine = rank
            rank += RANK_STEP
        row.rank = rank
        rank += RANK_STEP
    return mine


def move_deal(
    org_id: int,
    actor_id: int | None,
    deal: Deal,
    stage: Stage,
    before_id: int | None = None,
    *,
    place: str = "end",
    lost_reason: str = "",
) -> Deal:
    """Put a deal in a stage of its pipeline, just before another deal of that stage (or at
    the top or the end). Into a won or lost stage it closes (deal.won / deal.lost); back into
    an open stage it opens again."""
    if stage.org_id != org_id or stage.pipeline_id != deal.pipeline_id:
        raise CrmError(_("Choose a stage of the deal's pipeline."), "stage_id")
    before = None
    if before_id is not None and before_id != deal.id:
        before = _in_org(Deal, before_id, org_id) or None
        if before is not None and before.stage_id != stage.id:
            before = None  # the board was stale: the end of the stage is the safe place
    old_stage = deal.stage
    if before is not None:
        deal.rank = _rank_before(stage, deal, before)
    elif place == "top":
        deal.rank = top_rank(stage, exclude=deal)
    else:
        deal.rank = _end_rank(stage, exclude=deal)
    deal.stage_id, deal.stage = stage.id, stage
    db.session.flush()
    if old_stage.id != stage.id:
        _stage_changed(org_id, actor_id, deal, old_stage, stage, lost_reason)
        db.session.flush()
    live.publish(org_id, TOPIC)
    return deal


def _stage_changed(
    org_id: int, actor_id: int | None, deal: Deal, old: Stage, new: Stage, lost_reason: str
) -> None:
    """Closing and reopening follow the stage's kind; the move is written to the history."""
    if new.kind == "open":
        deal.closed_at, deal.lost_reason = None, ""
    else:
        if new.kind != old.kind or deal.closed_at is None:
            deal.closed_at = utcnow()
        if new.kind == "lost":
            deal.lost_reason = lost_reason or (deal.lost_reason if old.kind == "lost" else "")
        else:
            deal.lost_reason = ""
    # The summary is what the deal's timeline shows, in the words of whoever made the change.
    if new.kind == old.kind:
        action, summary = (
            "crm.deal_moved",
            _("Moved from %(old)s to %(new)s", old=old.name, new=new.name),
        )
    elif new.kind == "won":
        action, summary = "crm.deal_won", _("Won (from %(old)s)", old=old.name)
    elif new.kind == "lost" and deal.lost_reason:
        action = "crm.deal_lost"
        summary = _("Lost (from %(old)s): %(reason)s", old=old.name, reason=deal.lost_reason)
    elif new.kind == "lost":
        action, summary = "crm.deal_lost", _("Lost (from %(old)s)", old=old.name)
    else:
        action, summary = "crm.deal_reopened", _("Reopened in %(new)s", new=new.name)
    audit.record(
        action,
        org=org_id,
        actor=actor_id,
        target=deal,
        summary=summary,
        from_stage=old.id,
        to_stage=new.id,
    )
    events.emit("crm.deal_moved", org_id=org_id, id=deal.id, deal_id=deal.id, stage_id=new.id)
    if new.kind in ("won", "lost") and new.kind != old.kind:
        events.emit(f"deal.{new.kind}", **_payload(org_id, actor_id, deal))


def _first_stage(pipeline_id: int, kind: str) -> Stage | None:
    return db.session.execute(
        select(Stage)
        .where(Stage.pipeline_id == pipeline_id, Stage.kind == kind)
        .order_by(Stage.position, Stage.id)
        .limit(1)
    ).scalar()


def mark_won(org_id: int, actor_id: int | None, deal: Deal) -> Deal:
    """Move a deal to its pipeline's won stage."""
    if deal.stage.kind == "won":
        return deal
    stage = _first_stage(deal.pipeline_id, "won")
    if stage is None:
        raise CrmError(_("This pipeline has no won stage. Add one in the pipeline settings."))
    return move_deal(org_id, actor_id, deal, stage, place="top")


def mark_lost(org_id: int, actor_id: int | None, deal: Deal, reason: str) -> Deal:
    """Move a deal to its pipeline's lost stage, saying why."""
    reason = " ".join(reason.split())[:300]
    if not reason:
        raise CrmError(_("Say why the deal was lost."), "reason")
    if deal.stage.kind == "lost":
        if deal.lost_reason != reason:
            deal.lost_reason = reason
            audit.record(
                "crm.deal_changed",
                org=org_id,
                actor=actor_id,
                target=deal,
                summary="lost_reason",
                fields=["lost_reason"],
            )
            live.publish(org_id, TOPIC)
        db.session.flush()
        return deal
    stage = _first_stage(deal.pipeline_id, "lost")
    if stage is None:
        raise CrmError(_("This pipeline has no lost stage. Add one in the pipeline settings."))
    return move_deal(org_id, actor_id, deal, stage, place="top", lost_reason=reason)


def reopen_deal(org_id: int, actor_id: int | None, deal: Deal) -> Deal:
    """Put a won or lost deal back in the first open stage of its pipeline."""
    if deal.stage.kind == "open":
        return deal
    stage = _first_stage(deal.pipeline_id, "open")
    if stage is None:
        raise CrmError(_("A pipeline needs at least one open stage."))
    return move_deal(org_id, actor_id, deal, stage, place="top")


def trash_deal(org_id: int, actor_id: int | None, deal: Deal) -> None:
    """Move a deal to the trash (it can be restored from the Trash page)."""
    services.trash(org_id, actor_id, deal)
    live.publish(org_id, TOPIC)


def trash_deals(org_id: int, actor_id: int | None, deals: list[Deal]) -> int:
    for deal in deals:
        services.trash(org_id, actor_id, deal)
    if deals:
        live.publish(org_id, TOPIC)
    return len(deals)


def tag_deals(org_id: int, deals: list[Deal], tags: list[str]) -> int:
    changed = services.add_tags(deals, tags)
    if changed:
        live.publish(org_id, TOPIC)
    return changed


def assign_deals(org_id: int, deals: list[Deal], owner_id: int | None) -> int:
    changed = services.assign(org_id, deals, owner_id)
    if changed:
        live.publish(org_id, TOPIC)
    return changed


# -- the board -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Card:
    """What a deal's card shows: read as plain values (a board has a few hundred of them)."""

    id: int
    title: str
    stage_id: int
    value_minor: int
    currency: str
    expected_close: Any
    company_name: str | None
    contact_name: str | None
    owner_name: str | None
    owner_initials: str | None


@dataclasses.dataclass
class Column:
    """One stage on the board: its first cards and what the whole stage adds up to."""

    stage: Stage
    deals: list[Card]
    count: int
    totals: dict[str, int]  # currency -> minor units; the base currency first
    weighted: dict[str, int]  # totals x the stage's probability, rounded half up

    @property
    def more(self) -> int:
        return self.count - len(self.deals)


@dataclasses.dataclass
class Board:
    pipeline: Pipeline
    columns: list[Column]  # open stages, in order
    closed: list[Column]  # won and lost stages: drop targets, without cards
    currency: str

    def _sum(self, attr: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for col in self.columns:
            for cur, minor in getattr(col, attr).items():
                out[cur] = out.get(cur, 0) + minor
        return _base_first(out, self.currency)

    @property
    def open_count(self) -> int:
        return sum(c.count for c in self.columns)

    @property
    def open_total(self) -> dict[str, int]:
        return self._sum("totals")

    @property
    def open_weighted(self) -> dict[str, int]:
        return self._sum("weighted")


def _base_first(amounts: dict[str, int], base: str) -> dict[str, int]:
    return dict(sorted(amounts.items(), key=lambda kv: (kv[0] != base, kv[0])))


def weighted(total_minor: int, probability: int, currency: str) -> int:
    """A stage's weighted value: its total times its probability, to the minor unit."""
    return money.to_minor(money.from_minor(total_minor, currency) * probability / 100, currency)


def _card(*values: Any) -> Card:
    *deal, company, first_name, last_name, contact_email, owner_name, owner_email = values
    has_contact = contact_email is not None  # NOT NULL on a contact: None when there is none
    has_owner = owner_email is not None
    return Card(
        *deal,
        company_name=company,
        contact_name=person_name(first_name, last_name, contact_email) if has_contact else None,
        owner_name=owner_name if has_owner else None,
        owner_initials=initials_of(owner_name, owner_email) if has_owner else None,
    )


def board(
    org_id: int,
    pipeline: Pipeline,
    base_currency: str,
    owner_id: int | None = None,
    limit: int = BOARD_LIMIT,
) -> Board:
    """The pipeline's board: per stage its first `limit` deals by rank, their count, and their
    total and weighted value per currency (no exchange rates: the base currency comes first,
    other currencies are summed on their own)."""
    where = [
        Deal.org_id == org_id,
        Deal.pipeline_id == pipeline.id,
        Deal.deleted_at.is_(None),
    ]
    if owner_id is not None:
        where.append(Deal.owner_id == owner_id)
    stages = list(pipeline.stages)
    sums: dict[int, dict[str, tuple[int, int]]] = {}
    for stage_id, currency, count, total in db.session.execute(
        select(Deal.stage_id, Deal.currency, func.count(Deal.id), func.sum(Deal.value_minor))
        .where(*where)
        .group_by(Deal.stage_id, Deal.currency)
    ):
        sums.setdefault(stage_id, {})[currency] = (count, int(total or 0))
    open_ids = [s.id for s in stages if s.kind == "open"]
    cards: dict[int, list[Card]] = {i: [] for i in open_ids}
    if open_ids and limit:
        row = (
            func.row_number()
            .over(partition_by=Deal.stage_id, order_by=(Deal.rank, Deal.id))
            .label("row")
        )
        first = (
            select(Deal.id.label("id"), row).where(*where, Deal.stage_id.in_(open_ids)).subquery()
        )
        for card in db.session.execute(
            select(
                Deal.id,
                Deal.title,
                Deal.stage_id,
                Deal.value_minor,
                Deal.currency,
                Deal.expected_close,
                Company.name,
                Contact.first_name,
                Contact.last_name,
                Contact.email,
                User.name,
                User.email,
            )
            .outerjoin(Company, Deal.company_id == Company.id)
            .outerjoin(Contact, Deal.contact_id == Contact.id)
            .outerjoin(User, Deal.owner_id == User.id)
            .where(Deal.id.in_(select(first.c.id).where(first.c.row <= limit)))
            .order_by(Deal.rank, Deal.id)
        ):
            cards[card.stage_id].append(_card(*card))
    columns, closed = [], []
    for stage in stages:
        per = sums.get(stage.id, {})
        totals = _base_first({c: t for c, (_n, t) in per.items()}, base_currency)
        column = Column(
            stage=stage,
            deals=cards.get(stage.id, []),
            count=sum(n for n, _t in per.values()),
            totals=totals,
            weighted={c: weighted(t, stage.probability, c) for c, t in totals.items()},
        )
        (columns if stage.kind == "open" else closed).append(column)
    return Board(pipeline=pipeline, columns=columns, closed=closed, currency=base_currency)

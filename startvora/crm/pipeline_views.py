"""Pipeline settings: pipelines and their stages (order, probability, kind), with safe deletes."""

from __future__ import annotations

from typing import Any

from flask import g, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from startvora.core.forms import FORM_ERROR, FormErrors, form_data, parse
from startvora.core.htmx import is_htmx, redirect_to, render, toast
from startvora.core.permissions import require
from startvora.core.tenancy import get_scoped_or_404
from startvora.crm import deals
from startvora.crm.blueprints import bp
from startvora.crm.deal_schemas import PipelineIn, StageIn
from startvora.crm.models import Pipeline, Stage
from startvora.crm.services import CrmError
from startvora.extensions import db


def _page(pipeline: Pipeline, status: int = 200, **errors: Any) -> Any:
    """The settings of one pipeline; `errors` go to the form they belong to."""
    counts = {s.id: deals.stage_deal_count(s) for s in pipeline.stages}
    return render(
        "crm/pipelines/show.html",
        block="settings",
        status=status,
        pipeline=pipeline,
        pipelines=deals.pipelines(g.org.id),
        counts=counts,
        stage_errors=errors.get("stage_errors", {}),
        new_stage_errors=errors.get("new_stage_errors", FormErrors()),
        pipeline_errors=errors.get("pipeline_errors", FormErrors()),
        new_pipeline_errors=errors.get("new_pipeline_errors", FormErrors()),
        values=errors.get("values", {}),
    )


def _done(pipeline: Pipeline, message: str) -> Any:
    """After a change: the refreshed settings for htmx (with a toast), a redirect otherwise."""
    db.session.commit()
    url = url_for("crm.pipelines_show", pipeline_id=pipeline.id)
    if is_htmx():
        db.session.expire_all()
        return toast(_page(pipeline), message)
    return redirect_to(url, message)


@bp.get("/pipelines")
@require("crm:view")
def pipelines_index() -> Any:
    """The first pipeline's settings."""
    pipeline = deals.ensure_default_pipeline(g.org.id)
    db.session.commit()
    return redirect_to(url_for("crm.pipelines_show", pipeline_id=pipeline.id))


@bp.get("/pipelines/<int:pipeline_id>")
@require("crm:view")
def pipelines_show(pipeline_id: int) -> Any:
    """A pipeline's stages, in order, with their probability and kind."""
    return _page(get_scoped_or_404(Pipeline, pipeline_id))


@bp.post("/pipelines")
@require("crm:admin")
def pipelines_create() -> Any:
    """A new pipeline, with the usual stages to rename or remove."""
    current = get_scoped_or_404(
        Pipeline, request.form.get("current", type=int) or deals.pipelines(g.org.id)[0].id
    )
    data, errors = parse(PipelineIn, form_data(request.form, ("name",)))
    if data is not None:
        try:
            pipeline = deals.create_pipeline(g.org.id, current_user.id, data)
        except CrmError as exc:
            db.session.rollback()
            errors[exc.field or FORM_ERROR] = str(exc.message)
        else:
            db.session.commit()
            return redirect_to(
                url_for("crm.pipelines_show", pipeline_id=pipeline.id),
                _("Pipeline %(name)s added.", name=pipeline.name),
            )
    return _page(current, 422, new_pipeline_errors=errors, values={"new_pipeline": request.form})


@bp.post("/pipelines/<int:pipeline_id>/rename")
@require("crm:admin")
def pipelines_rename(pipeline_id: int) -> Any:
    """Give a pipeline another name."""
    pipeline = get_scoped_or_404(Pipeline, pipeline_id)
    data, errors = parse(PipelineIn, form_data(request.form, ("name",)))
    if data is not None:
        try:
            deals.rename_pipeline(g.org.id, current_user.id, pipeline, data)
        except CrmError as exc:
            db.session.rollback()
            errors[exc.field or FORM_ERROR] = str(exc.message)
        else:
            return _done(pipeline, _("Saved."))
    return _page(pipeline, 422, pipeline_errors=errors, values={"pipeline": request.form})


@bp.post("/pipelines/<int:pipeline_id>/delete")
@require("crm:admin")
def pipelines_delete(pipeline_id: int) -> Any:
    """Remove a pipeline that holds no deals."""
    pipeline = get_scoped_or_404(Pipeline, pipeline_id)
    name = pipeline.name
    try:
        deals.delete_pipeline(g.org.id, current_user.id, pipeline)
    except CrmError as exc:
        db.session.rollback()
        return _page(pipeline, 422, pipeline_errors=FormErrors({FORM_ERROR: str(exc.message)}))
    db.session.commit()
    return redirect_to(url_for("crm.pipelines_index"), _("Pipeline %(name)s removed.", name=name))


@bp.post("/pipelines/<int:pipeline_id>/stages")
@require("crm:admin")
def stages_create(pipeline_id: int) -> Any:
    """Add a stage; an open one goes before won and lost."""
    pipeline = get_scoped_or_404(Pipeline, pipeline_id)
    data, errors = parse(StageIn, form_data(request.form, ("name", "probability", "kind")))
    if data is not None:
        try:
            stage = deals.save_stage(g.org.id, current_user.id, pipeline, data)
        except CrmError as exc:
            db.session.rollback()
            errors[exc.field or FORM_ERROR] = str(exc.message)
        else:
            return _done(pipeline, _("Stage %(name)s added.", name=stage.name))
    return _page(pipeline, 422, new_stage_errors=errors, values={"new_stage": request.form})


@bp.post("/stages/<int:stage_id>")
@require("crm:admin")
def stages_update(stage_id: int) -> Any:
    """Rename a stage, or change its probability or kind."""
    stage = get_scoped_or_404(Stage, stage_id)
    pipeline = stage.pipeline
    data, errors = parse(StageIn, form_data(request.form, ("name", "probability", "kind")))
    if data is not None:
        try:
            deals.save_stage(g.org.id, current_user.id, pipeline, data, stage)
        except CrmError as exc:
            db.session.rollback()
            errors[exc.field or FORM_ERROR] = str(exc.message)
        else:
            return _done(pipeline, _("Saved."))
    return _page(pipeline, 422, stage_errors={stage.id: errors}, values={stage.id: request.form})


@bp.post("/stages/<int:stage_id>/<any(up, down):direction>")
@require("crm:admin")
def stages_shift(stage_id: int, direction: str) -> Any:
    """Move a stage one place earlier or later."""
    stage = get_scoped_or_404(Stage, stage_id)
    pipeline = stage.pipeline
    deals.shift_stage(g.org.id, current_user.id, stage, -1 if direction == "up" else 1)
    return _done(pipeline, _("Order saved."))


@bp.post("/stages/<int:stage_id>/delete")
@require("crm:admin")
def stages_delete(stage_id: int) -> Any:
    """Remove a stage. One holding deals is refused, unless its deals are sent elsewhere."""
    stage = get_scoped_or_404(Stage, stage_id)
    pipeline, name = stage.pipeline, stage.name
    raw = request.form.get("move_to", "")
    move_to = None
    if raw.isdigit():
        move_to = db.session.get(Stage, int(raw))
        if move_to is None or move_to.org_id != g.org.id:
            move_to = None
    try:
        deals.delete_stage(g.org.id, current_user.id, stage, move_to)
    except CrmError as exc:
        db.session.rollback()
        db.session.expire_all()
        return _page(
            pipeline, 422, stage_errors={stage.id: FormErrors({"delete": str(exc.message)})}
        )
    return _done(pipeline, _("Stage %(name)s removed.", name=name))

"""Staff review desk: filtered list and search, request detail (transcript, decision snapshot, notes,
audit trail), the status workflow, CSV / Excel export, charts, and open requests whose decision would
change under the current rulebook.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.eligibility import CaseError
from bot.eligibility.intake import check
from bot.store import erasure, help_requests
from bot.web import charts, exports
from bot.web.labels import CATEGORIES, STATUSES, TRANSITIONS, URGENCIES
from bot.web.operator import district_choices
from bot.web.rasa_api import RasaUnavailable, transcript
from bot.web.security import page
from bot.web.templating import render

OPEN_STATUSES = ("new", "in_progress")
EXPORT_MAX_ROWS = 50000
LIST_LIMIT = 200


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def parse_filters(params: Any, districts: list[str]) -> tuple[dict, list[str]]:
    """Filters from the query string, each checked against its allowed values; bad ones are dropped
    with a Chinese note instead of failing the page."""
    problems: list[str] = []
    out: dict[str, Any] = {}
    for key, allowed, name in (
        ("status", STATUSES, "状态"),
        ("category", CATEGORIES, "类别"),
        ("urgency", URGENCIES, "紧急程度"),
    ):
        value = params.get(key) or None
        if value and value not in allowed:
            problems.append(f"{name}「{value}」不存在，已忽略。")
            value = None
        out[key] = value
    district = params.get("district") or None
    if district and districts and district not in districts:
        problems.append(f"区县「{district}」不存在，已忽略。")
        district = None
    out["district"] = district
    for key, name in (("date_from", "开始日期"), ("date_to", "结束日期")):
        raw = params.get(key) or None
        parsed = _date(raw)
        if raw and parsed is None:
            problems.append(f"{name}格式应为 年-月-日，已忽略。")
        out[key] = parsed
    search = (params.get("q") or "").strip()[:100]
    out["search"] = search or None
    return out, problems


def _query(filters: dict) -> str:
    return urlencode(
        {("q" if k == "search" else k): (v.isoformat() if isinstance(v, date) else v) for k, v in filters.items() if v}
    )


def _list(filters: dict, limit: int) -> list[dict]:
    return help_requests.list_requests(limit=limit, **filters)


def list_all(filters: dict) -> list[dict]:
    """Every matching request (paged through the store's per-call maximum), for exports and charts."""
    out: list[dict] = []
    while len(out) < EXPORT_MAX_ROWS:
        page_ = help_requests.list_requests(limit=help_requests.MAX_LIST_LIMIT, offset=len(out), **filters)
        out += page_
        if len(page_) < help_requests.MAX_LIST_LIMIT:
            break
    return out


@page("staff")
async def desk(request: Request) -> Response:
    districts = district_choices()
    filters, problems = parse_filters(request.query_params, districts)
    records = await run_in_threadpool(_list, filters, LIST_LIMIT)
    return render(
        request,
        "staff_list.html",
        {
            "records": records,
            "filters": filters,
            "problems": problems,
            "districts": districts,
            "query": _query(filters),
            "limit": LIST_LIMIT,
        },
    )


def _detail_context(record: dict, rasa: Any) -> dict:
    messages: list[dict] = []
    transcript_error = None
    sender = record.get("sender_id") or ""
    if sender and not sender.startswith("operator:"):
        try:
            messages = transcript(rasa.tracker(sender), for_staff=True)
        except RasaUnavailable as exc:
            transcript_error = exc.message_zh
    status = record.get("status")
    return {
        "record": record,
        "messages": messages,
        "transcript_error": transcript_error,
        "next_statuses": sorted(TRANSITIONS.get(status, ())),
        "snapshot": record.get("decision_snapshot") or None,
    }


@page("staff")
async def detail(request: Request) -> Response:
    ref = request.path_params["ref"]
    record = await run_in_threadpool(help_requests.get_request, ref)
    if not record:
        return render(request, "error.html", {"message": f"没有找到编号为 {ref} 的求助。"}, 404)
    ctx = await run_in_threadpool(_detail_context, record, request.app.state.rasa)
    ctx["flash"] = request.query_params.get("ok") and "已保存。"
    return render(request, "staff_detail.html", ctx)


@page("staff")
async def reveal_phone(request: Request) -> Response:
    """The detail page with the full phone number, once, with an audit entry naming who looked."""
    ref = request.path_params["ref"]
    record = await run_in_threadpool(help_requests.get_request, ref, None, f"staff:{request.state.user.username}")
    if not record:
        return render(request, "error.html", {"message": f"没有找到编号为 {ref} 的求助。"}, 404)
    ctx = await run_in_threadpool(_detail_context, record, request.app.state.rasa)
    ctx["revealed"] = True
    response = render(request, "staff_detail.html", ctx)
    response.headers["Cache-Control"] = "no-store"
    return response


@page("staff")
async def privacy_page(request: Request) -> Response:
    return render(request, "staff_privacy.html", {})


@page("staff")
async def privacy_action(request: Request) -> Response:
    """Export (JSON download) or erase one person's data, by phone number or reference number. Audited."""
    form = await request.form()
    phone = str(form.get("phone") or "").strip()[:32] or None
    reference = str(form.get("reference_no") or "").strip()[:32] or None
    action = str(form.get("action") or "")
    actor = f"staff:{request.state.user.username}"
    ctx: dict[str, Any] = {"form": {"phone": phone or "", "reference_no": reference or ""}}
    try:
        if action == "export":
            data = await run_in_threadpool(erasure.export_person, actor, phone, reference)
            return Response(
                json.dumps(data, ensure_ascii=False, indent=1, default=str),
                media_type="application/json; charset=utf-8",
                headers={
                    "Content-Disposition": 'attachment; filename="personal-data.json"',
                    "Cache-Control": "no-store",
                },
            )
        if action == "erase":
            if str(form.get("confirm") or "") != "删除":
                raise ValueError("删除不可恢复：请在确认框里输入「删除」两个字。")
            counts = await run_in_threadpool(erasure.erase_person, actor, phone, reference)
            ctx["done"] = counts
            return render(request, "staff_privacy.html", ctx)
        raise ValueError("请选择导出或删除。")
    except ValueError as exc:
        ctx["error"] = str(exc)
        return render(request, "staff_privacy.html", ctx, 400)


@page("staff")
async def change_status(request: Request) -> Response:
    ref = request.path_params["ref"]
    form = await request.form()
    status = str(form.get("status") or "")
    note = str(form.get("note") or "").strip()[:2000] or None
    assignee = str(form.get("assignee") or "").strip()[:64] or None
    actor = f"staff:{request.state.user.username}"
    record = await run_in_threadpool(help_requests.get_request, ref)
    if not record:
        return render(request, "error.html", {"message": f"没有找到编号为 {ref} 的求助。"}, 404)
    try:
        if status not in STATUSES:
            raise ValueError("请选择新的状态。")
        await run_in_threadpool(help_requests.update_status, ref, status, actor, note, assignee)
    except ValueError as exc:
        ctx = await run_in_threadpool(_detail_context, record, request.app.state.rasa)
        ctx.update(error=str(exc), form={"status": status, "note": note or "", "assignee": assignee or ""})
        return render(request, "staff_detail.html", ctx, 400)
    return RedirectResponse(f"/staff/requests/{ref}?ok=1", status_code=303)


@page("staff")
async def export(request: Request) -> Response:
    fmt = request.path_params["fmt"]
    if fmt not in ("csv", "xlsx"):
        return render(request, "error.html", {"message": "只能导出 CSV 或 Excel。"}, 404)
    filters, _ = parse_filters(request.query_params, district_choices())
    records = await run_in_threadpool(list_all, filters)
    stamp = date.today().strftime("%Y%m%d")
    if fmt == "csv":
        body, media = await run_in_threadpool(exports.to_csv, records), "text/csv; charset=utf-8"
    else:
        body = await run_in_threadpool(exports.to_xlsx, records)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(
        body,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="help-requests-{stamp}.{fmt}"',
            "Cache-Control": "no-store",
        },
    )


def _chart_data() -> dict:
    records = list_all({})
    counts = charts.request_counts(records)
    return {
        "charts": [
            ("各区县求助数", charts.bars(counts["district"])),
            ("各类别求助数", charts.bars(counts["category"])),
            ("每周求助数", charts.bars(counts["week"])),
            ("资格测算结果", charts.bars(charts.eligibility_outcomes())),
        ],
        "total": len(records),
    }


@page("staff")
async def chart_page(request: Request) -> Response:
    return render(request, "staff_charts.html", await run_in_threadpool(_chart_data))


def changed_decisions(records: list[dict]) -> list[dict]:
    """Open requests whose stored decision differs from what the current rulebook decides today."""
    candidates = []
    for record in records:
        snapshot = record.get("decision_snapshot")
        if isinstance(snapshot, dict) and isinstance(snapshot.get("case"), dict):
            candidates.append((record, snapshot["case"], snapshot.get("result") or {}))
    if not candidates:
        return []
    changed = []
    for record, case, before in candidates:
        current_case = {k: v for k, v in case.items() if k != "as_of"}
        try:
            _, now = check(current_case)
        except CaseError as exc:
            changed.append({"record": record, "before": before, "after": None, "error": exc.message_zh})
            continue
        if now.get("eligible") != before.get("eligible"):
            changed.append({"record": record, "before": before, "after": now, "error": None})
    return changed


def review_data() -> dict:
    records: list[dict] = []
    for status in OPEN_STATUSES:
        records += list_all({"status": status})
    return {"changed": changed_decisions(records), "checked": len(records)}


@page("staff")
async def review(request: Request) -> Response:
    return render(request, "staff_review.html", await run_in_threadpool(review_data))


def routes() -> list[Route]:
    return [
        Route("/staff", desk, methods=["GET"]),
        Route("/staff/requests/{ref}", detail, methods=["GET"]),
        Route("/staff/requests/{ref}/status", change_status, methods=["POST"]),
        Route("/staff/requests/{ref}/reveal", reveal_phone, methods=["POST"]),
        Route("/staff/privacy", privacy_page, methods=["GET"]),
        Route("/staff/privacy", privacy_action, methods=["POST"]),
        Route("/staff/export.{fmt:str}", export, methods=["GET"]),
        Route("/staff/charts", chart_page, methods=["GET"]),
        Route("/staff/review", review, methods=["GET"]),
    ]

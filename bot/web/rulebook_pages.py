"""The staff desk's rulebook page: every figure in force for a date and place, its dated history, and the
propose / approve / reject / withdraw workflow for new values (bot.store.rulelayer does the work and the
role checks; this module is the door).

After an approval the page lists the open help requests whose decision snapshot flips under the new
rulebook (the same check as /staff/review), so staff can call those residents back.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.rulebook import ParamValue, Rulebook, default_rulebook
from bot.rulebook.current import forget_layer
from bot.rulebook.layer import ProposalError
from bot.rulebook.review import FLAGS_ZH, STALE_YEARS, review_flags
from bot.store import rulelayer
from bot.web.security import page
from bot.web.staff import review_data
from bot.web.templating import render

VIEWERS = ("staff", "policy_editor", "policy_approver")
KINDS_ZH = {"exact": "确切值", "floor": "下限（不低于）", "ceiling": "上限（最多）"}
RESIDENCES_ZH = {"": "城乡通用", "urban": "城市", "rural": "农村"}
FORM_FIELDS = (
    "parameter_id",
    "value",
    "unit",
    "kind",
    "effective_from",
    "district",
    "residence",
    "doc_no",
    "doc_title",
    "doc_date",
    "doc_url",
    "note",
)


def _place(rb: Rulebook, params: Any) -> tuple[date, str | None, str | None, list[str]]:
    """Date, district and residence asked for; unreadable ones fall back with a note (never a failure)."""
    notes: list[str] = []
    on = date.today()
    raw_on = params.get("on") or ""
    if raw_on:
        try:
            on = date.fromisoformat(raw_on)
        except ValueError:
            notes.append("日期格式应为 年-月-日，已改用今天。")
    district = params.get("district") or None
    if district and district not in rb.districts:
        notes.append(f"县区「{district}」不存在，已显示全市数值。")
        district = None
    residence = params.get("residence") or None
    if residence not in (None, "urban", "rural"):
        residence = None
    return on, district, residence, notes


def _rows(rb: Rulebook, on: date, district: str | None, residence: str | None, show: str) -> list[dict]:
    rows = []
    for pid in rb.ids():
        value: ParamValue = rb.value(pid, on, district, residence)
        flags = review_flags(value, on)
        if show and (show not in flags if show != "any" else not flags):
            continue
        param = rb.parameters[pid]
        rows.append(
            {
                "pid": pid,
                "v": value,
                "flags": sorted(flags),
                "unit": param.unit,
                "approved": any(e.proposal_id is not None for e in param.entries),
            }
        )
    return rows


def _overview(params: Any) -> dict:
    rb = default_rulebook()
    on, district, residence, notes = _place(rb, params)
    show = params.get("show") or ""
    if show not in ("", "any", *FLAGS_ZH):
        show = ""
    return {
        "rows": _rows(rb, on, district, residence, show),
        "on": on,
        "district": district or "",
        "residence": residence or "",
        "show": show,
        "notes": notes,
        "districts": rb.districts,
        "pending": rulelayer.list_proposals("pending"),
        "version": rb.version,
    }


def _history(pid: str) -> dict | None:
    rb = default_rulebook()
    param = rb.parameters.get(pid)
    if param is None:
        return None
    entries = [{"v": v, "entry": e} for e, v in zip(param.entries, rb.history(pid))]
    proposals = [p for p in rulelayer.list_proposals() if p["parameter_id"] == pid]
    return {"param": param, "entries": entries, "proposals": proposals, "districts": rb.districts}


def _context(extra: dict) -> dict:
    return {
        "KINDS_ZH": KINDS_ZH,
        "RESIDENCES_ZH": RESIDENCES_ZH,
        "FLAGS_ZH": FLAGS_ZH,
        "STALE_YEARS": STALE_YEARS,
        "ROLES_ZH": rulelayer.POLICY_ROLES,
        **extra,
    }


@page(*VIEWERS)
async def overview(request: Request) -> Response:
    data = await run_in_threadpool(_overview, request.query_params)
    return render(request, "staff_rulebook.html", _context(data))


async def _param_page(request: Request, pid: str, extra: dict | None = None, status: int = 200) -> Response:
    data = await run_in_threadpool(_history, pid)
    if data is None:
        return render(request, "error.html", {"message": f"没有参数 {pid}。"}, 404)
    return render(request, "staff_rulebook_param.html", _context({**data, **(extra or {})}), status)


def _done_note(raw: str | None) -> str | None:
    """'提案 #3：待审核' for ?done=3 (the note is built here, never taken from the URL)."""
    if not raw or not raw.isdigit():
        return None
    record = rulelayer.get_proposal(int(raw))
    return f"提案 #{record['id']}：{record['status_zh']}" if record else None


@page(*VIEWERS)
async def parameter(request: Request) -> Response:
    note = await run_in_threadpool(_done_note, request.query_params.get("done"))
    return await _param_page(request, request.path_params["pid"], {"flash": note})


@page("policy_editor")
async def propose(request: Request) -> Response:
    form = await request.form()
    data = {key: str(form.get(key, "")) for key in FORM_FIELDS}
    user = request.state.user.username
    try:
        created = await run_in_threadpool(rulelayer.propose, data, user)
    except (ProposalError, rulelayer.PolicyActionRefused, ValueError) as exc:
        if data["parameter_id"] not in default_rulebook().parameters:
            return render(request, "error.html", {"message": str(exc)}, 400)
        extra = {"form": data, "error": str(exc), "error_field": getattr(exc, "field", "")}
        return await _param_page(request, data["parameter_id"], extra, 400)  # the input is kept in the form
    return RedirectResponse(f"/staff/rulebook/p/{created['parameter_id']}?done={created['id']}", status_code=303)


def _approve(proposal_id: int, user: str) -> dict:
    record = rulelayer.approve(proposal_id, user)
    forget_layer()  # this process answers with the new value at once; the others within a second
    return {"record": record, **review_data()}


async def _decide(request: Request, action: str) -> Response:
    proposal_id = request.path_params["id"]
    user = request.state.user.username
    try:
        if action == "approve":
            data = await run_in_threadpool(_approve, proposal_id, user)
            return render(request, "staff_rulebook_done.html", _context(data))
        if action == "reject":
            form = await request.form()
            record = await run_in_threadpool(rulelayer.reject, proposal_id, user, form.get("reason"))
        else:
            record = await run_in_threadpool(rulelayer.withdraw, proposal_id, user)
    except (ProposalError, rulelayer.PolicyActionRefused, ValueError) as exc:
        return render(request, "error.html", {"message": str(exc)}, 400)
    return RedirectResponse(f"/staff/rulebook/p/{record['parameter_id']}?done={record['id']}", status_code=303)


@page("policy_approver")
async def approve(request: Request) -> Response:
    return await _decide(request, "approve")


@page("policy_approver")
async def reject(request: Request) -> Response:
    return await _decide(request, "reject")


@page("policy_editor")
async def withdraw(request: Request) -> Response:
    return await _decide(request, "withdraw")


def routes() -> list[Route]:
    return [
        Route("/staff/rulebook", overview, methods=["GET"]),
        Route("/staff/rulebook/p/{pid:str}", parameter, methods=["GET"]),
        Route("/staff/rulebook/proposals", propose, methods=["POST"]),
        Route("/staff/rulebook/proposals/{id:int}/approve", approve, methods=["POST"]),
        Route("/staff/rulebook/proposals/{id:int}/reject", reject, methods=["POST"]),
        Route("/staff/rulebook/proposals/{id:int}/withdraw", withdraw, methods=["POST"]),
    ]

"""Rulebook values entered in the staff desk: propose, approve (a second person), reject, withdraw.

Why in the store: an approved value is data with an audit trail, like a help request. Approved rows are
the dated layer bot.rulebook composes above policies/*.yml. Every approval bumps the one-row version
counter in the same transaction, which is how every process (web, action servers, Rasa instances)
learns that its rulebook is out of date (bot.rulebook.current reads it at most once a second).

Who may do what is checked here, against the roles in the database at the moment of the action (not the
login session's copy), so a role revoked a minute ago already counts:
- propose: policy_editor (or admin); withdraw: only the proposer, only while pending;
- approve / reject: policy_approver (or admin), and never the proposer (four eyes).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.rulebook import baseline_rulebook
from bot.rulebook.layer import LayerValue, ProposalError, compose, parse_form_value, validate_proposal
from bot.rulebook.lookup import Rulebook
from bot.store.common import clean_text, iso, local_now, utcnow, write_audit
from bot.store.db import session_scope
from bot.store.models import Account, AccountRole, PolicyProposal, RulebookLayerVersion

POLICY_ROLES: dict[str, str] = {"policy_editor": "数值录入", "policy_approver": "数值审核"}
STATUSES_ZH = {"pending": "待审核", "approved": "已批准", "rejected": "已退回", "withdrawn": "已撤回"}


class PolicyActionRefused(ValueError):
    """The actor may not do this (role, four eyes, wrong status): a Chinese message for the page."""


# --- roles -----------------------------------------------------------------------------------------


def _account(session: Session, username: str) -> Account | None:
    return session.execute(sa.select(Account).where(Account.username == username)).scalar_one_or_none()


def _roles(session: Session, username: str) -> set[str]:
    account = _account(session, username)
    if account is None or not account.active:
        return set()
    extra = session.execute(sa.select(AccountRole.role).where(AccountRole.account_id == account.id)).scalars()
    return {account.role, *extra}


def roles_of(username: str, url: str | None = None) -> set[str]:
    """Every role the (active) account holds: its main role plus granted policy roles."""
    with session_scope(url) as session:
        return _roles(session, username)


def grant_role(username: str, role: str, actor: str = "system", url: str | None = None) -> set[str]:
    """Give an account a policy role (idempotent). Audited."""
    if role not in POLICY_ROLES:
        raise ValueError("只能授予：" + "、".join(f"{k}（{v}）" for k, v in POLICY_ROLES.items()))
    with session_scope(url) as session:
        account = _account(session, username)
        if account is None:
            raise ValueError(f"账号 {username} 不存在")
        if session.get(AccountRole, (account.id, role)) is None:
            session.add(AccountRole(account_id=account.id, role=role))
            write_audit(session, actor, "role_grant", None, {"username": username, "role": role})
        session.flush()
        return _roles(session, username)


def revoke_role(username: str, role: str, actor: str = "system", url: str | None = None) -> set[str]:
    """Take a policy role away (idempotent). Audited."""
    with session_scope(url) as session:
        account = _account(session, username)
        if account is None:
            raise ValueError(f"账号 {username} 不存在")
        row = session.get(AccountRole, (account.id, role))
        if row is not None:
            session.delete(row)
            write_audit(session, actor, "role_revoke", None, {"username": username, "role": role})
        session.flush()
        return _roles(session, username)


def _require_role(session: Session, actor: str, role: str) -> None:
    held = _roles(session, actor)
    if role not in held and "admin" not in held:
        raise PolicyActionRefused(f"您的账号没有“{POLICY_ROLES[role]}”权限，请联系管理员授予")


# --- proposals -------------------------------------------------------------------------------------


def _layer_value(row: PolicyProposal) -> LayerValue:
    return LayerValue(
        parameter_id=row.parameter_id,
        value=row.value,
        kind=row.kind,
        effective_from=row.effective_from,
        districts=tuple(row.districts) if row.districts else None,
        residence=row.residence,
        doc_no=row.doc_no or "",
        doc_title=row.doc_title or "",
        doc_date=row.doc_date,
        doc_url=row.doc_url or "",
        note_zh=row.note or "",
        proposal_id=row.id,
    )


def _record(row: PolicyProposal) -> dict[str, Any]:
    return {
        "id": row.id,
        "parameter_id": row.parameter_id,
        "value": row.value,
        "kind": row.kind,
        "effective_from": row.effective_from.isoformat(),
        "districts": list(row.districts or []),
        "residence": row.residence,
        "doc_no": row.doc_no,
        "doc_title": row.doc_title,
        "doc_date": row.doc_date.isoformat() if row.doc_date else "",
        "doc_url": row.doc_url,
        "note": row.note,
        "status": row.status,
        "status_zh": STATUSES_ZH[row.status],
        "proposed_by": row.proposed_by,
        "proposed_at": iso(row.proposed_at),
        "decided_by": row.decided_by,
        "decided_at": iso(row.decided_at),
        "decision_reason": row.decision_reason,
    }


def _date_field(raw: Any, field: str, required: bool) -> date | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            raise ProposalError(field, "请填写日期（年-月-日）")
        return None
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        raise ProposalError(field, f"日期格式应为 年-月-日（如 2026-01-01），实际是“{raw}”") from None


def proposal_from_form(form: dict[str, Any], rulebook: Rulebook) -> tuple[LayerValue, str | None]:
    """The form's fields as a LayerValue (plus the unit typed, if any), typed the way the YAML loader reads
    them. ProposalError names the field when a field cannot even be read."""
    pid = str(form.get("parameter_id") or "").strip()
    param = rulebook.parameters.get(pid)
    if param is None:
        raise ProposalError("parameter_id", f"未知参数“{pid}”，请从列表中选择")
    district = str(form.get("district") or "").strip()
    districts = None
    if district:
        canonical = rulebook.normalise_district(district)
        if canonical is None:
            raise ProposalError("districts", f"未知县区“{district}”，请从列表中选择")
        districts = (canonical,)
    texts = {}
    for key, field_zh, limit in (
        ("doc_no", "文号", 64),
        ("doc_title", "文件标题", 200),
        ("doc_url", "文件链接", 500),
        ("note", "说明", 500),
    ):
        try:
            texts[key] = clean_text(form.get(key), field_zh, limit, required=False) or ""
        except ValueError as exc:
            raise ProposalError("note_zh" if key == "note" else key, str(exc)) from None
    value = LayerValue(
        parameter_id=pid,
        value=parse_form_value(param.type, form.get("value")),
        kind=str(form.get("kind") or "exact"),
        effective_from=_date_field(form.get("effective_from"), "from", True),
        districts=districts,
        residence=str(form.get("residence") or "").strip() or None,
        doc_no=texts["doc_no"],
        doc_title=texts["doc_title"],
        doc_date=_date_field(form.get("doc_date"), "doc_date", False),
        doc_url=texts["doc_url"],
        note_zh=texts["note"],
    )
    unit = form.get("unit")
    return value, unit if isinstance(unit, str) else None


def _in_force(session: Session, files: Rulebook | None, lock: bool) -> Rulebook:
    """The files plus the approved values as this transaction sees them (not a process's cached copy, which
    may be a second old). `lock` takes the version row first, so two approvals run one after the other
    and the second is checked against the first (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises)."""
    query = sa.select(RulebookLayerVersion.version).where(RulebookLayerVersion.id == 1)
    version = session.execute(query.with_for_update() if lock else query).scalar_one_or_none() or 0
    rows = session.execute(
        sa.select(PolicyProposal)
        .where(PolicyProposal.status == "approved")
        .order_by(PolicyProposal.decided_at, PolicyProposal.id)
    ).scalars()
    rulebook, _ = compose(files or baseline_rulebook(), [_layer_value(r) for r in rows], f"L{version}")
    return rulebook


def propose(
    form: dict[str, Any],
    actor: str,
    rulebook: Rulebook | None = None,
    today: date | None = None,
    url: str | None = None,
) -> dict[str, Any]:
    """Check and store a proposed value (status pending). ProposalError / PolicyActionRefused on refusal;
    nothing is written then. `rulebook` is the files' rulebook (default: POLICIES_DIR)."""
    today = today or local_now().date()
    with session_scope(url) as session:
        _require_role(session, actor, "policy_editor")
        in_force = _in_force(session, rulebook, lock=False)
        value, unit = proposal_from_form(form, in_force)
        validate_proposal(in_force, value, today, unit)
        row = PolicyProposal(
            parameter_id=value.parameter_id,
            value=value.value,
            kind=value.kind,
            effective_from=value.effective_from,
            districts=list(value.districts) if value.districts else None,
            residence=value.residence,
            doc_no=value.doc_no,
            doc_title=value.doc_title,
            doc_date=value.doc_date,
            doc_url=value.doc_url,
            note=value.note_zh,
            status="pending",
            proposed_by=actor,
            proposed_at=utcnow(),
        )
        session.add(row)
        session.flush()
        write_audit(session, actor, "policy_propose", None, _record(row))
        return _record(row)


def _pending(session: Session, proposal_id: int) -> PolicyProposal:
    row = session.execute(
        sa.select(PolicyProposal).where(PolicyProposal.id == int(proposal_id)).with_for_update()
    ).scalar_one_or_none()
    if row is None:
        raise PolicyActionRefused(f"提案 #{proposal_id} 不存在")
    if row.status != "pending":
        raise PolicyActionRefused(f"提案 #{proposal_id} 已{STATUSES_ZH[row.status][1:]}，不能再处理")
    return row


def approve(
    proposal_id: int, actor: str, rulebook: Rulebook | None = None, today: date | None = None, url: str | None = None
) -> dict[str, Any]:
    """Approve a pending proposal: a policy_approver who is not the proposer. The value is checked again
    against the rulebook as it is now (another value may have been approved meanwhile). Bumps the layer
    version in the same transaction."""
    today = today or local_now().date()
    with session_scope(url) as session:
        _require_role(session, actor, "policy_approver")
        in_force = _in_force(session, rulebook, lock=True)
        row = _pending(session, proposal_id)
        if row.proposed_by == actor:
            raise PolicyActionRefused("不能审批自己提交的数值：需要另一位审核人批准")
        validate_proposal(in_force, _layer_value(row), today)
        row.status, row.decided_by, row.decided_at = "approved", actor, utcnow()
        _bump_version(session)
        write_audit(session, actor, "policy_approve", None, _record(row))
        return _record(row)


def reject(proposal_id: int, actor: str, reason: Any, url: str | None = None) -> dict[str, Any]:
    """Send a proposal back with a reason (an approver, not the proposer: the proposer withdraws)."""
    text = clean_text(reason, "退回理由", 500)
    with session_scope(url) as session:
        _require_role(session, actor, "policy_approver")
        row = _pending(session, proposal_id)
        if row.proposed_by == actor:
            raise PolicyActionRefused("不能退回自己提交的数值：请用“撤回”")
        row.status, row.decided_by, row.decided_at, row.decision_reason = "rejected", actor, utcnow(), text
        write_audit(session, actor, "policy_reject", None, _record(row))
        return _record(row)


def withdraw(proposal_id: int, actor: str, url: str | None = None) -> dict[str, Any]:
    """The proposer takes back a pending proposal."""
    with session_scope(url) as session:
        row = _pending(session, proposal_id)
        if row.proposed_by != actor:
            raise PolicyActionRefused("只有提交人可以撤回这条提案")
        row.status, row.decided_by, row.decided_at = "withdrawn", actor, utcnow()
        write_audit(session, actor, "policy_withdraw", None, _record(row))
        return _record(row)


def list_proposals(status: str | None = None, url: str | None = None) -> list[dict[str, Any]]:
    """Proposals, newest first (optionally of one status)."""
    query = sa.select(PolicyProposal).order_by(PolicyProposal.id.desc())
    if status:
        query = query.where(PolicyProposal.status == status)
    with session_scope(url) as session:
        return [_record(r) for r in session.execute(query).scalars()]


def get_proposal(proposal_id: int, url: str | None = None) -> dict[str, Any] | None:
    with session_scope(url) as session:
        row = session.get(PolicyProposal, int(proposal_id))
        return _record(row) if row is not None else None


# --- the layer as the rulebook reads it ------------------------------------------------------------


def _bump_version(session: Session) -> None:
    updated = session.execute(
        sa.update(RulebookLayerVersion)
        .where(RulebookLayerVersion.id == 1)
        .values(version=RulebookLayerVersion.version + 1, changed_at=utcnow())
    ).rowcount
    if not updated:
        session.add(RulebookLayerVersion(id=1, version=1, changed_at=utcnow()))


def layer_version(url: str | None = None) -> int:
    """The layer's version counter: one indexed single-row read (the per-second change check)."""
    with session_scope(url) as session:
        return int(
            session.execute(
                sa.select(RulebookLayerVersion.version).where(RulebookLayerVersion.id == 1)
            ).scalar_one_or_none()
            or 0
        )


def approved_layer(url: str | None = None) -> tuple[int, list[LayerValue]]:
    """(version, approved values in approval order), read in one transaction so they belong together."""
    with session_scope(url) as session:
        version = int(
            session.execute(
                sa.select(RulebookLayerVersion.version).where(RulebookLayerVersion.id == 1)
            ).scalar_one_or_none()
            or 0
        )
        rows = session.execute(
            sa.select(PolicyProposal)
            .where(PolicyProposal.status == "approved")
            .order_by(PolicyProposal.decided_at, PolicyProposal.id)
        ).scalars()
        return version, [_layer_value(r) for r in rows]

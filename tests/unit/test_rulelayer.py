"""The approved-value layer: proposal checks (every refusal), the four-eyes workflow with roles and audit,
layering by date and region, the export round trip, and the change signal reaching default_rulebook().

A small rulebook of its own (written below) keeps these figures independent of policies/*.yml.
"""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.rulebook import load_rulebook
from bot.rulebook.layer import LayerValue, ProposalError, compose, export_layer_yaml, layer_from_yaml

TODAY = date(2026, 11, 30)
POLICIES = {
    "regions.yml": """
        districts:
          - {name: 海港区, aliases: [海港]}
          - {name: 青龙满族自治县, aliases: [青龙, 青龙县]}
        offices:
          county_civil_affairs: 县区民政局
        sources:
          city_2017:
            title: 秦政字〔2017〕44号
            url: http://example.gov.cn/2017-44
            published: 2017-12-01
            confidence: high
        """,
    "dibao.yml": """
        parameters:
          dibao.standard.urban_monthly:
            description_zh: 城市低保标准（每人每月）
            unit: 元/人/月
            type: number
            kind: floor
            confirm_at: county_civil_affairs
            values:
              - {from: 2018-01-01, value: 600, source: city_2017, confirmed: true}
              - {from: 2024-01-01, value: 700, kind: exact, region: {districts: [青龙满族自治县]}, source: city_2017, confirmed: false}
          dibao.ever_applied:
            description_zh: 是否可以网上申请
            unit: 是/否
            type: bool
            confirm_at: county_civil_affairs
            values:
              - {from: 2020-01-01, value: true, source: city_2017, confirmed: true}
        """,
}
FORM = {
    "parameter_id": "dibao.standard.urban_monthly",
    "value": "900",
    "unit": "元/人/月",
    "kind": "exact",
    "effective_from": "2026-01-01",
    "district": "海港区",
    "residence": "",
    "doc_no": "秦民字〔2025〕12号",
    "doc_title": "关于调整城市低保标准的通知",
    "doc_date": "2025-12-10",
    "doc_url": "https://example.gov.cn/12",
    "note": "海港区自2026年起执行",
}


@pytest.fixture()
def policies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "policies"
    folder.mkdir()
    for name, text in POLICIES.items():
        (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")
    monkeypatch.setenv("POLICIES_DIR", str(folder))
    return folder


@pytest.fixture()
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, policies: Path):
    """A migrated database with editor, approver, both (editor and approver), staff1 (staff only)."""
    from bot.rulebook import current
    from bot.store import accounts, rulelayer
    from bot.store.db import dispose_engine, upgrade_database

    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("POLICY_LAYER", "on")
    monkeypatch.setattr(current, "REFRESH_SECONDS", 0.0)
    current.forget_layer()
    upgrade_database(url)
    for name in ("editor", "approver", "both", "staff1"):
        accounts.create_account(name, f"password-{name}-1", "staff")
    rulelayer.grant_role("editor", "policy_editor")
    rulelayer.grant_role("approver", "policy_approver")
    rulelayer.grant_role("both", "policy_editor")
    rulelayer.grant_role("both", "policy_approver")
    yield url
    current.forget_layer()
    dispose_engine(url)


def _value(**over) -> LayerValue:
    data = dict(
        parameter_id="dibao.standard.urban_monthly",
        value=900,
        kind="exact",
        effective_from=date(2026, 1, 1),
        districts=("海港区",),
        residence=None,
        doc_no="秦民字〔2025〕12号",
        doc_title="",
        doc_date=date(2025, 12, 10),
        doc_url="",
        note_zh="",
        proposal_id=1,
    )
    data.update(over)
    return LayerValue(**data)


# ------------------------------------------------------------------ every refusal, naming the field
REFUSALS = [
    ({"value": "九百"}, "value", "数值：应为数字"),
    ({"value": ""}, "value", "数值：请填写数值"),
    ({"value": "-5"}, "value", "数值：数值应为不小于0的有限数"),
    ({"unit": "元/月"}, "unit", "单位：该参数的单位是“元/人/月”"),
    ({"value": "550"}, "value", "数值：550 低于全市下限 600"),
    (
        {"district": "青龙县", "effective_from": "2024-01-01", "value": "750"},
        "from",
        "生效日期：与已有数值矛盾：2024-01-01起 青龙满族自治县 已有 700元/人/月",
    ),
    ({"district": "", "effective_from": "2018-01-01"}, "from", "生效日期：2018-01-01 早于 2021-11-28"),
    ({"effective_from": "2029-01-01"}, "from", "生效日期：2029-01-01 晚于 2028-11-28"),
    ({"effective_from": "2026-02-30"}, "from", "生效日期：日期格式应为 年-月-日"),
    ({"doc_no": "", "doc_title": ""}, "doc_no", "文号：请填写文件的文号或标题"),
    ({"doc_url": "www.example.gov.cn"}, "url", "文件链接：网址应以 http:// 或 https:// 开头"),
    ({"doc_date": "2027-01-01"}, "doc_date", "发文日期：2027-01-01 还没到"),
    ({"district": "北戴河新区"}, "districts", "县区：未知县区“北戴河新区”"),
    ({"residence": "town"}, "residence", "城乡：应为 城市 或 农村"),
    ({"kind": "most"}, "kind", "数值类型：应为 确切值 / 下限 / 上限 之一"),
    ({"parameter_id": "dibao.nothing"}, "parameter_id", "参数：未知参数“dibao.nothing”"),
    ({"parameter_id": "dibao.ever_applied", "unit": "", "value": "也许"}, "value", "数值：应为 true、false 或 null"),
    (
        {"parameter_id": "dibao.ever_applied", "unit": "", "value": "否", "kind": "floor"},
        "kind",
        "数值类型：只有数值参数可以是下限",
    ),
    ({"note": "很" * 501}, "note_zh", "说明：说明太长了"),
]


@pytest.mark.parametrize("change, field, message", REFUSALS, ids=[r[1] + ":" + r[2][:12] for r in REFUSALS])
def test_a_proposal_is_refused_with_the_field_named(db, change, field, message):
    from bot.store import rulelayer

    with pytest.raises(ProposalError) as refused:
        rulelayer.propose({**FORM, **change}, "editor", today=TODAY)
    assert refused.value.field == field
    assert str(refused.value).startswith(message), str(refused.value)
    assert rulelayer.list_proposals() == []  # nothing was written


def test_the_form_accepts_what_the_file_validator_accepts(db):
    from bot.store import rulelayer

    created = rulelayer.propose({**FORM, "value": "900.0"}, "editor", today=TODAY)
    assert (created["value"], created["status"], created["districts"]) == (900, "pending", ["海港区"])
    rural = rulelayer.propose(
        {**FORM, "district": "青龙", "value": "1,000", "effective_from": "2026-03-01"}, "editor", today=TODAY
    )
    assert (rural["value"], rural["districts"]) == (1000, ["青龙满族自治县"])


# ------------------------------------------------------------------ four eyes, roles, audit
def _audit(url: str) -> list[tuple[str, str]]:
    from bot.store.db import session_scope
    from bot.store.models import AuditEntry

    with session_scope(url) as session:
        return [
            (a.actor, a.action)
            for a in session.execute(sa.select(AuditEntry).order_by(AuditEntry.id)).scalars()
            if a.action.startswith("policy_")
        ]


def test_nobody_approves_their_own_value_and_roles_are_required(db):
    from bot.store import rulelayer

    with pytest.raises(rulelayer.PolicyActionRefused, match="没有“数值录入”权限"):
        rulelayer.propose(FORM, "staff1", today=TODAY)
    with pytest.raises(rulelayer.PolicyActionRefused, match="没有“数值录入”权限"):
        rulelayer.propose(FORM, "approver", today=TODAY)
    mine = rulelayer.propose(FORM, "both", today=TODAY)
    with pytest.raises(rulelayer.PolicyActionRefused, match="不能审批自己提交的数值"):
        rulelayer.approve(mine["id"], "both", today=TODAY)
    with pytest.raises(rulelayer.PolicyActionRefused, match="不能退回自己提交的数值"):
        rulelayer.reject(mine["id"], "both", "写错了")
    with pytest.raises(rulelayer.PolicyActionRefused, match="没有“数值审核”权限"):
        rulelayer.approve(mine["id"], "editor", today=TODAY)
    with pytest.raises(rulelayer.PolicyActionRefused, match="只有提交人可以撤回"):
        rulelayer.withdraw(mine["id"], "approver")
    assert rulelayer.approve(mine["id"], "approver", today=TODAY)["status"] == "approved"
    with pytest.raises(rulelayer.PolicyActionRefused, match="已批准，不能再处理"):
        rulelayer.approve(mine["id"], "approver", today=TODAY)
    assert _audit(db) == [("both", "policy_propose"), ("approver", "policy_approve")]


def test_a_revoked_role_counts_at_once_and_rejection_needs_a_reason(db):
    from bot.store import rulelayer

    first = rulelayer.propose(FORM, "editor", today=TODAY)
    rulelayer.revoke_role("approver", "policy_approver")
    with pytest.raises(rulelayer.PolicyActionRefused):
        rulelayer.approve(first["id"], "approver", today=TODAY)
    with pytest.raises(ValueError, match="请填写退回理由"):
        rulelayer.reject(first["id"], "both", "  ")
    rejected = rulelayer.reject(first["id"], "both", "文号有误")
    assert (rejected["status"], rejected["decision_reason"]) == ("rejected", "文号有误")
    second = rulelayer.propose(FORM, "editor", today=TODAY)
    assert rulelayer.withdraw(second["id"], "editor")["status"] == "withdrawn"
    assert _audit(db) == [
        ("editor", "policy_propose"),
        ("both", "policy_reject"),
        ("editor", "policy_propose"),
        ("editor", "policy_withdraw"),
    ]
    assert rulelayer.approved_layer()[1] == []


def test_an_approved_value_contradicts_a_second_one_for_the_same_day_and_place(db):
    from bot.store import rulelayer

    rulelayer.approve(rulelayer.propose(FORM, "editor", today=TODAY)["id"], "approver", today=TODAY)
    with pytest.raises(
        ProposalError, match="与已有数值矛盾：2026-01-01起 海港区 已有 900元/人/月（来源：秦民字〔2025〕12号）"
    ):
        rulelayer.propose({**FORM, "value": "950"}, "editor", today=TODAY)


def test_approval_checks_again_against_values_approved_meanwhile(db):
    from bot.store import rulelayer

    first = rulelayer.propose(FORM, "editor", today=TODAY)
    rival = rulelayer.propose({**FORM, "value": "950"}, "both", today=TODAY)  # both pending: no conflict yet
    rulelayer.approve(first["id"], "approver", today=TODAY)
    with pytest.raises(ProposalError, match="与已有数值矛盾：2026-01-01起 海港区 已有 900元/人/月"):
        rulelayer.approve(rival["id"], "approver", today=TODAY)
    assert rulelayer.get_proposal(rival["id"])["status"] == "pending"
    assert [v.value for v in rulelayer.approved_layer()[1]] == [900]


# ------------------------------------------------------------------ layering by date and region
def test_layer_values_apply_from_their_date_and_only_to_their_place(policies):
    base = load_rulebook(policies)
    layer = [_value(), _value(proposal_id=2, districts=None, value=650, kind="floor", effective_from=date(2026, 7, 1))]
    rb, problems = compose(base, layer, "L2")
    assert problems == [] and rb.version == f"{base.version}+L2"
    pid = "dibao.standard.urban_monthly"
    before = rb.value(pid, date(2025, 12, 31), "海港区")
    assert (before.value, before.kind, before.source_title) == (600, "floor", "秦政字〔2017〕44号")
    haigang = rb.value(pid, date(2026, 1, 1), "海港区", "urban")
    assert (haigang.value, haigang.kind, haigang.confirmed) == (900, "exact", True)
    assert haigang.cite_zh(with_url=False) == "（2026-01-01起执行；来源：秦民字〔2025〕12号）"
    assert rb.value(pid, date(2026, 1, 1), "青龙").value == 700  # the county's own file figure stays
    assert rb.value(pid, date(2026, 1, 1)).value == 600  # city-wide
    later = rb.value(pid, date(2026, 7, 1), "海港区")
    assert (later.value, later.kind) == (650, "floor")  # a later city-wide figure replaces the district's
    assert base.value(pid, date(2026, 1, 1), "海港区").value == 600  # the files alone are unchanged


def test_a_layer_value_that_no_longer_fits_the_files_is_left_out_not_fatal(policies):
    base = load_rulebook(policies)
    rb, problems = compose(base, [_value(parameter_id="dibao.removed"), _value(proposal_id=3)], "L3")
    assert len(problems) == 1 and "提案 #1" in problems[0]
    assert rb.value("dibao.standard.urban_monthly", date(2026, 2, 1), "海港区").value == 900


def test_export_round_trip_loads_and_equals_the_layer(policies):
    base = load_rulebook(policies)
    layer = [
        _value(doc_url="https://example.gov.cn/12", note_zh="海港区"),
        _value(
            proposal_id=7,
            districts=None,
            residence="urban",
            value=650,
            kind="floor",
            effective_from=date(2026, 7, 1),
            doc_no="",
            doc_title="关于提高城市低保标准的通知",
        ),
    ]
    rb, _ = compose(base, layer, "L7")
    text = export_layer_yaml(rb)
    assert "秦民字〔2025〕12号" in text and "approved_7" in text
    again = layer_from_yaml(text, base)
    pid = "dibao.standard.urban_monthly"
    assert again.parameters[pid].entries == rb.parameters[pid].entries
    assert [e.proposal_id for e in again.parameters[pid].entries if e.proposal_id] == [1, 7]


def test_the_layer_file_is_checked_like_any_policies_file(policies):
    base = load_rulebook(policies)
    rb, _ = compose(base, [_value(value=550)], "L1")  # below the floor: left out at runtime
    assert rb.layer == ()
    broken = export_layer_yaml(compose(base, [_value()], "L1")[0]).replace("value: 900", "value: 550")
    with pytest.raises(Exception, match="低于全市下限 600"):
        layer_from_yaml(broken, base)


# ------------------------------------------------------------------ the change signal
def test_an_approval_reaches_default_rulebook_without_a_restart(db, monkeypatch):
    from bot.rulebook import current, default_rulebook
    from bot.store import rulelayer

    pid = "dibao.standard.urban_monthly"
    assert default_rulebook().value(pid, date(2026, 2, 1), "海港区").value == 600
    reads = []
    real = current.version_source
    monkeypatch.setattr(current, "version_source", lambda: reads.append(1) or real())
    rulelayer.approve(rulelayer.propose(FORM, "editor", today=TODAY)["id"], "approver", today=TODAY)
    assert default_rulebook().value(pid, date(2026, 2, 1), "海港区").value == 900
    monkeypatch.setattr(current, "REFRESH_SECONDS", 3600.0)
    reads.clear()
    default_rulebook()
    reads.clear()
    for _ in range(100):
        default_rulebook()
    assert reads == []  # within the refresh interval the database is not asked again


def test_the_files_alone_when_the_database_cannot_be_read(policies, tmp_path, monkeypatch):
    from bot.rulebook import current, default_rulebook

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'not-migrated.db'}")
    monkeypatch.setenv("POLICY_LAYER", "on")
    current.forget_layer()
    rb = default_rulebook()
    assert rb.layer == () and rb.value("dibao.standard.urban_monthly", date(2026, 2, 1), "海港区").value == 600
    current.forget_layer()


# ------------------------------------------------------------------ the CLI covers files and layer
def _cli(capsys, *args: str) -> tuple[int, str]:
    from bot.rulebook_cli import main

    code = main(list(args))
    return code, capsys.readouterr().out


def test_policies_export_check_and_diff_cover_the_layer(db, policies, tmp_path, capsys):
    from bot.store import rulelayer

    rulelayer.approve(rulelayer.propose(FORM, "editor", today=TODAY)["id"], "approver", today=TODAY)
    out_file = tmp_path / "approved.yml"
    code, out = _cli(capsys, "--policies", str(policies), "export", "--out", str(out_file))
    assert code == 0 and "已导出 1 条" in out
    assert layer_from_yaml(out_file.read_text(encoding="utf-8"), load_rulebook(policies)).layer[0].value == 900

    code, out = _cli(capsys, "--policies", str(policies), "diff", "--from", "2025-12-31", "--to", "2026-01-02")
    assert (
        code == 0
        and "dibao.standard.urban_monthly [海港区]: 600 元/人/月（不低于） 2018-01-01起 -> 900 元/人/月 2026-01-01起"
        in out
    )
    code, out = _cli(
        capsys, "--policies", str(policies), "diff", "--from", "2025-12-31", "--to", "2026-01-02", "--files-only"
    )
    assert "没有变化" in out

    code, out = _cli(capsys, "--policies", str(policies), "check", "--on", "2026-02-01")
    assert code == 0 and "已批准数值（数据库）：1 条" in out
    # the same date and place now also in a file (say, a different figure committed): check fails, names it
    dibao = policies / "dibao.yml"
    dibao.write_text(
        dibao.read_text(encoding="utf-8").replace(
            "  dibao.ever_applied:",
            "      - {from: 2026-01-01, value: 880, kind: exact, region: {districts: [海港区]}, source: city_2017, confirmed: true}\n"
            "  dibao.ever_applied:",
        ),
        encoding="utf-8",
    )
    assert "880" in dibao.read_text(encoding="utf-8")
    code, out = _cli(capsys, "--policies", str(policies), "check", "--on", "2026-02-01")
    assert code == 1 and "有问题：提案 #1（dibao.standard.urban_monthly）" in out and "与已有数值矛盾" in out


def test_users_cli_grants_and_revokes_policy_roles(db, capsys):
    from bot.store import rulelayer
    from bot.store.cli import main

    assert main(["grant", "staff1", "policy_approver"]) == 0
    assert rulelayer.roles_of("staff1") == {"staff", "policy_approver"}
    assert main(["list"]) == 0 and "另有：数值审核" in capsys.readouterr().out
    assert main(["grant", "staff1", "admin"]) == 2  # only the policy roles are granted this way
    assert main(["revoke", "staff1", "policy_approver"]) == 0
    assert rulelayer.roles_of("staff1") == {"staff"}

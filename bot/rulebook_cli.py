"""`python -m bot policies check|diff|export`: staff-facing checks of the rulebook.

Every command works on what the system answers with: the files of policies/ plus the values approved in
the staff desk (the layer in our database, DATABASE_URL); `--files-only` leaves the layer out.

check   validates policies/ and the approved layer (exit 1 with file and field when broken), then lists
        the figures in force that are unconfirmed or not found, and those more than two years old.
diff    shows every figure whose value (or kind, or confirmation) differs between two dates, per place.
export  writes the approved layer as a policies/*.yml file (to review and commit into git).
"""

from __future__ import annotations

import argparse
import sys
from datetime import date

from bot.rulebook import DEFAULT_POLICIES_DIR, ParamValue, Rulebook, RulebookError, load_rulebook
from bot.rulebook.layer import compose, export_layer_yaml
from bot.rulebook.review import STALE_YEARS, review_flags, stale_horizon
from bot.store.rulelayer import approved_layer


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"日期应为 YYYY-MM-DD：{text}") from None


def _places(rb: Rulebook, pid: str) -> list[tuple[str | None, str | None]]:
    """The (district, residence) pairs worth asking a parameter about: city-wide plus each region it names."""
    entries = rb.parameters[pid].entries
    residences = sorted({e.region.residence for e in entries}, key=str)
    if any(e.region.districts is not None for e in entries):
        districts: list[str | None] = list(rb.districts)
    else:
        districts = [None]
    return [(d, r) for d in districts for r in residences]


def _show(v: ParamValue) -> str:
    if v.effective_from is None:
        return "（无）"
    value = "未找到" if v.value is None else f"{v.value}{'' if v.unit in ('是/否',) else ' ' + v.unit}"
    kind = {"floor": "（不低于）", "ceiling": "（最多）"}.get(v.kind, "")
    return f"{value}{kind} {v.date_zh()}起{'' if v.confirmed else ' 未确认'}"


def _group(rows: dict[tuple, list[str]], every: set[str] | None = None) -> list[str]:
    """One line per distinct change; a change that holds for every district is labelled 全市."""
    lines = []
    for key, places in rows.items():
        where = "全市" if every and set(places) == every else "、".join(places)
        lines.append(f"{key[0]} [{where}]: {key[1]}")
    return lines


def _place_label(district: str | None, residence: str | None) -> str:
    res = {"urban": "城市", "rural": "农村", None: ""}[residence]
    return f"{district or '全市'}{res}"


def _effective(files: Rulebook, files_only: bool) -> tuple[Rulebook, list[str]]:
    """Files + approved layer from the database (strictly checked: every left-out value is a problem)."""
    if files_only:
        return files, []
    try:
        version, values = approved_layer()
    except Exception as exc:  # noqa: BLE001 - no database or not migrated: say so, check the files alone
        print(f"注意：无法读取数据库中的已批准数值（{type(exc).__name__}），只用规则文件", file=sys.stderr)
        return files, []
    return compose(files, values, f"L{version}")


def check(rb: Rulebook, on: date, problems: list[str] | None = None) -> int:
    print(f"规则校验通过：{rb.folder}，{len(rb.parameters)} 个参数，版本 {rb.version}，检查日期 {on}")
    print(f"已批准数值（数据库）：{len(rb.layer)} 条")
    for problem in problems or []:
        print(f"  有问题：{problem}")
    missing: dict[tuple, list[str]] = {}
    unconfirmed: dict[tuple, list[str]] = {}
    stale: dict[tuple, list[str]] = {}
    horizon = stale_horizon(on)
    for pid in rb.ids():
        for district, residence in _places(rb, pid):
            v = rb.value(pid, on, district, residence)
            if v.effective_from is None:
                continue
            place = _place_label(district, residence)
            label = f"{pid} {v.description_zh}"
            flags = review_flags(v, on)
            if "missing" in flags:
                missing.setdefault((label, f"{v.note_zh}；向{v.confirm_at_zh}确认"), []).append(place)
            if "unconfirmed" in flags:
                unconfirmed.setdefault((label, f"{_show(v)}；来源：{v.source_title}"), []).append(place)
            if "stale" in flags:
                stale.setdefault((label, _show(v)), []).append(place)
    for title, rows in (
        ("未找到数值的参数", missing),
        ("未经本地确认的数值", unconfirmed),
        (f"生效日期早于 {horizon} 的数值（超过{STALE_YEARS}年，请复核）", stale),
    ):
        print(f"\n== {title}：{len(rows)} 项 ==")
        for line in _group(rows):
            print("  " + line)
    return 1 if problems else 0


def diff(rb: Rulebook, start: date, end: date) -> int:
    print(f"{start} 与 {end} 之间有变化的数值（规则版本 {rb.version}）：")
    changed = 0
    for pid in rb.ids():
        rows: dict[tuple, list[str]] = {}
        for district, residence in _places(rb, pid):
            a, b = rb.value(pid, start, district, residence), rb.value(pid, end, district, residence)
            if (a.value, a.kind, a.confirmed, a.effective_from) != (b.value, b.kind, b.confirmed, b.effective_from):
                rows.setdefault((pid, f"{_show(a)} -> {_show(b)}"), []).append(_place_label(district, residence))
        for line in _group(rows, {_place_label(d, r) for d, r in _places(rb, pid)}):
            print("  " + line)
            changed += 1
    if not changed:
        print("  没有变化")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot policies", description="检查规则文件、列出未确认或过旧的数值、比较两个日期"
    )
    parser.add_argument("--policies", default=str(DEFAULT_POLICIES_DIR), help="规则目录（默认 policies/）")
    sub = parser.add_subparsers(dest="command", required=True)
    p_check = sub.add_parser("check", help="校验规则并列出未确认、未找到和超过两年的数值")
    p_check.add_argument("--on", type=_date, default=date.today(), help="检查哪一天有效的数值（默认今天）")
    p_diff = sub.add_parser("diff", help="比较两个日期的数值")
    p_diff.add_argument("--from", dest="start", type=_date, required=True)
    p_diff.add_argument("--to", dest="end", type=_date, required=True)
    p_export = sub.add_parser("export", help="把数据库中已批准的数值导出为规则文件格式（YAML）")
    p_export.add_argument("--out", help="写入的文件（默认输出到屏幕）")
    for p in (p_check, p_diff, p_export):
        p.add_argument("--policies", default=argparse.SUPPRESS, help="规则目录")
        p.add_argument("--files-only", action="store_true", help="只用规则文件，不叠加数据库中已批准的数值")
    args = parser.parse_args(argv)
    try:
        files = load_rulebook(args.policies)
    except RulebookError as exc:
        print(f"规则文件有误：{exc.file} 的 {exc.field}：{exc.message_zh}", file=sys.stderr)
        return 1
    rb, problems = _effective(files, args.files_only)
    if args.command == "check":
        return check(rb, args.on, problems)
    if args.command == "export":
        return export(rb, args.out)
    return diff(rb, args.start, args.end)


def export(rb: Rulebook, out: str | None) -> int:
    text = export_layer_yaml(rb)
    if out:
        with open(out, "w", encoding="utf-8") as handle:
            handle.write(text)
        print(f"已导出 {len(rb.layer)} 条已批准数值到 {out}")
    else:
        sys.stdout.write(text)
    return 0

"""The rulebook loads, looks figures up by date and place, and refuses broken or contradictory files."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import yaml

from bot.eligibility import evaluate
from bot.rulebook import DEFAULT_POLICIES_DIR, RulebookError, default_rulebook, load_rulebook

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def policies_copy(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(DEFAULT_POLICIES_DIR, target)
    return target


def _edit(folder: Path, name: str, change) -> None:
    path = folder / name
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_2017_and_2018_standards_differ_as_the_sources_say() -> None:
    rb = default_rulebook()
    v2017 = rb.value("dibao.standard.urban_monthly", date(2017, 6, 1), "海港区", "urban")
    v2018 = rb.value("dibao.standard.urban_monthly", date(2018, 6, 1), "海港区", "urban")
    assert v2017.value != v2018.value
    assert v2017.effective_from < v2018.effective_from == date(2018, 1, 1)
    assert v2018.source_title == "秦政字〔2017〕44号" and v2018.confirmed and v2018.kind == "floor"
    assert "44号" in v2018.cite_zh() and "未经本地确认" in v2017.cite_zh()


def test_district_specific_entry_wins_on_its_date_and_later_city_wide_entry_replaces_it() -> None:
    rb = default_rulebook()
    on = date(2015, 6, 1)
    haigang = rb.value("dibao.standard.urban_monthly", on, "海港区")
    lulong = rb.value("dibao.standard.urban_monthly", on, "卢龙县")
    assert haigang.value > lulong.value
    later = date(2016, 6, 1)
    assert (
        rb.value("dibao.standard.urban_monthly", later, "海港区").value
        == rb.value("dibao.standard.urban_monthly", later, "卢龙县").value
    )


def test_not_found_figures_are_unset_and_say_where_to_confirm() -> None:
    rb = default_rulebook()
    v = rb.value("temporary_assistance.multiple_of_urban_dibao", date(2026, 11, 29))
    assert v.value is None and not v.confirmed
    assert "民政局" in v.cite_zh()
    assert rb.value("dibao.standard.urban_monthly", date(2010, 1, 1)).value is None


@pytest.mark.parametrize(
    "text,canonical",
    [
        ("青龙", "青龙满族自治县"),
        ("青龙县", "青龙满族自治县"),
        ("秦皇岛市海港区", "海港区"),
        ("开发区", "秦皇岛经济技术开发区"),
        ("北戴河", "北戴河区"),
        ("北戴河新区", "北戴河新区"),
        (" 昌黎 ", "昌黎县"),
        ("石家庄", None),
        (42, None),
    ],
)
def test_short_district_names(text, canonical) -> None:
    assert default_rulebook().normalise_district(text) == canonical


def test_version_is_a_content_hash(policies_copy: Path) -> None:
    before = load_rulebook(policies_copy).version
    assert before == default_rulebook().version and len(before) == 12
    (policies_copy / "contacts.yml").write_text((policies_copy / "contacts.yml").read_text() + "\n# note\n")
    assert load_rulebook(policies_copy).version != before


def test_changing_a_yaml_value_changes_the_engine_answer(policies_copy: Path) -> None:
    case = {
        "program": "dibao",
        "as_of": "2026-11-29",
        "district": "海港区",
        "residence": "urban",
        "household": [{"monthly_income": 500}],
    }
    assert evaluate(case, load_rulebook(policies_copy))["eligible"] is True

    def lower(doc):
        doc["parameters"]["dibao.standard.urban_monthly"]["values"][-1]["value"] = 400

    _edit(policies_copy, "dibao.yml", lower)
    result = evaluate(case, load_rulebook(policies_copy))
    assert result["standard_monthly"] == 400.0 and result["eligible"] is None


@pytest.mark.parametrize(
    "file,change,field_part",
    [
        ("dibao.yml", lambda d: d["parameters"]["dibao.edge_multiple"]["values"][0].pop("source"), "source"),
        ("dibao.yml", lambda d: d["parameters"]["dibao.edge_multiple"]["values"][0].update(value="abc"), "value"),
        ("dibao.yml", lambda d: d["parameters"]["dibao.edge_multiple"]["values"][0].update(value=-1), "value"),
        (
            "dibao.yml",
            lambda d: d["parameters"]["dibao.edge_multiple"]["values"][0].update({"from": "2021-13-01"}),
            "from",
        ),
        ("dibao.yml", lambda d: d["parameters"]["dibao.edge_multiple"]["values"][0].update(source="nope"), "source"),
        (
            "dibao.yml",
            lambda d: d["parameters"]["dibao.edge_multiple"]["values"][0].update(region={"districts": ["石家庄"]}),
            "districts",
        ),
        ("dibao.yml", lambda d: d["parameters"]["dibao.edge_multiple"].update(vaules=[]), "vaules"),
        (
            "dibao.yml",
            lambda d: d["parameters"]["dibao.edge_multiple"]["values"].append(
                dict(d["parameters"]["dibao.edge_multiple"]["values"][0], value=2)
            ),
            "values[1]",
        ),
        (
            "dibao.yml",
            lambda d: d["parameters"]["dibao.standard.urban_monthly"]["values"][0].update(
                region={"districts": ["海港区"], "residence": "urban"}, value=None, confirmed=True
            ),
            "confirmed",
        ),
        (
            "monitoring.yml",
            lambda d: d["parameters"].update({"dibao.edge_multiple": d["parameters"]["monitoring.hotline"]}),
            "dibao.edge_multiple",
        ),
    ],
)
def test_broken_or_contradictory_file_is_refused_naming_file_and_field(policies_copy, file, change, field_part) -> None:
    _edit(policies_copy, file, change)
    with pytest.raises(RulebookError) as err:
        load_rulebook(policies_copy)
    assert err.value.file == file
    assert field_part in err.value.field
    assert err.value.message_zh


def test_not_yaml_is_refused(policies_copy: Path) -> None:
    (policies_copy / "dibao.yml").write_text("parameters: [unclosed", encoding="utf-8")
    with pytest.raises(RulebookError) as err:
        load_rulebook(policies_copy)
    assert err.value.file == "dibao.yml"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", "policies", *args], cwd=REPO, capture_output=True, text=True, timeout=60
    )


def test_policies_check_lists_unconfirmed_and_old_figures() -> None:
    out = _cli("check", "--on", "2026-11-29")
    assert out.returncode == 0, out.stderr
    assert "未经本地确认" in out.stdout and "超过2年" in out.stdout
    assert "temporary_assistance.multiple_of_urban_dibao" in out.stdout  # not found
    assert "dibao.standard.urban_monthly" in out.stdout  # 2018: older than two years


def test_policies_check_refuses_broken_rulebook(policies_copy: Path) -> None:
    _edit(policies_copy, "dibao.yml", lambda d: d["parameters"]["dibao.edge_multiple"].update(type="nope"))
    out = _cli("--policies", str(policies_copy), "check")
    assert out.returncode == 1 and "dibao.yml" in out.stderr and "dibao.edge_multiple.type" in out.stderr


def test_policies_diff_shows_the_2018_change() -> None:
    out = _cli("diff", "--from", "2017-06-01", "--to", "2018-06-01")
    assert out.returncode == 0
    line = next(row for row in out.stdout.splitlines() if "dibao.standard.urban_monthly" in row)
    rb = default_rulebook()
    for on in (date(2017, 6, 1), date(2018, 6, 1)):
        assert str(rb.value("dibao.standard.urban_monthly", on).value) in line
    assert "gradual_exit.max_months" not in out.stdout

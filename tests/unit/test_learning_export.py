"""`python -m bot nlu export-reviewed`: Rasa NLU YAML that Rasa reads back, deduplicated against the
training data, conflicts reported, hard examples apart, uncovered topics never exported; and the
regression check's verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.learning import export
from bot.learning.rules import Turn

TRAINING = """version: "3.1"
nlu:
- intent: ask_dibao_standard
  examples: |
    - 低保标准是多少
- intent: greet
  examples: |
    - 你好
"""


@pytest.fixture()
def db(tmp_path, monkeypatch):
    from bot.store.db import dispose_engine, upgrade_database

    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    upgrade_database(url)
    yield url
    dispose_engine(url)


def label(url: str, text: str, intent: str, hard: bool = False, note: str | None = None, ts: float = 1.0) -> None:
    from bot.learning.store import label_group, open_items, record_turn

    record_turn(
        f"web-{ts}", Turn(text, ts, "nlu_fallback", 0.4, 0.01, ("action_clarify",), "您是想问……"), ["clarify"], url
    )
    [item] = [i for i in open_items(url=url) if i["text"] == text]
    label_group(
        [item["id"]],
        intent,
        "staff:st1",
        ["ask_dibao_standard", "ask_dibao_application", "out_of_scope"],
        note,
        hard,
        url,
    )


def read(path: Path) -> list[tuple[str, str]]:
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    data = RasaYAMLReader().read(str(path))  # schema-validated as `rasa data validate` does
    return sorted((m.get("text"), m.get("intent")) for m in data.intent_examples)


def test_export_format_dedup_conflicts_hard_and_uncovered(tmp_path, db):
    nlu = tmp_path / "nlu"
    out = nlu / "reviewed"
    out.mkdir(parents=True)
    (nlu / "base.yml").write_text(TRAINING, encoding="utf-8")
    (out / "reviewed.yml").write_text(
        export.render([export.Reviewed("从前复核过的一句", "ask_dibao_application")]), encoding="utf-8"
    )
    label(db, "低保标准是多少？", "ask_dibao_standard", ts=1)  # already trained: skipped
    label(db, "你 好!!", "ask_dibao_application", ts=2)  # trained under another intent: conflict
    label(db, "俺家那个钱[咋](领)，电话138****5678", "ask_dibao_application", ts=3)
    label(db, "股票能涨吗", "out_of_scope", ts=4)
    label(db, "那个事儿咋弄", "ask_dibao_application", hard=True, ts=5)
    label(db, "养老保险怎么交", "uncovered", note="养老保险不归我们", ts=6)

    holdout = tmp_path / "holdout"
    holdout.mkdir()
    (holdout / "holdout.yml").write_text(
        export.render([export.Reviewed("今天天气咋样", "out_of_scope")]), encoding="utf-8"
    )
    label(db, "留出集里的股票能涨吗", "out_of_scope", ts=7)
    (holdout / "holdout_hard.yml").write_text(
        export.render([export.Reviewed("留出集里的股票能涨吗", "out_of_scope")]), encoding="utf-8"
    )

    result = export.export(out, nlu, db, holdout)

    assert read(out / "reviewed.yml") == [
        ("从前复核过的一句", "ask_dibao_application"),
        ("俺家那个钱［咋］(领)，电话138****5678", "ask_dibao_application"),
        ("股票能涨吗", "out_of_scope"),
    ]
    assert read(out / "hard.yml") == [("那个事儿咋弄", "ask_dibao_application")]
    assert result["skipped"] == ["低保标准是多少？", "留出集里的股票能涨吗"]  # trained already / held out
    assert len(result["conflicts"]) == 1 and "greet" in result["conflicts"][0]
    # a second run is a no-op (idempotent), and the whole folder is valid Rasa training data
    before = (out / "reviewed.yml").read_text(encoding="utf-8")
    export.export(out, nlu, db, holdout)
    assert (out / "reviewed.yml").read_text(encoding="utf-8") == before
    from rasa.shared.importers.importer import TrainingDataImporter

    data = TrainingDataImporter.load_from_dict(training_data_paths=[str(nlu)]).get_nlu_data()
    assert "股票能涨吗" in {m.get("text") for m in data.intent_examples}


def test_relabel_moves_an_example_and_cli_writes_files(tmp_path, db, capsys):
    nlu = tmp_path / "nlu"
    nlu.mkdir()
    (nlu / "base.yml").write_text(TRAINING, encoding="utf-8")
    out = nlu / "reviewed"
    label(db, "那个钱咋领", "ask_dibao_application", hard=True, ts=1)
    export.export(out, nlu, db)
    label(db, "那个钱咋领。", "ask_dibao_standard", ts=2)  # reviewed again later: the later label wins
    assert export.main(["export-reviewed", "--out", str(out), "--nlu-data", str(nlu), "--database-url", db]) == 0
    assert read(out / "reviewed.yml") == [("那个钱咋领。", "ask_dibao_standard")]
    assert not (out / "hard.yml").exists()
    assert "reviewed.yml: 1 条" in capsys.readouterr().out


def test_regression_verdicts_skip_hard(tmp_path):
    from bot.learning.regression import misclassified, must_pass

    out = tmp_path / "reviewed"
    out.mkdir()
    (out / "reviewed.yml").write_text(
        export.render(
            [export.Reviewed("那个钱咋领", "ask_dibao_standard"), export.Reviewed("股票能涨吗", "out_of_scope")]
        ),
        encoding="utf-8",
    )
    (out / "hard.yml").write_text(
        export.render([export.Reviewed("那个事儿咋弄", "ask_dibao_application", True)]), encoding="utf-8"
    )
    examples = must_pass(out)
    assert [e.text for e in examples] == ["那个钱咋领", "股票能涨吗"]
    parses = [{"intent": {"name": "ask_dibao_standard"}}, {"intent": {"name": "nlu_fallback"}}]
    assert misclassified(examples, parses) == ["复核过的消息「股票能涨吗」应为 out_of_scope，模型给出 nlu_fallback"]

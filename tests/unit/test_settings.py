"""Settings are read in one place: bot/settings.py reads the environment and `.env`, checks every value,
and `.env.example` lists every setting with its default."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.settings import DEFAULTS, ENV_NAMES, REPO_ROOT, EnvSettings, SettingsError, child_environment, env_settings
from bot.store.outbox import retry_seconds

ENV_EXAMPLE = REPO_ROOT / ".env.example"
EXAMPLE_LINE = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$")


def example_values() -> dict[str, str]:
    """NAME -> the value `.env.example` shows ("" when it shows none); commented lines included."""
    values = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = EXAMPLE_LINE.match(line)
        if match:
            values[match[1]] = re.split(r"\s{2,}|\s+#", match[2])[0].strip()
    return values


def test_the_env_example_lists_every_setting_with_its_default() -> None:
    shown = example_values()
    assert set(ENV_NAMES) <= set(shown), sorted(set(ENV_NAMES) - set(shown))
    for name, field in EnvSettings.__fields__.items():
        default, value = getattr(DEFAULTS, name), shown[field.alias]
        if isinstance(default, SecretStr):
            default = default.get_secret_value()
        if not value or default is None or isinstance(default, Path) or str(REPO_ROOT) in str(default):
            continue  # an empty line or an example path: the comment beside it says what the default is
        assert type(default)(value) == default, (field.alias, value, default)


def reads_environment(node: ast.AST) -> bool:
    """os.environ / os.getenv, `from os import environ`, or python-dotenv."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os":
        return node.attr in {"environ", "environb", "getenv", "getenvb"}
    if isinstance(node, ast.ImportFrom):
        return node.module == "dotenv" or (node.module == "os" and any("env" in a.name for a in node.names))
    if isinstance(node, ast.Import):
        return any(a.name == "dotenv" for a in node.names)
    return False


def modules_reading_the_environment() -> list[str]:
    readers = []
    for path in sorted([*(REPO_ROOT / "bot").rglob("*.py"), *(REPO_ROOT / "actions").rglob("*.py")]):
        if path != REPO_ROOT / "bot" / "settings.py":
            tree = ast.parse(path.read_text(encoding="utf-8"))
            readers += [f"{path.relative_to(REPO_ROOT)}:{n.lineno}" for n in ast.walk(tree) if reads_environment(n)]
    return readers


def test_no_other_module_reads_the_environment() -> None:
    assert modules_reading_the_environment() == []


def test_a_bad_value_is_named_in_chinese_and_english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_POOL_SIZE", "abc")
    with pytest.raises(SettingsError) as raised:
        env_settings()
    message = str(raised.value)
    assert "DB_POOL_SIZE" in message and "「abc」" in message
    assert "应为整数" in message and "must be a whole number" in message
    monkeypatch.setenv("DB_POOL_SIZE", "3")
    monkeypatch.setenv("AUDIT_RETENTION_DAYS", "0")
    with pytest.raises(SettingsError, match="AUDIT_RETENTION_DAYS 至少为 1 天"):
        env_settings()


def test_a_changed_variable_is_seen_and_an_empty_one_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_POOL_SIZE", " 7 ")
    assert env_settings().db_pool_size == 7
    monkeypatch.setenv("DB_POOL_SIZE", "")
    assert env_settings().db_pool_size == DEFAULTS.db_pool_size == 5
    monkeypatch.delenv("DB_POOL_SIZE")
    assert env_settings().db_pool_size == 5


def test_a_timing_that_is_not_a_number_keeps_its_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTBOX_RETRY_SECONDS", "soon")
    assert retry_seconds() == 15
    monkeypatch.setenv("OUTBOX_RETRY_SECONDS", "0.1")
    assert retry_seconds() == 0.5


def test_a_child_process_gets_a_copy_of_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QHD_TEST_CHILD", "yes")
    env = child_environment()
    env["QHD_TEST_CHILD"] = "changed"
    assert child_environment()["QHD_TEST_CHILD"] == "yes"

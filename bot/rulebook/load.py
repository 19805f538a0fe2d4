"""Reading a policies folder: files -> validated Rulebook."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import yaml

from bot.rulebook.lookup import Rulebook
from bot.rulebook.model import DEFAULT_POLICIES_DIR, REPO_ROOT, Parameter, RulebookError
from bot.rulebook.validate import Checker, _check_keys, _text


class _Loader(Checker):
    """Reads and validates one policies folder. Each check names the file and field that failed."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder
        self.raw_params: list[tuple[str, str, Any]] = []

    def load(self) -> Rulebook:
        if not self.folder.is_dir():
            raise RulebookError(str(self.folder), "-", "找不到规则目录")
        files = sorted(p for p in self.folder.glob("*.yml") if p.is_file())
        if not files:
            raise RulebookError(str(self.folder), "-", "目录里没有 .yml 规则文件")
        digest = hashlib.sha256()
        documents = []
        for path in files:
            raw_bytes = path.read_bytes()
            digest.update(path.name.encode() + b"\0" + raw_bytes + b"\0")
            try:
                doc = yaml.safe_load(raw_bytes.decode("utf-8"))
            except (yaml.YAMLError, UnicodeDecodeError) as exc:
                raise RulebookError(path.name, "-", f"不是有效的 YAML：{exc}") from None
            if not isinstance(doc, dict):
                raise RulebookError(path.name, "-", "文件顶层应为映射")
            unknown = sorted(set(map(str, doc)) - {"districts", "offices", "sources", "parameters"})
            if unknown:
                raise RulebookError(path.name, unknown[0], "未知的顶层字段")
            documents.append((path.name, doc))
        for name, doc in documents:
            if "districts" in doc:
                self._districts(name, doc["districts"])
            if "offices" in doc:
                self._offices(name, doc["offices"])
            if "sources" in doc:
                self._sources(name, doc["sources"])
        if not self.canonical:
            raise RulebookError(str(self.folder), "districts", "没有任何文件定义县区（districts）")
        params: dict[str, Parameter] = {}
        for name, doc in documents:
            block = doc.get("parameters")
            if block is None:
                continue
            if not isinstance(block, dict):
                raise RulebookError(name, "parameters", "应为映射：参数编号 -> 参数")
            for pid, body in block.items():
                param = self._parameter(name, str(pid), body)
                if param.id in params:
                    raise RulebookError(
                        name, f"parameters.{pid}", f"参数重复定义（已在 {params[param.id].file} 中定义）"
                    )
                params[param.id] = param
        if not params:
            raise RulebookError(str(self.folder), "parameters", "没有任何参数")
        return Rulebook(
            folder=self.folder,
            parameters=params,
            districts=tuple(self.canonical),
            aliases=dict(self.districts),
            offices=dict(self.offices),
            sources=dict(self.sources),
            version=digest.hexdigest()[:12],
        )

    def _districts(self, file: str, raw: Any) -> None:
        if self.canonical:
            raise RulebookError(file, "districts", "县区只能在一个文件里定义")
        if not isinstance(raw, list) or not raw:
            raise RulebookError(file, "districts", "应为非空列表")
        for i, item in enumerate(raw):
            field = f"districts[{i}]"
            _check_keys(item, {"name", "aliases"}, file, field)
            name = _text(item.get("name"), file, f"{field}.name")
            aliases = item.get("aliases") or []
            if not isinstance(aliases, list):
                raise RulebookError(file, f"{field}.aliases", "应为列表")
            self.canonical.append(name)
            for alias in [name, *aliases]:
                alias = _text(alias, file, f"{field}.aliases")
                if alias in self.districts and self.districts[alias] != name:
                    raise RulebookError(file, f"{field}.aliases", f"简称“{alias}”同时指向两个县区")
                self.districts[alias] = name

    def _offices(self, file: str, raw: Any) -> None:
        if not isinstance(raw, dict) or not raw:
            raise RulebookError(file, "offices", "应为非空映射：代号 -> 名称")
        for key, name in raw.items():
            self.offices[str(key)] = _text(name, file, f"offices.{key}")

    def _sources(self, file: str, raw: Any) -> None:
        if not isinstance(raw, dict):
            raise RulebookError(file, "sources", "应为映射：代号 -> 来源")
        for key, body in raw.items():
            self.add_source(file, str(key), body)


def load_rulebook(folder: str | os.PathLike[str] = DEFAULT_POLICIES_DIR) -> Rulebook:
    """Load and validate a policies folder. Raises RulebookError(file, field, message_zh) when invalid."""
    path = Path(folder)
    if not path.is_absolute() and not path.exists():
        path = REPO_ROOT / path
    return _Loader(path).load()

"""Looking figures up: which entry is in force on a date for a place."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from bot.rulebook.model import _CACHE_LIMIT, Entry, Parameter, ParamValue, Source


class Rulebook:
    """A validated rulebook. Lookups are memoised per (id, date, district, residence)."""

    def __init__(
        self,
        folder: Path,
        parameters: dict[str, Parameter],
        districts: tuple[str, ...],
        aliases: dict[str, str],
        offices: dict[str, str],
        sources: dict[str, Source],
        version: str,
        layer: tuple = (),
    ) -> None:
        self.folder = folder
        self.parameters = parameters
        self.districts = districts
        self._aliases = aliases
        self.offices = offices
        self.sources = sources
        self.version = version
        self.layer = layer  # the approved values (bot.rulebook.layer.LayerValue) composed over the files
        self._cache: dict[tuple, ParamValue] = {}

    @property
    def aliases(self) -> dict[str, str]:
        """Every accepted district name or short form -> canonical name."""
        return dict(self._aliases)

    def __repr__(self) -> str:
        return f"Rulebook({self.folder}, {len(self.parameters)} parameters, version {self.version})"

    # --- places ---
    def normalise_district(self, text: Any) -> str | None:
        """Canonical district name for a full or short form ('青龙', '青龙县', '秦皇岛市海港区'); None if unknown."""
        if not isinstance(text, str):
            return None
        name = re.sub(r"\s+", "", text)
        for prefix in ("河北省", "秦皇岛市", "秦皇岛"):
            if name.startswith(prefix) and name[len(prefix) :] in self._aliases:
                name = name[len(prefix) :]
                break
        return self._aliases.get(name)

    def office_zh(self, key: str) -> str:
        return self.offices.get(key, key)

    # --- figures ---
    def ids(self, prefix: str = "") -> list[str]:
        return sorted(pid for pid in self.parameters if pid.startswith(prefix))

    def value(
        self, pid: str, on: date | None = None, district: str | None = None, residence: str | None = None
    ) -> ParamValue:
        """The figure in force on `on` (default today) for the place. Unknown id -> KeyError."""
        on = on or date.today()
        key = (pid, on, district, residence)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        if district is not None and district not in self.districts:
            canonical = self.normalise_district(district)
            if canonical is None:
                raise ValueError(f"未知县区：{district}")
            district = canonical
        param = self.parameters[pid]
        best: Entry | None = None
        for entry in param.entries:  # sorted by (date, specificity): the last match wins
            if entry.effective_from > on:
                break
            if entry.region.matches(district, residence):
                best = entry
        result = self._to_value(param, best)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = result
        return result

    def history(self, pid: str) -> list[ParamValue]:
        """Every dated entry of a parameter, oldest first (for answers that show how a figure changed)."""
        param = self.parameters[pid]
        return [self._to_value(param, e) for e in param.entries]

    def entries(self) -> Iterator[tuple[Parameter, Entry]]:
        for param in self.parameters.values():
            for entry in param.entries:
                yield param, entry

    def _to_value(self, param: Parameter, entry: Entry | None) -> ParamValue:
        office = self.office_zh(param.confirm_at)
        if entry is None:
            return ParamValue(
                param.id,
                None,
                param.unit,
                None,
                False,
                "",
                "",
                "该日期、该地区没有收录数值",
                "",
                description_zh=param.description_zh,
                confirm_at_zh=office,
            )
        source = entry.source
        return ParamValue(
            id=param.id,
            value=entry.value,
            unit=param.unit,
            effective_from=entry.effective_from,
            confirmed=entry.confirmed,
            source_title=source.title if source else "",
            source_url=source.url if source else "",
            note_zh=entry.note_zh,
            region=entry.region.label_zh(),
            kind=entry.kind,
            description_zh=param.description_zh,
            confirm_at_zh=office,
            precision=entry.precision,
        )

"""The rulebook: policy figures as dated data (policies/*.yml), validated at load.

Why data and not code: standards change every year or two and most current Qinhuangdao figures are
not public. Keeping every figure in YAML with its effective date, region scope, source and a
`confirmed` flag lets staff update a figure without touching code, lets answers cite the source, and
lets the engine say honestly when a figure is missing (value null) or unconfirmed.

File layout (all *.yml in the folder, any order; the layout follows OpenFisca's dated parameters):
- a file with `districts:` / `offices:`   -> canonical district names with their short forms; offices
- a file with `sources:`                   -> documents: title, url, published, confidence
- files with `parameters:`                 -> `<id>: {description_zh, unit, type, kind?, confirm_at, values}`
  where each value is `{from, value, region?, source?, confirmed, note_zh?, kind?, date_precision?}`.

Lookup rule (`Rulebook.value`): among the entries whose region matches the place asked about and whose
`from` is on or before the date, the latest `from` wins; on the same date a district- or
residence-specific entry wins over a general one. A later city-wide figure therefore replaces an
earlier district-specific one, which is how the sources read ("各县区不低于…").

Modules: model (dataclasses), validate (the rules every value obeys), load (files -> Rulebook), lookup
(Rulebook), layer (values approved in the staff desk, composed above the files; export as YAML), current
(`default_rulebook()`: files + approved layer, refreshed when the database's layer version changes),
review (what staff should look at: not found, unconfirmed, older than two years).
"""

from __future__ import annotations

from bot.rulebook.current import baseline_rulebook, default_rulebook
from bot.rulebook.load import load_rulebook
from bot.rulebook.lookup import Rulebook
from bot.rulebook.model import (
    AREAS,
    CONFIDENCES,
    DEFAULT_AREA,
    DEFAULT_POLICIES_DIR,
    KINDS,
    PRECISIONS,
    REPO_ROOT,
    RESIDENCES,
    TYPES,
    Entry,
    Parameter,
    ParamValue,
    Region,
    RulebookError,
    Source,
)

__all__ = [
    "AREAS",
    "CONFIDENCES",
    "DEFAULT_AREA",
    "DEFAULT_POLICIES_DIR",
    "KINDS",
    "PRECISIONS",
    "REPO_ROOT",
    "RESIDENCES",
    "TYPES",
    "Entry",
    "Parameter",
    "ParamValue",
    "Region",
    "Rulebook",
    "RulebookError",
    "Source",
    "baseline_rulebook",
    "default_rulebook",
    "load_rulebook",
]

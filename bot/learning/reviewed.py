"""The reviewed-message files in data/nlu/reviewed/: where they are and what they hold.

Two modules use them: bot.learning.export writes them from the staff's labels, bot.learning.regression
checks a model against them. Both read them through here, so neither imports the other for it.

- reviewed.yml: messages every new model must classify as labelled
- hard.yml: messages staff marked hard — trained on, but not held against the model
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

from bot.settings import REPO_ROOT

NLU_DIR = REPO_ROOT / "data" / "nlu"
REVIEWED_DIR = NLU_DIR / "reviewed"
REVIEWED_FILE = "reviewed.yml"
HARD_FILE = "hard.yml"


@dataclass(frozen=True)
class Reviewed:
    text: str
    intent: str
    hard: bool = False


def nlu_examples(path: Path) -> list[tuple[str, str]]:
    """(text, intent) of every intent example in one Rasa NLU YAML file."""
    data = RasaYAMLReader().read(str(path))
    return [(m.get("text"), m.get("intent")) for m in data.intent_examples]


def read_reviewed(directory: Path = REVIEWED_DIR) -> list[Reviewed]:
    """What the reviewed files hold now (hard.yml's examples flagged hard)."""
    out: list[Reviewed] = []
    for name, hard in ((REVIEWED_FILE, False), (HARD_FILE, True)):
        path = directory / name
        if path.is_file():
            out += [Reviewed(t, i, hard) for t, i in nlu_examples(path)]
    return out

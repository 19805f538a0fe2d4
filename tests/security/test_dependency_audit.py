"""Class 6: the dependency audit of `make test` catches a known-vulnerable pin and passes the current set."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.settings import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "scripts"))
import audit_dependencies as audit


def test_the_old_socketio_pin_is_caught(tmp_path: Path) -> None:
    old = tmp_path / "requirements.txt"
    old.write_text("python-socketio==5.9.0\npython-engineio==4.12.0\naiohttp==3.9.5\n", encoding="utf-8")
    found = {(f["package"], f["id"]) for f in audit.offline_findings(audit.pins(old))}
    assert ("python-socketio", "CVE-2025-61765") in found and ("python-engineio", "CVE-2026-48802") in found
    accepted = audit.accepted_ids()
    assert "CVE-2025-61765" not in accepted  # never waved through


def test_current_pins_have_no_unaccepted_known_vulnerability() -> None:
    pinned = audit.pins()
    assert pinned["python-socketio"] == "5.16.2"
    accepted = audit.accepted_ids()
    assert [f for f in audit.offline_findings(pinned) if not audit.is_accepted(f, accepted)] == []


def test_every_accepted_exception_has_a_reason_and_a_known_advisory() -> None:
    import yaml

    known = {a["id"] for a in yaml.safe_load(audit.ADVISORIES.read_text(encoding="utf-8"))}
    for entry in yaml.safe_load(audit.ACCEPTED.read_text(encoding="utf-8")):
        assert len(entry["reason"]) > 40 and entry["id"] in known and entry.get("until")

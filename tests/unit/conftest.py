"""Unit tests check the shipped figures of policies/: the approved layer of whatever database the
environment points at (a developer's var/app.db) must not change them. Tests of the layer turn it on."""

import pytest


@pytest.fixture(autouse=True)
def _files_only_rulebook(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLICY_LAYER", "off")

"""The outbox keeps a request the database could not take and saves it exactly once; retention and
erasure reach every table that holds personal data."""

from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest
import sqlalchemy as sa
from test_store_support import count, request_data, store_url  # noqa: F401 - pytest fixtures, requested by parameter name

from bot.store import erasure, help_requests, outbox
from bot.store.db import session_scope
from bot.store.models import AuditEntry, ConversationState, EligibilityCheck, HelpRequest
from bot.store.retention import RetentionPolicy, purge


def test_parked_request_is_saved_once_with_its_promised_number(store_url: str, tmp_path) -> None:
    path = tmp_path / "outbox.jsonl"
    reference = help_requests.reserve_reference()
    outbox.park("sub-1", reference, request_data(), "resident", path=path)
    outbox.park("sub-1", reference, request_data(), "resident", path=path)  # a retried park of the same submission
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert [e["reference_no"] for e in outbox.pending(path)] == [reference]
    assert outbox.pending_summary(path)[0]["phone_masked"] == "138****5678"
    assert outbox.flush(url="sqlite:////nonexistent/dir/app.db", path=path) == (0, 1)  # database still away
    assert outbox.flush(url=store_url, path=path) == (1, 0)
    assert outbox.flush(url=store_url, path=path) == (0, 0)
    assert help_requests.get_request(reference, url=store_url)["phone"] == "13812345678"
    assert count(store_url, HelpRequest) == 1
    assert path.read_text() == ""  # nothing pending: the personal data it held is gone


def test_a_line_cut_by_a_crash_is_skipped(tmp_path) -> None:
    path = tmp_path / "outbox.jsonl"
    outbox.park("sub-2", "QHD-2026-000001", request_data(), "resident", path=path)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"op": "park", "key": "sub-3", "refer')
    assert [e["key"] for e in outbox.pending(path)] == ["sub-2"]


def test_retention_purges_closed_requests_and_old_rows_but_keeps_open_ones(store_url: str) -> None:
    closed = help_requests.create_request(request_data(sender_id="old"), actor="resident", url=store_url)[
        "reference_no"
    ]
    help_requests.update_status(closed, "in_progress", "staff:li", url=store_url)
    help_requests.update_status(closed, "resolved", "staff:li", url=store_url)
    still_open = help_requests.create_request(
        request_data(sender_id="open", phone="13912345678"), actor="resident", url=store_url
    )["reference_no"]
    with session_scope(store_url) as session:
        for row in session.execute(sa.select(HelpRequest)).scalars():
            row.updated_at -= timedelta(days=400)
    policy = RetentionPolicy(closed_request_days=365)
    counts = purge(policy, url=store_url)
    assert counts["help_requests"] == 1
    assert help_requests.get_request(closed, url=store_url) is None
    assert help_requests.get_request(still_open, url=store_url) is not None
    with session_scope(store_url) as session:
        details = [
            a.detail for a in session.execute(sa.select(AuditEntry).where(AuditEntry.action == "status")).scalars()
        ]
    assert details and all(d == {"purged": True} for d in details)


def test_retention_settings_are_read_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUEST_RETENTION_DAYS", "90")
    assert RetentionPolicy.from_env().closed_request_days == 90
    monkeypatch.setenv("REQUEST_RETENTION_DAYS", "0")
    with pytest.raises(ValueError, match="至少"):
        RetentionPolicy.from_env()


def test_erasure_reaches_every_table_and_the_tracker(store_url: str, tmp_path) -> None:
    tracker = f"sqlite:///{tmp_path / 'tracker.db'}"
    engine = sa.create_engine(tracker)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "create table events (id integer primary key, sender_id text, type_name text,"
            " timestamp float, intent_name text, action_name text, data text)"
        )
        for sender in ("web-aaaa", "web-aaaa", "someone-else"):
            connection.exec_driver_sql(
                "insert into events (sender_id, type_name, timestamp, data) values (?, 'user', 1, ?)",
                (sender, json.dumps({"event": "user", "text": "你好"})),
            )
    first = help_requests.create_request(request_data(sender_id="web-aaaa"), actor="resident", url=store_url)
    help_requests.create_request(
        request_data(sender_id="web-bbbb", description="第二次求助"), actor="resident", url=store_url
    )
    help_requests.create_request(
        request_data(sender_id="web-cccc", phone="13900001111"), actor="resident", url=store_url
    )
    with session_scope(store_url) as session:
        session.add(
            EligibilityCheck(
                sender_id="web-aaaa", program="dibao", eligible=True, case={}, result={}, entered_by="resident"
            )
        )
        session.add(ConversationState(sender_id="web-bbbb", state="bot"))
    exported = erasure.export_person("staff:li", reference_no=first["reference_no"], url=store_url, tracker_url=tracker)
    assert len(exported["help_requests"]) == 2 and len(exported["conversation_events"]) == 2
    assert len(exported["eligibility_checks"]) == 1
    counts = erasure.erase_person("staff:li", phone="138 1234 5678", url=store_url, tracker_url=tracker)
    assert counts["help_requests"] == 2 and counts["tracker_events"] == 2
    assert counts["qhd_eligibility_checks"] == 1 and counts["qhd_conversation_states"] == 1
    assert count(store_url, HelpRequest) == 1  # the other person's request stays
    with engine.connect() as connection:
        assert [r[0] for r in connection.exec_driver_sql("select sender_id from events")] == ["someone-else"]
    with session_scope(store_url) as session:
        actions = [a.action for a in session.execute(sa.select(AuditEntry)).scalars()]
        texts = str([a.detail for a in session.execute(sa.select(AuditEntry)).scalars()])
    assert "personal_data_export" in actions and "personal_data_erase" in actions
    assert "13812345678" not in texts
    with pytest.raises(ValueError):
        erasure.erase_person("staff:li", url=store_url, tracker_url=tracker)

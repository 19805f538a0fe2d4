"""The store's core flows on a real PostgreSQL (127.0.0.1:5432, user postgres, trust auth).

A fresh database qhd_test_<random> is created for the session, migrated with Alembic and dropped at the
end. Skipped (with the reason) only when PostgreSQL cannot be reached.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from bot.store import accounts, checks, cli_db, conversations, help_requests
from bot.store.db import current_revision, dispose_engine, engine_for, session_scope, upgrade_database
from bot.store.models import AuditEntry, HelpRequest
from tests.unit.test_store_support import request_data

psycopg2 = pytest.importorskip("psycopg2")
PG_HOST = os.environ.get("TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("TEST_PG_USER", "postgres")


def _admin_connection():
    connection = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", connect_timeout=3)
    connection.autocommit = True
    return connection


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    try:
        admin = _admin_connection()
    except psycopg2.OperationalError as error:
        pytest.skip(f"PostgreSQL at {PG_HOST}:{PG_PORT} is unreachable ({str(error).strip()})")
    name = f"qhd_test_{secrets.token_hex(4)}"
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    url = f"postgresql+psycopg2://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    try:
        upgrade_database(url)
        yield url
    finally:
        dispose_engine(url)
        admin = _admin_connection()  # a fresh connection: the first may have died with a server restart
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _count(url: str, *where) -> int:
    with session_scope(url) as session:
        return int(session.execute(sa.select(sa.func.count()).select_from(HelpRequest).where(*where)).scalar_one())


def test_migrated_to_head_without_an_events_table(pg_url: str) -> None:
    assert current_revision(pg_url) == upgrade_database(pg_url)
    tables = set(sa.inspect(engine_for(pg_url)).get_table_names())
    assert "qhd_help_requests" in tables and "events" not in tables


def test_create_with_audit_and_rollback_on_failure(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    record = help_requests.create_request(request_data(phone="13511110000"), actor="resident", url=pg_url)
    stored = help_requests.get_request(record["reference_no"], url=pg_url)
    assert [a["action"] for a in stored["audit"]] == ["create"]

    def broken_audit(*args, **kwargs):
        raise RuntimeError("audit write failed")

    monkeypatch.setattr(help_requests, "write_audit", broken_audit)
    with pytest.raises(RuntimeError):
        help_requests.create_request(request_data(phone="13511119999"), actor="resident", url=pg_url)
    assert _count(pg_url, HelpRequest.phone == "13511119999") == 0


def test_twenty_concurrent_creations_get_twenty_distinct_numbers(pg_url: str) -> None:
    results: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(20)

    def create(i: int) -> None:
        try:
            barrier.wait()
            record = help_requests.create_request(request_data(phone=f"1360000{i:04d}"), actor="resident", url=pg_url)
            results.append(record["reference_no"])
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(results) == 20 and len(set(results)) == 20
    assert all(help_requests.normalise_reference(r) == r for r in results)  # random, with a valid check symbol


def test_concurrent_calls_with_one_idempotency_key_store_one_request(pg_url: str) -> None:
    results: list[str] = []
    barrier = threading.Barrier(6)

    def create() -> None:
        barrier.wait()
        record = help_requests.create_request(
            request_data(phone="13722220000"), actor="resident", idempotency_key="pg-turn-1", url=pg_url
        )
        results.append(record["reference_no"])

    threads = [threading.Thread(target=create) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 6 and len(set(results)) == 1
    assert _count(pg_url, HelpRequest.idempotency_key == "pg-turn-1") == 1


def test_privacy_workflow_notes_duplicates_and_search(pg_url: str) -> None:
    record = help_requests.create_request(
        request_data(phone="0335-3056789", name="孙八", category="ask_temporary_assistance"),
        actor="operator:zhang",
        url=pg_url,
    )
    ref = record["reference_no"]
    assert help_requests.status_for_resident(ref, "6789", url=pg_url)["status"] == "new"
    assert help_requests.status_for_resident(ref, "6788", url=pg_url) is None
    sender = record["sender_id"]
    assert (
        help_requests.find_duplicate("03353056789", "ask_temporary_assistance", sender, url=pg_url)["reference_no"]
        == ref
    )
    assert help_requests.find_duplicate("03353056789", "ask_temporary_assistance", "stranger", url=pg_url) is None
    with pytest.raises(ValueError):
        help_requests.update_status(ref, "resolved", "staff:li", url=pg_url)
    help_requests.update_status(ref, "in_progress", "staff:li", assignee="li", url=pg_url)
    help_requests.add_to_request(ref, "居民补充：已住院", "resident", url=pg_url)
    done = help_requests.update_status(ref, "resolved", "staff:li", note="已发放临时救助", url=pg_url)
    assert [a["action"] for a in done["audit"]] == [
        "create",
        "status_lookup_failed",
        "status",
        "assign",
        "note",
        "status",
        "note",
    ]
    assert [r["reference_no"] for r in help_requests.list_requests(search="孙八", url=pg_url)] == [ref]
    assert [r["reference_no"] for r in help_requests.list_requests(search="3056789", url=pg_url)] == [ref]
    assert ref in [r["reference_no"] for r in help_requests.list_requests(status="resolved", url=pg_url)]
    with session_scope(pg_url) as session:
        audit_text = str(session.execute(sa.select(AuditEntry.detail)).scalars().all())
    assert "3056789" not in audit_text


def test_accounts_states_and_checks(pg_url: str) -> None:
    accounts.create_account("pg.staff", "长城-Great-Wall-2026", "staff", url=pg_url)
    assert accounts.verify("pg.staff", "长城-Great-Wall-2026", url=pg_url)["role"] == "staff"
    assert accounts.verify("pg.staff", "wrong-password-1", url=pg_url) is None
    with pytest.raises(ValueError):
        accounts.create_account("pg.staff", "长城-Great-Wall-2026", "staff", url=pg_url)
    conversations.set_state("pg-s1", "waiting", url=pg_url)
    conversations.set_state("pg-s1", "operator", operator="zhang", url=pg_url)
    assert conversations.get_state("pg-s1", url=pg_url)["operator"] == "zhang"
    check_id = checks.record_check("pg-s1", "dibao", {"program": "dibao"}, {"eligible": False}, "resident", url=pg_url)
    assert check_id > 0
    assert {"program": "dibao", "eligible": False, "count": 1} in checks.check_summary(url=pg_url)


def test_purge_tracker_on_postgresql(pg_url: str) -> None:
    now = time.time()
    engine = sa.create_engine(pg_url, future=True)
    try:
        with engine.begin() as connection:  # Rasa's tracker table layout (rasa.core.tracker_store.SQLEvent)
            connection.exec_driver_sql(
                "CREATE TABLE events (id SERIAL PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, "
                "type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), "
                "action_name VARCHAR(255), data TEXT)"
            )
            for age_days in (60, 31, 29, 1):
                connection.execute(
                    sa.text("INSERT INTO events (sender_id, type_name, timestamp) VALUES ('s', 'user', :ts)"),
                    {"ts": now - age_days * 86400},
                )
        assert cli_db.purge_tracker_events(pg_url, 30) == 2
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM events").scalar() == 2
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE IF EXISTS events")
        engine.dispose()


def test_attempt_limit_holds_under_concurrent_guesses(pg_url: str) -> None:
    """Twenty simultaneous guesses against a limit of five: exactly five are counted, never six."""
    from datetime import timedelta

    from bot.store import limits

    barrier = threading.Barrier(20)
    outcomes: list[bool] = []

    def guess() -> None:
        barrier.wait()
        with session_scope(pg_url) as session:
            outcomes.append(limits.take(session, "lookup:ref:QHD-2026-CONCUR1", 5, timedelta(hours=1)))

    threads = [threading.Thread(target=guess) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [False] * 15 + [True] * 5

"""Issue 10, class 7, faults: the database goes away during a save, and the action server restarts
between the read-back and the save. Every resident turn gets a Chinese answer; every confirmed request
ends up saved exactly once.

The database is a PostgreSQL database of this test's own (never the machine's server itself, which
other work shares): "stopping" it means refusing new connections to that one database and ending the
open ones; "starting" it allows connections again.
"""

from __future__ import annotations

import json
import re
import tempfile
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.data_stack import HELP_ANSWERS, REFERENCE, converse, joined, new_sender, rows
from tests.support.servers import Stack, require_model
from tests.support.waiting import wait_until

pytestmark = pytest.mark.timeout(900)
SERVER = "postgresql://postgres@127.0.0.1:5432"
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def admin():
    return sa.create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT", future=True)


def set_database_up(name: str, up: bool) -> None:
    engine = admin()
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"true" if up else "false"}')
            if not up:
                connection.exec_driver_sql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                    (name,),
                )
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def stack():
    model = require_model()
    try:
        engine = admin()
        engine.connect().close()
    except sa.exc.OperationalError:
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    name = f"qhd_secdata_faults_{uuid.uuid4().hex[:8]}"
    with engine.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    workdir = Path(tempfile.mkdtemp(prefix="qhd-faults-"))
    running = Stack.create(
        workdir, DATABASE_URL=f"{SERVER}/{name}", OUTBOX_PATH=str(workdir / "outbox.jsonl"), OUTBOX_RETRY_SECONDS="2"
    )
    running.db_name = name  # type: ignore[attr-defined]  # this module's note: the database its tests stop
    try:
        running.start_actions()
        running.start_rasa(model)
        yield running
    finally:
        running.stop_all()
        set_database_up(name, True)
        with engine.connect() as connection:
            connection.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
            )
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        engine.dispose()


def pending_in_outbox(stack) -> list[dict]:
    path = Path(stack.env["OUTBOX_PATH"])
    if not path.exists():
        return []
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    done = {r["key"] for r in records if r["op"] == "done"}
    return [r for r in records if r["op"] == "park" and r["key"] not in done]


def test_database_down_during_the_save_parks_the_request_and_saves_it_once(stack):
    sender = new_sender()
    answers = dict(HELP_ANSWERS, **{"手机号": "13400001111"})
    summary = converse(stack, sender, "帮我登记个求助", answers, until=("请核对求助信息",))
    assert "请核对求助信息" in summary
    set_database_up(stack.db_name, False)
    try:
        reply = joined(stack.say(sender, "确认"))
        assert CHINESE.search(reply) and "已记下您的求助" in reply, reply
        reference = REFERENCE.search(reply).group(0)
        parked = pending_in_outbox(stack)
        assert [p["reference_no"] for p in parked] == [reference]
        # The resident keeps talking while the database is away: every turn is answered in Chinese.
        for text in ("你好", "查一下求助进度", reference, "1111"):
            answer = joined(stack.say(sender, text))
            assert CHINESE.search(answer), f"{text!r} -> {answer!r}"
    finally:
        set_database_up(stack.db_name, True)
    assert wait_until(lambda: not pending_in_outbox(stack), poll_s=1), (
        "the outbox was not flushed after the database returned"
    )
    saved = rows(stack, "select reference_no, consent_at from qhd_help_requests where phone = '13400001111'")
    assert [r["reference_no"] for r in saved] == [reference] and saved[0]["consent_at"] is not None


def test_action_server_restart_between_read_back_and_save_saves_once(stack):
    sender = new_sender()
    answers = dict(HELP_ANSWERS, **{"手机号": "13400002222"})
    converse(stack, sender, "帮我登记个求助", answers, until=("请核对求助信息",))
    stack.stop("actions")
    try:
        reply = joined(stack.say(sender, "确认"))
    finally:
        stack.start_actions()
    assert CHINESE.search(reply) and "重新提交" in reply, reply
    first = joined(stack.say(sender, "重新提交"))
    again = joined(stack.say(sender, "重新提交"))  # the resident is not sure and says it twice
    assert REFERENCE.search(first), first
    assert CHINESE.search(again)
    saved = rows(stack, "select reference_no from qhd_help_requests where phone = '13400002222'")
    assert len(saved) == 1


def test_two_genuine_identical_submissions_are_two_requests(stack):
    sender = new_sender()
    answers = dict(HELP_ANSWERS, **{"手机号": "13400003333"})
    first = converse(stack, sender, "帮我登记个求助", answers)
    offer = converse(stack, sender, "再登记一个求助", answers)
    assert "已经登记过同类求助" in offer
    second = joined(stack.say(sender, "/deny"))  # the 「另外新登记」 button
    refs = {REFERENCE.search(first).group(0), REFERENCE.search(second).group(0)}
    assert len(refs) == 2
    saved = rows(stack, "select reference_no from qhd_help_requests where phone = '13400003333'")
    assert {r["reference_no"] for r in saved} == refs

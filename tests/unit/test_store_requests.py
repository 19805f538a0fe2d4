"""Help requests on a migrated SQLite file: transactions, reference numbers, privacy, workflow."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
import yaml
from test_store_support import count, request_data, store_url  # noqa: F401 - pytest fixtures, requested by parameter name

from bot.store import help_requests
from bot.store.categories import CATEGORIES
from bot.store.common import local_now
from bot.store.db import REPO_ROOT, session_scope
from bot.store.models import AuditEntry, HelpRequest, RequestNote
from bot.store.references import check_symbol, new_reference

CHINESE = re.compile(r"[\u4e00-\u9fff]")


def _backdate(url: str, reference_no: str, days: int) -> None:
    with session_scope(url) as session:
        row = session.execute(sa.select(HelpRequest).where(HelpRequest.reference_no == reference_no)).scalar_one()
        row.created_at -= timedelta(days=days)


def test_create_returns_committed_record_with_audit(store_url: str) -> None:
    record = help_requests.create_request(request_data(phone="138 1234 5678"), actor="resident", url=store_url)
    assert re.fullmatch(rf"QHD-{local_now().year}-[0-9A-Z]{{7}}", record["reference_no"])
    body = record["reference_no"][-7:]
    assert check_symbol(body[:-1]) == body[-1]
    assert record["consent_at"] is not None
    assert record["phone"] == "13812345678" and record["phone_last4"] == "5678"
    assert record["status"] == "new" and record["decision_snapshot"] == {"program": "dibao", "eligible": None}
    stored = help_requests.get_request(record["reference_no"], url=store_url)
    assert stored is not None and stored["id"] == record["id"]
    assert [(a["actor"], a["action"]) for a in stored["audit"]] == [("resident", "create")]
    assert "13812345678" not in str(stored["audit"])  # audit details never carry the phone


def test_failure_mid_transaction_leaves_nothing(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    real_audit, calls = help_requests.write_audit, []

    def audit_failing_once(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:  # the request row is already flushed when the audit entry fails
            raise RuntimeError("disk full while writing the audit entry")
        return real_audit(*args, **kwargs)

    monkeypatch.setattr(help_requests, "write_audit", audit_failing_once)
    with pytest.raises(RuntimeError):
        help_requests.create_request(request_data(), actor="resident", url=store_url)
    assert count(store_url, HelpRequest) == 0
    assert count(store_url, AuditEntry) == 0
    record = help_requests.create_request(request_data(), actor="resident", url=store_url)
    assert help_requests.get_request(record["reference_no"], url=store_url) is not None
    assert count(store_url, AuditEntry) == 1


def test_reference_numbers_unique_under_concurrent_threads(store_url: str) -> None:
    results: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(12)

    def create(i: int) -> None:
        try:
            barrier.wait()
            record = help_requests.create_request(
                request_data(phone=f"1390000{i:04d}", sender_id=f"s{i}"), actor="resident", url=store_url
            )
            results.append(record["reference_no"])
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(results)) == 12
    assert all(help_requests.normalise_reference(r) == r for r in results)


def test_idempotency_key_returns_first_record(store_url: str) -> None:
    first = help_requests.create_request(request_data(), actor="resident", idempotency_key="turn-42", url=store_url)
    again = help_requests.create_request(
        request_data(description="重复提交的另一段文字"), actor="resident", idempotency_key="turn-42", url=store_url
    )
    other = help_requests.create_request(request_data(), actor="resident", idempotency_key="turn-43", url=store_url)
    assert again["reference_no"] == first["reference_no"] and again["description"] == first["description"]
    assert other["reference_no"] != first["reference_no"]
    assert count(store_url, HelpRequest) == 2
    assert count(store_url, AuditEntry, AuditEntry.action == "create") == 2


@pytest.mark.parametrize(
    "overrides",
    [
        {"phone": "12345"},
        {"phone": "3012345"},  # landline without area code
        {"category": "ask_weather"},
        {"description": "   "},
        {"name": ""},
        {"urgency": "asap"},
        {"district": "北京市朝阳区"},
        {"entered_by": "hacker"},
        {"description": "长" * 2001},
        {"consent": False},  # a resident's own request needs the recorded consent
    ],
)
def test_invalid_data_is_refused_in_chinese_and_nothing_is_written(store_url: str, overrides: dict) -> None:
    with pytest.raises(ValueError) as error:
        help_requests.create_request(request_data(**overrides), actor="resident", url=store_url)
    assert CHINESE.search(str(error.value))
    assert count(store_url, HelpRequest) == 0 and count(store_url, AuditEntry) == 0


def test_duplicate_detection_same_conversation_phone_and_category_within_seven_days(store_url: str) -> None:
    record = help_requests.create_request(request_data(), actor="resident", url=store_url)
    found = help_requests.find_duplicate("138-1234-5678", "ask_dibao_eligibility", "sender-1", url=store_url)
    assert found is not None and found["reference_no"] == record["reference_no"]
    # Another conversation typing the same phone number learns nothing.
    assert help_requests.find_duplicate("13812345678", "ask_dibao_eligibility", "stranger", url=store_url) is None
    assert help_requests.find_duplicate("13812345678", "ask_dibao_eligibility", None, url=store_url) is None
    assert help_requests.find_duplicate("13812345678", "ask_job_subsidy", "sender-1", url=store_url) is None
    assert help_requests.find_duplicate("13912345678", "ask_dibao_eligibility", "sender-1", url=store_url) is None
    _backdate(store_url, record["reference_no"], days=8)
    assert help_requests.find_duplicate("13812345678", "ask_dibao_eligibility", "sender-1", url=store_url) is None
    assert (
        help_requests.find_duplicate("13812345678", "ask_dibao_eligibility", "sender-1", within_days=10, url=store_url)
        is not None
    )
    with pytest.raises(ValueError):
        help_requests.find_duplicate("not a phone", "ask_dibao_eligibility", "sender-1", url=store_url)


def test_status_for_resident_reveals_nothing_without_matching_phone_ending(store_url: str) -> None:
    record = help_requests.create_request(request_data(), actor="resident", url=store_url)
    ref = record["reference_no"]
    status = help_requests.status_for_resident(ref.lower().replace("-", " "), "5678", url=store_url)
    assert status is not None and status["status"] == "new" and status["reference_no"] == ref
    assert not {"name", "phone", "description", "district", "township"} & set(status)
    assert "13812345678" not in str(status) and "张三" not in str(status)
    assert help_requests.status_for_resident(ref, "5679", url=store_url) is None
    assert help_requests.status_for_resident(ref, "", url=store_url) is None
    wrong_check = ref[:-1] + next(c for c in "0123456789" if c != ref[-1])
    assert help_requests.normalise_reference(wrong_check) is None
    assert help_requests.status_for_resident(wrong_check, "5678", url=store_url) is None
    assert help_requests.status_for_resident("not-a-reference", "5678", url=store_url) is None


def test_wrong_guesses_are_limited_per_conversation_and_address_not_against_the_owner(store_url: str) -> None:
    ref = help_requests.create_request(request_data(), actor="resident", url=store_url)["reference_no"]
    limits = help_requests.FAILED_LOOKUP_LIMITS
    for guess in range(limits["sender"]):
        assert help_requests.status_for_resident(ref, f"{guess:04d}", "stranger", url=store_url) is None
    with pytest.raises(help_requests.LookupThrottled):  # blocked even with the right digits
        help_requests.status_for_resident(ref, "5678", "stranger", url=store_url)
    # Many conversations from one address, each guessing a different number: the address limit stops them.
    for i in range(limits["address"]):
        guess = help_requests.normalise_reference(new_reference(2026))
        assert help_requests.status_for_resident(guess, "0000", f"bot-{i}", "203.0.113.9", url=store_url) is None
    with pytest.raises(help_requests.LookupThrottled):
        help_requests.status_for_resident(ref, "5678", "bot-new", "203.0.113.9", url=store_url)
    # Five more strangers on the owner's number: now it is blocked for other conversations...
    for i in range(limits["reference"] - limits["sender"]):
        assert help_requests.status_for_resident(ref, "1111", f"other-{i}", url=store_url) is None
    # The number itself is now blocked for other conversations, but never for the one that created it.
    with pytest.raises(help_requests.LookupThrottled):
        help_requests.status_for_resident(ref, "5678", "someone-new", url=store_url)
    status = help_requests.status_for_resident(ref, "5678", "sender-1", url=store_url)
    assert status is not None and status["reference_no"] == ref
    failed = [
        a for a in help_requests.get_request(ref, url=store_url)["audit"] if a["action"] == "status_lookup_failed"
    ]
    assert len(failed) == limits["reference"]


def test_a_right_answer_does_not_use_up_tries(store_url: str) -> None:
    ref = help_requests.create_request(request_data(), actor="resident", url=store_url)["reference_no"]
    for _ in range(help_requests.FAILED_LOOKUP_LIMITS["sender"] * 2):
        assert help_requests.status_for_resident(ref, "5678", "visitor", "198.51.100.1", url=store_url) is not None


def test_workflow_transitions_and_audit(store_url: str) -> None:
    ref = help_requests.create_request(request_data(), actor="resident", url=store_url)["reference_no"]
    with pytest.raises(ValueError, match="不能从"):
        help_requests.update_status(ref, "resolved", "staff:li", url=store_url)
    assert help_requests.get_request(ref, url=store_url)["status"] == "new"
    with pytest.raises(ValueError):
        help_requests.update_status(ref, "closed", "staff:li", url=store_url)
    taken = help_requests.update_status(ref, "in_progress", "staff:li", assignee="li", url=store_url)
    assert taken["status"] == "in_progress" and taken["assignee"] == "li"
    done = help_requests.update_status(ref, "referred", "staff:li", note="已转县民政局", url=store_url)
    assert done["status"] == "referred" and done["notes"][-1]["text"] == "已转县民政局"
    with pytest.raises(ValueError, match="不能从"):
        help_requests.update_status(ref, "in_progress", "staff:li", url=store_url)
    actions = [(a["action"], (a["detail"] or {}).get("to")) for a in done["audit"]]
    assert actions == [
        ("create", None),
        ("status", "in_progress"),
        ("assign", "li"),
        ("status", "referred"),
        ("note", None),
    ]
    with pytest.raises(help_requests.RequestNotFound):
        help_requests.update_status("QHD-2000-000001", "in_progress", "staff:li", url=store_url)


def test_notes_are_added_with_author_and_audit(store_url: str) -> None:
    ref = help_requests.create_request(request_data(), actor="resident", url=store_url)["reference_no"]
    updated = help_requests.add_to_request(ref, "补充：孩子上大学，学费每年五千", "resident", url=store_url)
    assert [(n["author"], n["text"]) for n in updated["notes"]] == [("resident", "补充：孩子上大学，学费每年五千")]
    assert updated["audit"][-1]["action"] == "note"
    with pytest.raises(ValueError):
        help_requests.add_to_request(ref, "  ", "resident", url=store_url)
    with pytest.raises(help_requests.RequestNotFound):
        help_requests.add_to_request("QHD-2000-000009", "文字", "resident", url=store_url)
    with pytest.raises(help_requests.RequestNotFound):  # a resident adds only to their conversation's request
        help_requests.add_to_request(ref, "陌生人的补充", "resident", sender_id="stranger", url=store_url)
    assert count(store_url, RequestNote) == 1


def test_list_filters_search_and_paging(store_url: str) -> None:
    make = help_requests.create_request
    a = make(request_data(name="王五", phone="13900001111"), actor="resident", url=store_url)
    b = make(
        request_data(
            name="赵六", phone="0335-3012345", district="青龙满族自治县", category="ask_job_subsidy", urgency="urgent"
        ),
        actor="operator:zhang",
        url=store_url,
    )
    c = make(request_data(name="钱七", phone="13700002222", description="医药费太多"), actor="resident", url=store_url)
    help_requests.update_status(c["reference_no"], "in_progress", "staff:li", url=store_url)

    def refs(**filters) -> list[str]:
        return [r["reference_no"] for r in help_requests.list_requests(url=store_url, **filters)]

    assert refs() == [c["reference_no"], b["reference_no"], a["reference_no"]]  # newest first
    assert refs(status="in_progress") == [c["reference_no"]]
    assert refs(district="青龙满族自治县") == [b["reference_no"]]
    assert refs(category="ask_job_subsidy", urgency="urgent") == [b["reference_no"]]
    assert refs(search="王五") == [a["reference_no"]]
    assert refs(search="3012345") == [b["reference_no"]]
    assert refs(search="医药") == [c["reference_no"]]
    assert refs(search=a["reference_no"].lower()) == [a["reference_no"]]
    assert refs(search="100%") == []  # LIKE wildcards are escaped
    today = local_now().date()
    assert len(refs(date_from=today, date_to=today.isoformat())) == 3
    assert refs(date_to=today - timedelta(days=1)) == []
    assert refs(limit=1, offset=1) == [b["reference_no"]]
    for bad in ({"status": "open"}, {"limit": 0}, {"date_from": "昨天"}):
        with pytest.raises(ValueError):
            help_requests.list_requests(url=store_url, **bad)


def test_categories_are_the_topic_intents_of_the_domain() -> None:
    domain = yaml.safe_load((REPO_ROOT / "domain.yml").read_text(encoding="utf-8"))
    intents = {i if isinstance(i, str) else next(iter(i)) for i in domain["intents"]}
    topics = {i for i in intents if i.startswith("ask_")}
    assert set(CATEGORIES) == topics | {"report_complaint", "other"}
    assert all(CHINESE.search(label) for label in CATEGORIES.values())

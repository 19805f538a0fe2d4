"""Learning loop (issue 14): which turns are captured and which are not, masking, grouping, the
resident's 👍/👎 door (own conversation only, capped), the operator's flag, labelling with audit, and
the analytics figures."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from starlette.testclient import TestClient
from test_web_support import bot_event, login, user_event, web  # noqa: F401 - pytest fixtures, requested by parameter name

from bot.learning import rules

SENDER = "web-aabbccddeeff00112233"


def parsed(text: str, ranking: list[tuple[str, float]], ts: float = 100.0, top: str | None = None) -> dict:
    top_name = top or ranking[0][0]
    top_conf = dict(ranking).get(top_name, ranking[0][1])
    return {
        "event": "user",
        "text": text,
        "timestamp": ts,
        "parse_data": {
            "intent": {"name": top_name, "confidence": top_conf},
            "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
        },
    }


def action(name: str) -> dict:
    return {"event": "action", "name": name}


# ------------------------------------------------------------------ capture rules
CONFIDENT = [("ask_dibao_standard", 0.92), ("ask_dibao_eligibility", 0.05)]


@pytest.mark.parametrize(
    "events, expected",
    [
        # a confident parse answered by its rule: nothing to learn
        ([parsed("低保标准是多少", CONFIDENT), action("utter_dibao_standard"), bot_event("标准是……")], []),
        # the FallbackClassifier fired and the bot asked to clarify
        (
            [
                parsed("那个钱咋整", [("nlu_fallback", 0.7), ("ask_job_subsidy", 0.3), ("ask_dibao_standard", 0.25)]),
                action("action_clarify"),
                bot_event("您是想问……"),
            ],
            ["fallback", "clarify"],
        ),
        # confident enough for no fallback, but the two best intents are 0.1 apart (< 0.2)
        (
            [parsed("补贴咋领", [("ask_job_subsidy", 0.5), ("ask_dibao_application", 0.4)]), action("utter_x")],
            ["low_margin"],
        ),
        # the resident was handed to a person
        ([parsed("转人工", [("request_human", 0.99), ("greet", 0.001)]), action("action_handoff")], ["handoff"]),
        # an answer to a form's question: a close race between intents is normal there...
        (
            [
                {"event": "active_loop", "name": "help_request_form"},
                parsed("王秀兰", [("inform", 0.45), ("greet", 0.4)]),
                action("help_request_form"),
            ],
            [],
        ),
        # ...but not after the form ended
        (
            [
                {"event": "active_loop", "name": "help_request_form"},
                {"event": "active_loop", "name": None},
                parsed("补贴咋领", [("ask_job_subsidy", 0.5), ("ask_dibao_application", 0.4)]),
            ],
            ["low_margin"],
        ),
        # a button payload is what we offered, not the resident's wording
        ([parsed("/affirm", [("affirm", 0.5), ("deny", 0.45)]), action("action_clarify")], []),
        # only the LAST user turn counts: an earlier clarification is not captured again
        (
            [
                parsed("那个钱咋整", [("nlu_fallback", 0.7), ("ask_job_subsidy", 0.3)], ts=1),
                action("action_clarify"),
                parsed("低保标准是多少", CONFIDENT, ts=2),
                action("utter_dibao_standard"),
            ],
            [],
        ),
    ],
)
def test_capture_reasons(events, expected):
    turn = rules.last_turn(events)
    assert rules.capture_reasons(turn, 0.2) == expected


def test_no_user_message_no_turn():
    assert rules.last_turn([action("action_session_start")]) is None


def test_margin_ignores_nlu_fallback_and_is_setting(monkeypatch):
    assert rules.margin_of(
        {
            "intent_ranking": [
                {"name": "nlu_fallback", "confidence": 0.9},
                {"name": "a", "confidence": 0.6},
                {"name": "b", "confidence": 0.1},
            ]
        }
    ) == pytest.approx(0.5)
    monkeypatch.setenv("LEARN_MARGIN", "0.05")
    assert rules.margin_setting() == 0.05
    monkeypatch.setenv("LEARN_MARGIN", "lots")
    assert rules.margin_setting() == rules.DEFAULT_MARGIN


def test_turn_is_masked_with_context():
    events = [
        parsed("我叫王五", CONFIDENT, ts=1),
        bot_event("好的，电话多少？"),
        parsed("电话13812345678，身份证130302199001011234，钱咋领", [("nlu_fallback", 0.6), ("x", 0.3)], ts=2),
        action("action_clarify"),
        bot_event("您说的13812345678是电话吗？"),
    ]
    turn = rules.last_turn(events)
    assert turn.text == "电话138****5678，身份证130302********1234，钱咋领"
    assert turn.bot_reply == "您说的138****5678是电话吗？"
    assert turn.context == [{"role": "user", "text": "我叫王五"}, {"role": "bot", "text": "好的，电话多少？"}]
    assert turn.event_ts == 2.0


# ------------------------------------------------------------------ grouping
def test_normalise_strips_punctuation_space_and_digits():
    assert rules.normalise("我家3口人，低保 多少？") == rules.normalise("我家 4口人低保多少!") == "我家#口人低保多少"
    assert rules.normalise("ＡＢＣ１２") == "abc##"


def item(i: int, text: str, sender: str = "s1", source: str = "fallback") -> dict:
    return {"id": i, "text": text, "group_key": rules.normalise(text), "sender_id": sender, "source": source}


def test_groups_exact_and_near_identical_sorted_by_frequency():
    items = [
        item(1, "低保咋申请"),
        item(2, "低保咋申请？", "s2"),
        item(3, "低保咋申请！", "s3"),
        item(4, "公益岗位在哪报名啊", "s4"),
        item(5, "公益岗位在哪报名", "s5"),
        item(6, "天气怎么样", "s6"),
    ]
    groups = rules.group_items(items)
    assert [(g.count, g.sample["text"]) for g in groups] == [
        (3, "低保咋申请"),
        (2, "公益岗位在哪报名"),
        (1, "天气怎么样"),
    ]  # ties: shorter key first
    assert groups[0].conversations == 3


def test_short_different_messages_do_not_merge():
    assert not rules.similar("低保", "低保户")  # 2 of 3 characters: below the threshold
    assert rules.similar("公益岗位在哪报名啊", "公益岗位在哪报名")


# ------------------------------------------------------------------ store + web doors
def _widget_session(client) -> dict:
    info = client.get("/widget/session").json()
    assert info["csrf"] and info["token"]
    return info


def _conversation(sender: str) -> dict:
    return {
        "events": [
            parsed(
                "我家3口人，电话13812345678，能领多少",
                [("ask_dibao_standard", 0.6), ("ask_dibao_eligibility", 0.3)],
                ts=10,
            ),
            bot_event("海港区城市低保标准是……\n\n请问您还想了解什么？", ts=11),
            parsed("谢谢", [("thank", 0.99), ("greet", 0.0)], ts=12),
            bot_event("不客气", ts=13),
        ],
        "paused": False,
    }


def test_thumbs_down_is_stored_masked_for_own_conversation_only(web):
    from bot.learning.store import open_items

    app, fake = web
    client = TestClient(app)
    info = _widget_session(client)
    fake.trackers[info["session_id"]] = _conversation(info["session_id"])
    headers = {"X-CSRF-Token": info["csrf"], "Authorization": f"Bearer {info['token']}"}
    resp = client.post(
        "/widget/feedback",
        headers=headers,
        json={"text": "请问您还想了解什么？", "vote": "down", "reason": "我问的是13812345678的事"},
    )
    assert resp.status_code == 200, resp.text
    [row] = [i for i in open_items() if i["source"] == "thumbs_down"]
    assert row["text"] == "我家3口人，电话138****5678，能领多少"
    assert row["intent"] == "ask_dibao_standard" and row["confidence"] == 0.6
    assert row["reason"] == "我问的是138****5678的事"
    assert "13812345678" not in str(open_items())

    # a stranger: own cookie, but the victim's token -> refused; no token -> refused; no CSRF -> refused
    stranger = TestClient(app)
    mine = _widget_session(stranger)
    for h in (
        {"X-CSRF-Token": mine["csrf"], "Authorization": f"Bearer {info['token']}"},
        {"X-CSRF-Token": mine["csrf"]},
        {"Authorization": f"Bearer {mine['token']}"},
    ):
        assert stranger.post("/widget/feedback", headers=h, json={"text": "不客气", "vote": "down"}).status_code == 403
    # an answer the conversation never contained
    assert client.post("/widget/feedback", headers=headers, json={"text": "天气晴", "vote": "down"}).status_code == 404
    assert len([i for i in open_items() if i["source"] == "thumbs_down"]) == 1


def test_revote_replaces_and_votes_are_capped(web, monkeypatch):
    from bot.learning import store

    app, fake = web
    client = TestClient(app)
    info = _widget_session(client)
    fake.trackers[info["session_id"]] = _conversation(info["session_id"])
    h = {"X-CSRF-Token": info["csrf"], "Authorization": f"Bearer {info['token']}"}
    assert client.post("/widget/feedback", headers=h, json={"text": "不客气", "vote": "down"}).status_code == 200
    assert client.post("/widget/feedback", headers=h, json={"text": "不客气", "vote": "up"}).status_code == 200
    votes = store.votes_since(datetime(2000, 1, 1))
    assert [v["source"] for v in votes] == ["thumbs_up"]  # one vote per answer: the later one
    monkeypatch.setattr(store, "MAX_VOTES_PER_CONVERSATION", 1)
    refused = client.post("/widget/feedback", headers=h, json={"text": "海港区城市低保标准是……", "vote": "down"})
    assert refused.status_code == 429 and "上限" in refused.json()["error"]["message_zh"]


def test_operator_flag_and_staff_labels_group_with_audit(web):
    import sqlalchemy as sa

    from bot.learning.capture import store_turn
    from bot.learning.store import labelled_items, open_items
    from bot.store.db import session_scope
    from bot.store.models import AuditEntry

    app, fake = web
    conversation = _conversation(SENDER)
    fake.trackers[SENDER] = conversation
    operator = TestClient(app)
    h = {"X-CSRF-Token": login(operator, "op1")}
    resp = operator.post(
        f"/api/operator/conversations/{SENDER}/flag",
        headers=h,
        json={"time": datetime.fromtimestamp(10).astimezone().isoformat()},
    )
    assert resp.status_code == 200, resp.text
    # the same wording (punctuation aside) captured in another conversation joins the group
    other = [
        parsed("我家4口人 电话13900001111 能领多少？", [("nlu_fallback", 0.7), ("ask_dibao_standard", 0.4)], ts=5),
        action("action_clarify"),
    ]
    assert store_turn("web-other-conversation", other, margin=0.2) == ["fallback", "clarify"]
    assert store_turn("web-other-conversation", other, margin=0.2) == ["fallback", "clarify"]  # no duplicate rows
    assert len(open_items()) == 3

    staff = TestClient(app)
    staff_csrf = login(staff, "st1")
    page = staff.get("/staff/learning")
    # three rows, two occurrences: the other conversation's turn was captured for two reasons
    assert page.status_code == 200 and '出现 <strong class="learning-count">2</strong> 次' in page.text
    assert "13812345678" not in page.text and "13900001111" not in page.text
    first_id = re.search(r'name="ids" value="(\d+)"', page.text).group(1)
    assert operator.get("/staff/learning").status_code == 403  # operators do not label
    bad = staff.post("/staff/learning/label", data={"csrf_token": staff_csrf, "ids": first_id, "label": "uncovered"})
    assert bad.status_code == 400 and "说明" in bad.text
    done = staff.post(
        "/staff/learning/label",
        follow_redirects=False,
        data={"csrf_token": staff_csrf, "ids": first_id, "label": "ask_dibao_standard"},
    )
    assert done.status_code == 303 and done.headers["location"] == "/staff/learning?done=3"
    assert open_items() == []
    assert {(i["label"], i["reviewed_by"]) for i in labelled_items()} == {("ask_dibao_standard", "staff:st1")}
    with session_scope() as session:
        audit = session.execute(sa.select(AuditEntry).where(AuditEntry.action == "learning_label")).scalars().one()
        assert audit.actor == "staff:st1" and audit.detail["count"] == 3


def test_label_must_be_a_known_intent(web):
    from bot.learning.store import label_group

    with pytest.raises(ValueError, match="意图"):
        label_group([1], "ask_weather", "staff:st1", ["ask_dibao_standard"])


# ------------------------------------------------------------------ analytics
def test_weekly_figures():
    from bot.web.analytics import to_csv, weekly_figures

    monday = datetime(2026, 11, 23, 10, 0).timestamp()  # 2026 week 48 in China

    def row(sender: str, kind: str, ts: float, intent=None, action=None, operator=None) -> dict:
        return {"sender_id": sender, "type": kind, "ts": ts, "intent": intent, "action": action, "operator": operator}

    ev = [
        row("a", "user", monday, intent="ask_dibao_standard"),
        row("a", "user", monday + 60, intent="nlu_fallback"),
        row("a", "action", monday + 61, action="action_clarify"),
        row("b", "user", monday + 120, intent="request_human"),
        row("b", "action", monday + 121, action="action_handoff"),
        row("b", "bot", monday + 421, operator="op1"),
    ]
    votes = [
        {"source": "thumbs_down", "intent": "ask_dibao_standard", "created_at": datetime(2026, 11, 23, 3)},
        {"source": "thumbs_up", "intent": "ask_dibao_standard", "created_at": datetime(2026, 11, 23, 4)},
        {"source": "thumbs_up", "intent": "ask_dibao_standard", "created_at": datetime(2026, 11, 23, 5)},
    ]
    reqs = [{"district": "海港区", "created_at": "2026-11-24T02:00:00+00:00"}]
    fig = weekly_figures(ev, votes, reqs)
    assert fig["weeks"] == [
        {
            "week": "2026年第48周",
            "conversations": 2,
            "user_turns": 3,
            "clarify_share_pct": 33,
            "handoff_rate_pct": 50,
            "thumbs_down": 1,
            "thumbs_up": 2,
            "median_first_reply_min": 5.0,
            "requests": 1,
        }
    ]
    assert sorted(fig["topics"]) == [("request_human", 1), ("低保标准", 1)]  # nlu_fallback is no topic
    assert fig["down_rate"] == [("低保标准", 33)]
    assert fig["districts"] == [("海港区", 1)]
    csv_text = to_csv(fig["weeks"]).decode("utf-8-sig")
    assert csv_text.splitlines()[1] == "2026年第48周,2,3,33,50,1,2,5.0,1"


def test_analytics_page_and_csv_are_staff_only(web):
    app, _ = web
    staff = TestClient(app)
    login(staff, "st1")
    page = staff.get("/staff/analytics")
    assert page.status_code == 200 and "每周转人工的对话占比" in page.text
    assert staff.get("/staff/analytics.csv").headers["content-type"].startswith("text/csv")
    operator = TestClient(app)
    login(operator, "op1")
    assert operator.get("/staff/analytics").status_code == 403


# ------------------------------------------------------------------ the guard's hook
def test_capture_runs_after_the_turn_and_never_breaks_it(monkeypatch, caplog):
    import asyncio

    from bot.learning import capture

    stored: list[tuple[str, int]] = []
    events = [parsed("那个钱咋整", [("nlu_fallback", 0.7), ("ask_job_subsidy", 0.3)]), action("action_clarify")]

    async def fine(sender_id):
        return events

    async def broken(sender_id):
        raise RuntimeError("tracker store down")

    monkeypatch.setattr(capture, "store_turn", lambda sender, evs: stored.append((sender, len(evs))))

    async def turn(source) -> None:
        monkeypatch.setattr(capture, "_tracker_events", source)
        before = list(stored)
        capture.schedule_capture("web-sender-0001")  # returns at once; the work is a background task
        assert stored == before
        await asyncio.gather(*capture._pending)

    asyncio.run(turn(fine))
    assert stored == [("web-sender-0001", 2)]
    asyncio.run(turn(broken))
    assert stored == [("web-sender-0001", 2)]
    assert "learning capture failed" in caplog.text
    capture.schedule_capture("outside any event loop")  # no loop: logged, not raised


# ------------------------------------------------------------------ the turn handed over by the store
def _long_conversation() -> list:
    """Event objects as a tracker holds them: earlier turns, a form with a phone number, a bot text."""
    from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, SlotSet, UserUttered

    def said(text: str, intent: str, confidence: float, ts: float) -> UserUttered:
        ranking = [
            {"name": intent, "confidence": confidence},
            {"name": "ask_dibao_apply", "confidence": 1 - confidence},
        ]
        return UserUttered(
            text,
            intent={"name": intent, "confidence": confidence},
            parse_data={"intent_ranking": ranking},
            timestamp=ts,
        )

    events: list = [ActionExecuted("action_listen")]
    for turn in range(8):  # more earlier texts than the capture keeps as context
        events += [said(f"第{turn}句 低保咋办", "ask_dibao_apply", 0.9, 10.0 + turn), ActionExecuted("utter_apply")]
        events += [BotUttered(f"第{turn}个回答"), ActionExecuted("action_listen")]
    events += [said("我要登记求助", "request_help", 0.95, 30.0), ActionExecuted("help_form"), ActiveLoop("help_form")]
    events += [BotUttered("请问怎么称呼您？"), ActionExecuted("action_listen")]
    events += [said("王秀英", "inform", 0.51, 31.0), SlotSet("contact_name", "王秀英"), ActionExecuted("help_form")]
    events += [BotUttered("请留一个电话"), ActionExecuted("action_listen")]
    events += [said("电话13812345678 嗯那个钱咋整", "ask_job_subsidy", 0.41, 32.0), ActionExecuted("action_clarify")]
    events += [BotUttered("您是想问……？13812345678")]
    return events


def test_the_turn_handed_over_by_the_store_is_the_turn_read_back_from_it():
    from bot.learning import capture, rules
    from bot.privacy_events import for_tracker

    events = _long_conversation()
    stored = [for_tracker(event.as_dict()) for event in events]  # what the masking store writes and reads
    handed = capture.turn_events(events)
    assert len(handed) < len(stored)
    assert rules.last_turn(handed) == rules.last_turn(stored)
    turn = rules.last_turn(handed)
    assert turn.in_form and turn.intent == "ask_job_subsidy" and "13812345678" not in turn.text + turn.bot_reply
    assert len(turn.context) == rules.CONTEXT_TURNS


def test_a_saved_turn_is_captured_without_reading_the_store_and_only_once(monkeypatch):
    import asyncio

    from bot.learning import capture

    capture.remember_saved("web-sender-0002", _long_conversation())
    first = asyncio.run(capture._tracker_events("web-sender-0002"))
    assert first and first[-1]["text"] == "您是想问……？13812345678"

    class NoAgent:  # the fallback (a store that hands nothing over) would read the store via Sanic
        @staticmethod
        def get_app():
            raise LookupError("no Rasa app here")

    monkeypatch.setattr(capture, "Sanic", NoAgent)
    with pytest.raises(LookupError):
        asyncio.run(capture._tracker_events("web-sender-0002"))  # handed over once, then gone


def test_handed_over_turns_are_bounded(monkeypatch):
    from bot.learning import capture

    monkeypatch.setattr(capture, "MAX_REMEMBERED", 3)
    monkeypatch.setattr(capture, "_saved", type(capture._saved)())
    for n in range(5):
        capture.remember_saved(f"s{n}", _long_conversation())
    assert list(capture._saved) == ["s2", "s3", "s4"]


def test_the_masking_store_hands_over_the_turn_it_stored(tmp_path):
    import asyncio

    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

    from bot.learning import capture, rules
    from bot.tracker_privacy import MaskingWindowedSQLTrackerStore

    domain = Domain.from_dict(
        {
            "intents": ["ask_dibao_apply", "request_help", "inform", "ask_job_subsidy"],
            "slots": {"contact_name": {"type": "text", "mappings": [{"type": "custom"}]}},
            "forms": {"help_form": {"required_slots": ["contact_name"]}},
            "actions": ["action_clarify"],
            "responses": {"utter_apply": [{"text": "x"}]},
        }
    )
    store = MaskingWindowedSQLTrackerStore(domain=domain, dialect="sqlite", db=str(tmp_path / "t.db"))
    tracker = DialogueStateTracker.from_events("web-sender-0003", _long_conversation(), domain.slots)
    asyncio.run(store.save(tracker))
    handed = capture._saved.pop("web-sender-0003")
    read_back = asyncio.run(store.retrieve("web-sender-0003")).current_state(EventVerbosity.AFTER_RESTART)["events"]
    assert rules.last_turn(handed) == rules.last_turn(read_back)
    assert rules.last_turn(handed).margin is not None

"""What leaves a turn: the broker gets no words, names or numbers; the tracker store keeps words, not numbers."""

from __future__ import annotations

from bot.privacy_events import for_broker, for_tracker

PHONE = "13812345678"
USER = {
    "event": "user",
    "text": f"我叫王秀兰 电话{PHONE}",
    "timestamp": 1.0,
    "metadata": {"client_address": "203.0.113.7"},
    "parse_data": {
        "text": f"我叫王秀兰 电话{PHONE}",
        "intent": {"name": "request_help", "confidence": 0.9},
        "entities": [
            {"entity": "phone", "value": PHONE, "start": 8, "end": 19},
            {"entity": "person_name", "value": "王秀兰", "start": 2, "end": 5},
        ],
    },
}


def test_broker_events_carry_intents_but_no_words_names_or_numbers():
    out = for_broker(USER)
    assert out["parse_data"]["intent"]["name"] == "request_help"
    flat = str(out)
    assert PHONE not in flat and "王秀兰" not in flat and "203.0.113.7" not in flat
    assert out["text"] == ""
    assert {e["value"] for e in out["parse_data"]["entities"]} == {"138****5678", "王**"}
    assert for_broker({"event": "slot", "name": "phone", "value": PHONE})["value"] == "138****5678"
    assert for_broker({"event": "slot", "name": "person_name", "value": "王秀兰"})["value"] == "王**"
    assert for_broker({"event": "slot", "name": "hr_description", "value": "老伴瘫痪在床"})["value"] == ""
    assert for_broker({"event": "slot", "name": "last_result", "value": {"case": {"income": 900}}})["value"] == ""
    assert (
        for_broker({"event": "slot", "name": "hr_category", "value": "ask_dibao_eligibility"})["value"]
        == "ask_dibao_eligibility"
    )
    assert for_broker({"event": "slot", "name": "household_size", "value": 3})["value"] == 3
    assert PHONE not in str(for_broker({"event": "bot", "text": f"电话 {PHONE}", "data": {"x": PHONE}}))
    assert USER["parse_data"]["entities"][0]["value"] == PHONE  # the original is not modified


def test_masking_leaves_the_event_it_was_given_unchanged():
    """The store masks the dict of an event the running tracker still holds (Rasa's `as_dict` shares
    parse data and metadata with the event): masking must not reach back into it."""
    import copy
    import json

    given = copy.deepcopy(USER)
    given["parse_data"]["response_selector"] = {"default": {"response": {"text": PHONE}}}
    before = json.dumps(given, sort_keys=True)
    for mask in (for_broker, for_tracker):
        mask(given)
        assert json.dumps(given, sort_keys=True) == before
    bot = {"event": "bot", "text": f"电话 {PHONE}", "data": {"x": PHONE}, "metadata": {"utter_action": "utter_x"}}
    bot_before = json.dumps(bot, sort_keys=True)
    for mask in (for_broker, for_tracker):
        mask(bot)
    assert json.dumps(bot, sort_keys=True) == bot_before


def test_tracker_events_keep_words_mask_numbers_and_keep_what_the_form_still_needs():
    out = for_tracker(USER)
    assert out["text"] == "我叫王秀兰 电话138****5678" and out["parse_data"]["text"] == out["text"]
    assert "client_address" not in out["metadata"]
    assert for_tracker({"event": "slot", "name": "phone", "value": PHONE})["value"] == PHONE  # form still needs it
    described = for_tracker({"event": "slot", "name": "hr_description", "value": f"打{PHONE}找我"})
    assert described["value"] == "打138****5678找我"
    id_text = for_tracker({"event": "user", "text": "身份证130302199001011234", "parse_data": {}})
    assert "19900101" not in id_text["text"]

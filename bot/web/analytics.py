"""Staff analytics of conversations (issue 14): per week conversations, top topics, share of turns that
needed clarification, handoff rate, 👎 rate by topic, time to an operator's first reply (from the
conversation's first action_handoff to the first message an operator sent in it), requests by district.
SVG charts as on /staff/charts (bot.web.charts) and a CSV export.

Sources: Rasa's tracker store `events` table (read-only, as bot.web.tracker_db), our 👍/👎 rows
(bot.learning.store) and help requests (bot.store.help_requests). `weekly_figures` is pure, so it is tested
without databases.
"""

from __future__ import annotations

import csv
import io
import json
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.learning.rules import CLARIFY_ACTION, FALLBACK_INTENT, HANDOFF_ACTION
from bot.learning.store import votes_since
from bot.topics import INTENT_LABELS_ZH
from bot.web import charts, staff, tracker_db
from bot.web.security import page
from bot.web.templating import render

WEEKS = 12
CHAT_INTENTS = {"greet", "goodbye", "thank", "affirm", "deny", "inform", "stop", FALLBACK_INTENT}
CSV_COLUMNS = (
    "week",
    "conversations",
    "user_turns",
    "clarify_share_pct",
    "handoff_rate_pct",
    "thumbs_down",
    "thumbs_up",
    "median_first_reply_min",
    "requests",
)


def _week(ts: float) -> str:
    return charts.week_label(datetime.fromtimestamp(ts, tz=timezone(timedelta(hours=8))).date())


def _pct(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


def read_events(tracker_db_url: str, since_ts: float) -> list[dict[str, Any]]:
    """Rows of Rasa's events table since `since_ts`: {sender_id, type, ts, intent, action, operator}."""
    if tracker_db_url.startswith("sqlite:///") and not Path(tracker_db_url[len("sqlite:///") :]).exists():
        return []
    try:
        with tracker_db.engine(tracker_db_url).connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT sender_id, type_name, timestamp, intent_name, action_name, "
                    "CASE WHEN type_name = 'bot' THEN data ELSE NULL END AS data FROM events "
                    "WHERE timestamp >= :since AND type_name IN ('user', 'action', 'bot') ORDER BY id"
                ),
                {"since": since_ts},
            ).all()
    except SQLAlchemyError:
        return []
    out = []
    for r in rows:
        operator = None
        if r.data:
            try:
                operator = (json.loads(r.data).get("metadata") or {}).get("operator")
            except (ValueError, AttributeError):
                operator = None
        out.append(
            {
                "sender_id": r.sender_id,
                "type": r.type_name,
                "ts": float(r.timestamp),
                "intent": r.intent_name,
                "action": r.action_name,
                "operator": operator,
            }
        )
    return out


def weekly_figures(events: Iterable[dict], votes: Iterable[dict], requests: Iterable[dict]) -> dict[str, Any]:
    """Figures per week and per topic from event rows (see read_events), votes ({source, intent,
    created_at naive UTC}) and help requests ({district, created_at ISO})."""
    weeks: dict[str, dict[str, Any]] = defaultdict(
        lambda: {
            "senders": set(),
            "turns": 0,
            "clarify": 0,
            "handoff": set(),
            "down": 0,
            "up": 0,
            "waits": [],
            "requests": 0,
        }
    )
    topics: Counter = Counter()
    handoff_at: dict[str, float] = {}
    for ev in events:
        week = weeks[_week(ev["ts"])]
        if ev["type"] == "user":
            week["senders"].add(ev["sender_id"])
            week["turns"] += 1
            if ev.get("intent") and ev["intent"] not in CHAT_INTENTS:
                topics[ev["intent"]] += 1
        elif ev["type"] == "action" and ev.get("action") == CLARIFY_ACTION:
            week["clarify"] += 1
        elif ev["type"] == "action" and ev.get("action") == HANDOFF_ACTION:
            week["handoff"].add(ev["sender_id"])
            handoff_at.setdefault(ev["sender_id"], ev["ts"])
        elif ev["type"] == "bot" and ev.get("operator") and ev["sender_id"] in handoff_at:
            week["waits"].append((ev["ts"] - handoff_at.pop(ev["sender_id"])) / 60.0)
    by_topic: dict[str, Counter] = defaultdict(Counter)
    for v in votes:
        created = v["created_at"].replace(tzinfo=timezone.utc).timestamp()
        kind = "down" if v["source"] == "thumbs_down" else "up"
        weeks[_week(created)][kind] += 1
        by_topic[v.get("intent") or "未识别"][kind] += 1
    districts: Counter = Counter()
    for r in requests:
        districts[r.get("district") or "未填写"] += 1
        try:
            weeks[_week(datetime.fromisoformat(str(r["created_at"])).timestamp())]["requests"] += 1
        except (KeyError, ValueError):
            pass
    rows = []
    for label in sorted(weeks):
        w = weeks[label]
        conversations = len(w["senders"])
        rows.append(
            {
                "week": label,
                "conversations": conversations,
                "user_turns": w["turns"],
                "clarify_share_pct": _pct(w["clarify"], w["turns"]),
                "handoff_rate_pct": _pct(len(w["handoff"]), conversations),
                "thumbs_down": w["down"],
                "thumbs_up": w["up"],
                "median_first_reply_min": round(statistics.median(w["waits"]), 1) if w["waits"] else None,
                "requests": w["requests"],
            }
        )
    down_rate = sorted(
        ((INTENT_LABELS_ZH.get(t, t), _pct(c["down"], c["down"] + c["up"])) for t, c in by_topic.items()),
        key=lambda x: -x[1],
    )
    return {
        "weeks": rows,
        "topics": [(INTENT_LABELS_ZH.get(t, t), n) for t, n in topics.most_common(10)],
        "down_rate": down_rate,
        "districts": districts.most_common(),
    }


def _figures(tracker_db_url: str, weeks: int = WEEKS) -> dict[str, Any]:
    start = date.today() - timedelta(weeks=weeks)
    since = datetime.combine(start, datetime.min.time())
    return weekly_figures(
        read_events(tracker_db_url, since.replace(tzinfo=timezone.utc).timestamp()),
        votes_since(since),
        staff.list_all({"date_from": start}),
    )


def _chart_context(fig: dict[str, Any]) -> dict[str, Any]:
    w = fig["weeks"]
    return {
        "charts": [
            ("每周对话数", charts.bars([(r["week"], r["conversations"]) for r in w])),
            ("热门话题（提问次数）", charts.bars(fig["topics"])),
            ("每周需要澄清的提问占比（%）", charts.bars([(r["week"], r["clarify_share_pct"]) for r in w])),
            ("每周转人工的对话占比（%）", charts.bars([(r["week"], r["handoff_rate_pct"]) for r in w])),
            ("各话题「没帮助」占评价的比例（%）", charts.bars(fig["down_rate"])),
            (
                "话务员首次回复用时中位数（分钟）",
                charts.bars(
                    [
                        (r["week"], round(r["median_first_reply_min"]))
                        for r in w
                        if r["median_first_reply_min"] is not None
                    ]
                ),
            ),
            ("各区县求助数", charts.bars(fig["districts"])),
        ],
        "weeks": w,
    }


def to_csv(rows: list[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row[k]) for k in CSV_COLUMNS})
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # BOM: Excel opens UTF-8 Chinese correctly


@page("staff")
async def analytics_page(request: Request) -> Response:
    fig = await run_in_threadpool(_figures, request.app.state.cfg.tracker_db_url)
    return render(request, "staff_analytics.html", _chart_context(fig))


@page("staff")
async def analytics_csv(request: Request) -> Response:
    fig = await run_in_threadpool(_figures, request.app.state.cfg.tracker_db_url)
    stamp = date.today().strftime("%Y%m%d")
    return Response(
        to_csv(fig["weeks"]),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="conversation-analytics-{stamp}.csv"',
            "Cache-Control": "no-store",
        },
    )


def routes() -> list[Route]:
    return [
        Route("/staff/analytics", analytics_page, methods=["GET"]),
        Route("/staff/analytics.csv", analytics_csv, methods=["GET"]),
    ]

"""A durable outbox for help requests the database could not take.

Why: a resident who confirmed a request must never lose it because the database was down for a minute.
When the save fails for a database reason, the validated request is appended to a JSON-lines journal on
local disk (flushed and fsynced before the resident is told anything) together with its idempotency key
and the reference number it will get. `flush()` saves pending entries once the database answers again;
the idempotency key makes a repeated flush (two processes, a crash between save and "done") harmless.
The action server retries in a background thread; `python -m bot outbox flush` does it by hand, and the
operator console lists what is pending.

The journal holds full phone numbers (like the request row it stands in for): it lives under var/ with
mode 0600 and is rewritten empty once everything in it is saved.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.privacy import mask_phone
from bot.settings import REPO_ROOT, env_settings
from bot.store import help_requests

log = logging.getLogger(__name__)


def retry_seconds() -> float:
    """OUTBOX_RETRY_SECONDS (default 15, at least 0.5): how often the action server tries the database again."""
    return max(0.5, env_settings().outbox_retry_seconds)


def outbox_path() -> Path:
    """OUTBOX_PATH, default var/outbox.jsonl in the checkout (kept next to the database it stands in for);
    a relative path is taken from the checkout, not the current directory."""
    path = env_settings().outbox_path
    return path if path.is_absolute() else REPO_ROOT / path


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock beside the journal, so processes never interleave half-lines or compactions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(str(path) + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _append(path: Path, record: dict[str, Any]) -> None:
    line = (json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
    new = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)
    if new:  # the file's directory entry must survive a crash too
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _read(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut by a crash mid-write was never acknowledged: skip it
            log.warning("outbox: skipping an unreadable line in %s", path)
    return records


def park(key: str, reference_no: str, data: dict[str, Any], actor: str, path: Path | None = None) -> None:
    """Durably record a request to save later. Returns only after the line is on disk."""
    path = path or outbox_path()
    with _locked(path):
        _append(path, {"op": "park", "key": key, "reference_no": reference_no, "data": data, "actor": actor})
    log.warning("help request %s parked in the outbox (database unavailable)", reference_no)


def pending(path: Path | None = None) -> list[dict[str, Any]]:
    """Entries parked and not yet saved, oldest first (each once, whatever the journal repeats)."""
    path = path or outbox_path()
    with _locked(path):
        return _pending(_read(path))


def _pending(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    done = {r["key"] for r in records if r.get("op") == "done"}
    seen: set[str] = set()
    out = []
    for record in records:
        if record.get("op") == "park" and record["key"] not in done and record["key"] not in seen:
            seen.add(record["key"])
            out.append(record)
    return out


def pending_summary(path: Path | None = None) -> list[dict[str, str]]:
    """What the operator console shows: reference, masked phone, category; never the full number."""
    return [
        {
            "reference_no": r["reference_no"],
            "phone_masked": mask_phone(r["data"].get("phone")),
            "category": str(r["data"].get("category") or ""),
            "district": str(r["data"].get("district") or ""),
        }
        for r in pending(path)
    ]


def flush(url: str | None = None, path: Path | None = None) -> tuple[int, int]:
    """Save every pending entry; returns (saved, still pending). Stops at the first database error (the
    database is still away); an entry the store refuses as invalid stays pending and is logged."""
    path = path or outbox_path()
    saved = 0
    with _locked(path):
        entries = _pending(_read(path))
        for entry in entries:
            try:
                help_requests.create_request(
                    entry["data"],
                    actor=entry["actor"],
                    idempotency_key=entry["key"],
                    reference_no=entry["reference_no"],
                    url=url,
                )
            except ValueError:
                log.exception("outbox entry %s refused by the store; left for an operator", entry["reference_no"])
                continue
            except Exception:  # noqa: BLE001 - the database is still unavailable: try again later
                log.warning("outbox flush: database still unavailable, %d entries wait", len(entries) - saved)
                break
            _append(path, {"op": "done", "key": entry["key"]})
            saved += 1
        left = _pending(_read(path))
        if not left and path.exists():
            os.replace(_empty_copy(path), path)  # nothing pending: drop the personal data it held
    return saved, len(left)


def forget_phone(phone: str, path: Path | None = None) -> int:
    """Mark pending entries with this phone number done without saving them (an erasure request)."""
    path = path or outbox_path()
    with _locked(path):
        entries = [e for e in _pending(_read(path)) if e["data"].get("phone") == phone]
        for entry in entries:
            _append(path, {"op": "done", "key": entry["key"], "erased": True})
    return len(entries)


def _empty_copy(path: Path) -> Path:
    temp = path.with_suffix(".empty")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fsync(fd)
    os.close(fd)
    return temp


_retrier: threading.Thread | None = None
_retrier_lock = threading.Lock()


def ensure_retrier(url: str | None = None, every: float | None = None) -> None:
    """Start (once per process) a daemon thread that flushes the outbox until it is empty."""
    global _retrier
    every = every or retry_seconds()
    with _retrier_lock:
        if _retrier is not None and _retrier.is_alive():
            return

        def loop() -> None:
            stop = threading.Event()
            while not stop.wait(every):
                try:
                    saved, left = flush(url)
                except Exception:  # a background retry must never die of one bad round
                    log.exception("outbox retry failed")
                    continue
                if saved:
                    log.warning("outbox: %d parked help requests saved, %d still waiting", saved, left)
                if not left:
                    return

        _retrier = threading.Thread(target=loop, name="outbox-retry", daemon=True)
        _retrier.start()


def main(argv: list[str]) -> int:
    """`python -m bot outbox [list|flush]`."""
    command = argv[0] if argv else "list"
    if command == "flush":
        saved, left = flush()
        print(f"已保存 {saved} 条暂存的求助，还有 {left} 条等待数据库恢复")
        return 0 if not left else 1
    if command == "list":
        entries = pending_summary()
        for entry in entries:
            print(f"{entry['reference_no']}  {entry['phone_masked']}  {entry['district']}  {entry['category']}")
        print(f"共 {len(entries)} 条暂存的求助等待保存")
        return 0
    print("用法: python -m bot outbox [list|flush]")
    return 2


def resume_pending() -> None:
    """At action-server start: entries left by an earlier run are retried too."""
    try:
        if pending():
            ensure_retrier()
    except OSError:
        log.exception("could not read the outbox")

"""Command line: `python -m bot <command> ...`.

Each command lives in the module that owns it; this file only dispatches, so that a command's
imports (Rasa, SQLAlchemy, the web framework) are paid only by the command that needs them.
"""

from __future__ import annotations

import importlib
import sys

# command -> (module, one-line help). The module exposes `main(argv: list[str]) -> int`.
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("bot.runner", "start Rasa, the action server and the web app (trains first if needed)"),
    "eligibility": ("bot.eligibility.cli", "read a case JSON on stdin, print the result JSON"),
    "policies": ("bot.rulebook_cli", "check the rulebook, list unconfirmed or old figures, diff dates"),
    "users": ("bot.store.cli", "manage operator and staff accounts"),
    "db": ("bot.store.cli_db", "database migrations (upgrade) and retention purge"),
    "backup": ("bot.backup", "copy both databases of the profile (SQLite backup API / pg_dump) to a folder"),
    "restore": ("bot.restore", "put a backup back (checks its digests; needs --yes)"),
    "rest-token": ("bot.secrets_cli", "print the REST webhook's integrator token (generated on first use)"),
    "outbox": ("bot.store.outbox", "help requests waiting for the database: list, flush"),
    "nlu": ("bot.learning.export", "export-reviewed: labelled messages -> data/nlu/reviewed/; check-reviewed"),
}


def usage() -> str:
    lines = ["用法: python -m bot <命令> [参数]", ""]
    lines += [f"  {name:<12} {help_}" for name, (_, help_) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"未知命令: {name}\n\n{usage()}", file=sys.stderr)
        return 2
    # lazy: `--help` and an unknown command import ~15 ms of modules; bot.settings (pydantic) and bot.local_secrets
    # add ~70 ms and ~120 modules
    from bot.local_secrets import SecretError  # noqa: PLC0415 - lazy import, reason above
    from bot.settings import SettingsError  # noqa: PLC0415 - lazy import, reason above

    module = importlib.import_module(COMMANDS[name][0])
    try:
        return int(module.main(rest) or 0)
    except (SecretError, SettingsError) as error:
        print(str(error), file=sys.stderr)
        return 2

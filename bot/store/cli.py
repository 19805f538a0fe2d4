"""`python -m bot users ...`: manage operator, staff and admin accounts.

    python -m bot users add USERNAME --role staff [--password-stdin]
    python -m bot users list
    python -m bot users disable USERNAME
    python -m bot users enable USERNAME
    python -m bot users passwd USERNAME [--password-stdin]
    python -m bot users grant USERNAME policy_editor|policy_approver   (revoke likewise)

Passwords are never taken as command-line arguments (they would end up in shell history and `ps`): they
are typed twice at a hidden prompt, or read from the first line of stdin with --password-stdin.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import NoReturn, TextIO

from sqlalchemy.exc import SQLAlchemyError

from bot.store import accounts
from bot.store.categories import ROLES
from bot.store.rulelayer import POLICY_ROLES, grant_role, revoke_role, roles_of

NOT_MIGRATED_HINT = "数据库不可用或尚未初始化：请先运行 python -m bot db upgrade"


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors in Chinese and returns instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise ValueError(f"参数错误：{message}\n{self.format_usage()}")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m bot users", description="管理话务员、业务人员和管理员账号")
    sub = parser.add_subparsers(dest="command", metavar="子命令")
    add = sub.add_parser("add", help="新建账号")
    add.add_argument("username", help="用户名（英文字母、数字、下划线、点或连字符）")
    add.add_argument("--role", required=True, choices=sorted(ROLES), help="角色")
    add.add_argument("--password-stdin", action="store_true", help="从标准输入第一行读取密码")
    sub.add_parser("list", help="列出所有账号")
    for name, help_ in (("disable", "停用账号"), ("enable", "重新启用账号")):
        sub.add_parser(name, help=help_).add_argument("username")
    for name, help_ in (("grant", "授予政策数值角色"), ("revoke", "收回政策数值角色")):
        grant = sub.add_parser(name, help=help_)
        grant.add_argument("username")
        grant.add_argument("role", choices=sorted(POLICY_ROLES), help="policy_editor（录入）或 policy_approver（审核）")
    passwd = sub.add_parser("passwd", help="重设密码")
    passwd.add_argument("username")
    passwd.add_argument("--password-stdin", action="store_true", help="从标准输入第一行读取密码")
    return parser


def read_password(from_stdin: bool, stdin: TextIO | None = None) -> str:
    """The new password: first stdin line, or typed twice at a hidden prompt when interactive."""
    stdin = stdin or sys.stdin
    if from_stdin:
        return stdin.readline().rstrip("\r\n")
    if not stdin.isatty():
        raise ValueError("标准输入不是终端：请加 --password-stdin 并从标准输入提供密码")
    first = getpass.getpass("请输入密码：")
    second = getpass.getpass("请再次输入密码：")
    if first != second:
        raise ValueError("两次输入的密码不一致")
    return first


def _print_accounts() -> None:
    rows = accounts.list_accounts()
    if not rows:
        print("还没有任何账号。用 python -m bot users add 用户名 --role staff 新建。")
        return
    print(f"{'用户名':<20}{'角色':<10}{'状态':<8}最近登录")
    for row in rows:
        state = "启用" if row["active"] else "已停用"
        extra = "、".join(POLICY_ROLES[r] for r in sorted(roles_of(row["username"]) & set(POLICY_ROLES)))
        print(
            f"{row['username']:<22}{row['role_zh']:<8}{state:<8}{row['last_login_at'] or '—'}"
            + (f"  另有：{extra}" if extra else "")
        )


def main(argv: list[str]) -> int:
    try:
        args = _parser().parse_args(argv)
        if args.command is None:
            print(_parser().format_help())
            return 2
        if args.command == "add":
            password = read_password(args.password_stdin)
            row = accounts.create_account(args.username, password, args.role, actor="cli")
            print(f"已创建账号 {row['username']}（{row['role_zh']}）")
        elif args.command == "list":
            _print_accounts()
        elif args.command in ("disable", "enable"):
            row = accounts.set_active(args.username, args.command == "enable", actor="cli")
            print(f"账号 {row['username']} 已{'启用' if row['active'] else '停用'}")
        elif args.command in ("grant", "revoke"):
            change = grant_role if args.command == "grant" else revoke_role
            held = change(args.username, args.role, actor="cli")
            print(f"账号 {args.username} 现在的角色：{'、'.join(sorted(held))}")
        elif args.command == "passwd":
            password = read_password(args.password_stdin)
            row = accounts.set_password(args.username, password, actor="cli")
            print(f"已重设账号 {row['username']} 的密码")
        return 0
    except ValueError as error:
        print(str(error), file=sys.stderr)
        return 2
    except SQLAlchemyError as error:
        print(f"{NOT_MIGRATED_HINT}\n（{type(error).__name__}）", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, EOFError):
        print("\n已取消", file=sys.stderr)
        return 130

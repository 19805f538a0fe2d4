"""An approved rulebook value reaches every process of the production profile without a restart.

Two Rasa instances, each with its own action server, on one PostgreSQL database: a value approved in
the store (as the staff desk does) is answered by both within a few seconds, because each action server
re-reads the layer version at most once a second (bot/rulebook/current.py). The 900 and the 文号 are
this test's own input.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from bot.production.cluster import PYTHON, Cluster, build
from bot.production.config import ProductionConfig
from tests.production.conftest import consecutive_free_ports, services_and_model
from tests.production.test_cluster import SECRETS, _clean_up, say, sender
from tests.support.servers import free_port

DOC_NO = "秦民字〔2025〕12号"
QUESTION = "海港区城市低保标准是多少"
FORM = {
    "parameter_id": "dibao.standard.urban_monthly",
    "value": "900",
    "kind": "exact",
    "effective_from": "2026-01-01",
    "district": "海港区",
    "doc_no": DOC_NO,
    "doc_title": "关于调整海港区城乡低保标准的通知",
    "doc_date": "2025-12-10",
}


@pytest.fixture(scope="module")
def two_of_everything(base_config: ProductionConfig, tmp_path_factory) -> Iterator[Cluster]:
    model = services_and_model()
    config = base_config.with_(
        instances=2,
        first_rasa_port=consecutive_free_ports(2),
        public_port=free_port(),
        action_port=free_port(),
        web_port=free_port(),
    )
    stack = build(
        config,
        model,
        tmp_path_factory.mktemp("rulebook-cluster"),
        SECRETS,
    )
    try:
        stack.prepare_databases()
        names = []
        for index, port in enumerate((config.action_port, free_port())):
            stack.env["ACTION_ENDPOINT_URL"] = f"http://127.0.0.1:{port}/webhook"  # Popen copies env
            names.append(
                stack.spawn(
                    f"actions-{index + 1}",
                    [PYTHON, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)],
                    f"http://127.0.0.1:{port}/health",
                ).name
            )
            names.append(stack.start_rasa(index))
        stack.wait_ready(names)
        for index in range(2):
            stack.warm_up(index)
        yield stack
    finally:
        stack.stop_all()
        _clean_up(config)


def text_of(replies: list[dict]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def test_an_approval_reaches_both_instances_and_their_action_servers(two_of_everything: Cluster) -> None:
    from bot.rulebook import baseline_rulebook
    from bot.store import accounts, rulelayer

    stack = two_of_everything
    url = stack.config.app_db_url
    for index in range(2):
        assert DOC_NO not in text_of(say(stack.rasa_url(index), sender(), QUESTION))
    accounts.create_account("prod_editor", "prod-editor-pass-1", "staff", url=url)
    accounts.create_account("prod_approver", "prod-approver-pass-1", "staff", url=url)
    rulelayer.grant_role("prod_editor", "policy_editor", url=url)
    rulelayer.grant_role("prod_approver", "policy_approver", url=url)
    files = baseline_rulebook()
    proposal = rulelayer.propose(FORM, "prod_editor", rulebook=files, url=url)
    rulelayer.approve(proposal["id"], "prod_approver", rulebook=files, url=url)

    answered: dict[int, str] = {}
    deadline = time.monotonic() + 20  # a correctness bound (restart-free), not a speed target: see bench/
    while len(answered) < 2 and time.monotonic() < deadline:
        for index in set(range(2)) - set(answered):
            reply = text_of(say(stack.rasa_url(index), sender(), QUESTION))
            if DOC_NO in reply:
                answered[index] = reply
        time.sleep(0.5)
    assert sorted(answered) == [0, 1], answered
    for reply in answered.values():
        assert "900" in reply and "2026-01-01" in reply
    assert not stack.dead_children()
    assert requests.get(f"{stack.rasa_url(0)}/", timeout=5).ok  # the same processes, never restarted

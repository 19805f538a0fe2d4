"""The learning loop end to end (issue 14): a resident types a message the model gets wrong and taps 👎;
it appears in the staff inbox; a staff member labels it; export + train; the same message then gets the
right answer over REST. The training (one, minutes long) runs in a temporary copy of data/ and writes its
model into the test's own folder: the repository's data/ and models/ are not touched."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest
import requests
from browser_helpers import ANSWER_WAIT_MS, REPO, Widget, login, shot

from tests.support.servers import Stack, free_port

# The current model is confidently wrong about this one (check_request_status, ~0.85), so nothing but
# the resident's 👎 brings it to staff. Staff say: it asks for the 低保 standard.
WRONG = "俺想问问那个兜底的钱一个月几个子儿"
RIGHT_INTENT = "ask_dibao_standard"
REFERENCE = "低保标准是多少"  # a training example of RIGHT_INTENT: its answer is "the right answer"
TRAIN_TIMEOUT_S = 3600


def parse(stack: Stack, text: str) -> dict:
    resp = requests.post(
        f"{stack.rasa_url}/model/parse",
        headers={"Authorization": f"Bearer {stack.env['RASA_TOKEN']}"},
        json={"text": text},
        timeout=60,
    )
    resp.raise_for_status()
    return resp.json()


def texts(replies: list[dict]) -> list[str]:
    return [r.get("text") for r in replies if r.get("text")]


def test_thumbs_down_label_export_train_answers_right(bot_stack, browser):
    stack = bot_stack
    assert parse(stack, WRONG)["intent"]["name"] != RIGHT_INTENT, "the model already knows; pick another message"

    # 1. the resident asks, gets a wrong answer, taps 👎 and says why
    widget = Widget(browser, stack.web_url)
    widget.say(WRONG)
    answer = widget.page.locator(".qhdw-from-bot").last
    answer.locator(".qhdw-vote-down").click()
    widget.page.get_by_text("谢谢您的反馈！").wait_for(timeout=ANSWER_WAIT_MS)
    assert answer.locator(".qhdw-vote-down").get_attribute("aria-pressed") == "true"
    answer.get_by_label("哪里不对？（可不填）").fill("我问的是低保标准")
    answer.get_by_role("button", name="提交").click()
    widget.page.wait_for_timeout(500)
    shot(widget.page, "widget-feedback-360")
    widget.context.close()

    # 2. staff find it in the inbox, with the resident's reason, and label it
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    login(page, stack.web_url, "st1")
    page.goto(stack.web_url + "/staff/learning")
    group = page.locator(".learning-group", has_text=WRONG)
    assert group.count() == 1
    assert "居民点了「没帮助」" in group.inner_text() and "我问的是低保标准" in group.inner_text()
    shot(page, "learning-inbox")
    group.get_by_label("正确的意图").select_option(RIGHT_INTENT)
    group.get_by_role("button", name="标注并完成").click()
    # the 没帮助 vote, and a capture of the same message when the model was unsure of it: one group
    page.get_by_text(re.compile(r"已标注 [1-9]\d* 条消息。")).wait_for()
    assert page.locator(".learning-group", has_text=WRONG).count() == 0
    page.goto(stack.web_url + "/staff/analytics")
    assert page.get_by_role("heading", name="各话题「没帮助」占评价的比例（%）").is_visible()
    shot(page, "learning-analytics")
    context.close()

    # 3. export into a copy of the training data and train once, in the test's folder
    from bot.learning.export import export

    work = stack.workdir / "retrain"
    shutil.copytree(REPO / "data", work / "data")
    for name in ("config.yml", "domain.yml"):
        shutil.copy(REPO / name, work / name)
    result = export(work / "data" / "nlu" / "reviewed", work / "data" / "nlu", stack.env["DATABASE_URL"])
    assert WRONG in (work / "data" / "nlu" / "reviewed" / "reviewed.yml").read_text(encoding="utf-8")
    assert result["conflicts"] == []
    train_env = {**stack.env, "PYTHONPATH": str(REPO)}  # our NLU components, from outside the checkout
    with open(work / "train.log", "wb") as log:
        trained = subprocess.run(
            [
                sys.executable,
                "-m",
                "rasa",
                "train",
                "--data",
                "data",
                "--config",
                "config.yml",
                "--domain",
                "domain.yml",
                "--out",
                "models",
                "--fixed-model-name",
                "retrained",
            ],
            cwd=work,
            env=train_env,
            timeout=TRAIN_TIMEOUT_S,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    assert trained.returncode == 0, (work / "train.log").read_text(errors="replace")[-3000:]

    # 4. the retrained assistant (own port, same action server and databases) answers it right over REST
    retrained = Stack(workdir=work, env={**stack.env, "RASA_PORT": str(free_port())})
    try:
        retrained.start_rasa(work / "models" / "retrained.tar.gz")
        assert parse(retrained, WRONG)["intent"]["name"] == RIGHT_INTENT
        expected = texts(retrained.say("learning-reference", REFERENCE))
        got = texts(retrained.say("learning-resident", WRONG))
        assert expected and got == expected
    finally:
        retrained.stop_all()


@pytest.fixture(autouse=True)
def _no_repo_changes():
    """The test must leave the repository's data/ as it found it."""
    before = sorted(p.relative_to(REPO) for p in (REPO / "data").rglob("*"))
    yield
    assert sorted(p.relative_to(REPO) for p in (REPO / "data").rglob("*")) == before

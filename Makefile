# Two commands do everything on a fresh machine:  make run   and   make test
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONPATH := $(CURDIR)

.PHONY: run run-production test venv assets system-deps train validate test-unit test-conversations \
        test-nlu test-browser test-production bench clean

run: venv assets            ## train if the data changed, then start Rasa, actions and the web app
	$(PY) -m bot run

run-production: venv assets system-deps  ## the production profile (PostgreSQL, Redis, RabbitMQ, N Rasa instances, nginx)
	$(PY) -m bot.production.launcher --instances $${RASA_INSTANCES:-2}

# --- set-up -------------------------------------------------------------------------------------
# rasa 3.6 needs Python 3.10 (the machine's python3 is 3.11): use pyenv's 3.10 when there is one.
PYTHON310 := $(shell bash scripts/find_python310.sh)

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt
	@test -n "$(PYTHON310)" || { echo "需要 Python 3.10（pyenv install 3.10.13）"; exit 1; }
	@echo "== 创建虚拟环境并安装依赖（约 2 分钟）"
	test -x $(PY) || $(PYTHON310) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip wheel 'setuptools<71'
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip check
	touch $@

assets: bot/web/static/vendor/socket.io.min.js
bot/web/static/vendor/socket.io.min.js:
	bash scripts/fetch_web_assets.sh

system-deps:                ## chromium for browser tests, nginx for the production profile
	bash scripts/install_system_deps.sh

train: venv
	$(PY) -m bot run --train-only

# --- tests ----------------------------------------------------------------------------------------
test: venv assets system-deps train validate test-unit test-conversations test-nlu test-browser test-production
	@echo "== 全部测试通过"

validate:
	$(PY) scripts/gen_rules.py --check || { echo "data/rules/topics.yml 过期：运行 $(PY) scripts/gen_rules.py"; exit 1; }
	$(PY) -m rasa data validate --fail-on-warnings

test-unit:
	$(PY) -m pytest tests/unit tests/integration tests/nlu -q

test-conversations:
	$(PY) -m pytest tests/conversations -q

test-nlu:
	$(PY) bench/nlu.py --skip-cv --check

test-browser:
	$(PY) -m pytest tests/browser -q

test-production:
	$(PY) -m pytest tests/production -q

bench:
	$(PY) bench/eligibility.py
	$(PY) bench/nlu.py --write-results
	$(PY) bench/latency.py
	$(PY) bench/load.py

clean:
	rm -rf models .rasa results var

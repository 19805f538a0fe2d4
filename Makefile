# Two commands do everything on a fresh machine:  make run   and   make test
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONPATH := $(CURDIR)

.PHONY: run run-production test venv tools lint assets system-deps train validate test-unit test-conversations \
        test-nlu test-browser test-production test-deploy test-security test-faults audit bench screenshots axe clean

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

# axe-core (accessibility rules) for the browser tests, into the ignored build/axe/
axe: build/axe/node_modules/axe-core/axe.min.js
build/axe/node_modules/axe-core/axe.min.js:
	bash scripts/fetch_web_assets.sh axe

system-deps:                ## chromium for browser tests, nginx for the production profile
	bash scripts/install_system_deps.sh

# Tools whose dependencies clash with rasa's pins get their own venv (the machine's python3).
TOOLS := .venv-tools
tools: $(TOOLS)/.installed
$(TOOLS)/.installed: requirements-tools.txt
	test -x $(TOOLS)/bin/python || python3 -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install -q -r requirements-tools.txt
	touch $@

lint: tools                 ## ruff: lint, import order and formatting (configured in pyproject.toml)
	$(TOOLS)/bin/ruff check .
	$(TOOLS)/bin/ruff format --check .

train: venv
	$(PY) -m bot run --train-only

# --- tests ----------------------------------------------------------------------------------------
test: venv assets system-deps tools lint train validate audit test-unit test-conversations test-nlu test-browser \
      test-production test-security test-faults test-deploy
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

test-browser: axe
	$(PY) -m pytest tests/browser -q

# The browser tests write screenshots into the ignored build/screenshots/; the README's copies in
# docs/screenshots/ change only here, on purpose.
screenshots:
	@ls build/screenshots/*.png >/dev/null 2>&1 || { echo "build/screenshots/ 是空的：先运行 make test-browser"; exit 1; }
	mkdir -p docs/screenshots
	cp build/screenshots/*.png docs/screenshots/

test-production:
	$(PY) -m pytest tests/production -q

test-deploy: tools           ## Dockerfile, Compose file and Kubernetes manifests, checked offline
	$(PY) -m pytest tests/deploy -q

test-security:              ## tests/security: every door tried as a stranger, on real servers
	$(PY) -m pytest tests/security -q

audit: venv tools           ## known vulnerabilities of the pinned packages (security/*.yml); pip-audit lives in .venv-tools
	$(PY) scripts/audit_dependencies.py

test-faults:                ## issue 10: database, action server, Redis and RabbitMQ faults
	$(PY) -m pytest tests/faults -q

bench:
	$(PY) bench/eligibility.py
	$(PY) bench/nlu.py --write-results
	$(PY) bench/latency.py
	$(PY) bench/load.py

clean:
	rm -rf models .rasa results var $(AUDIT_VENV)

# The one task runner: CI calls exactly these targets.
SHELL := /bin/bash
# uv is found where the install step puts it, never only through the caller's PATH.
UV ?= $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
PYTEST := $(UV) run --frozen pytest -p no:cacheprovider
# Agent CLIs (hundreds of MB) are installed once here and shared by every test worker.
export TASKYARD_TOOL_CACHE ?= $(HOME)/.cache/taskyard/tools

.PHONY: install run test test-sqlite test-postgres github-fixtures lint format typecheck bench docs

install:  ## system packages, the Python environment and the agent CLIs
	scripts/install-system
	$(UV) sync --frozen
	$(UV) run --frozen python scripts/install-agent-clis

run: install  ## start the server with embedded defaults (SQLite, Temporal dev server, worker)
	@echo "The command line is bin/taskyard. In another terminal: bin/taskyard login (with the admin token below), then bin/taskyard quickstart"
	@# The quickstart's repository is local, made where it runs: allow the checkout's tree.
	TASKYARD_LOCAL_REPOSITORY_ROOTS="$${TASKYARD_LOCAL_REPOSITORY_ROOTS:-$(CURDIR)}" $(UV) run --frozen taskyard serve

test: install lint typecheck test-sqlite test-postgres  ## the whole suite

test-sqlite: github-fixtures
	$(PYTEST) -n 2 --dist loadfile tests

test-postgres: github-fixtures  ## storage, API and engine tests on a real PostgreSQL server
	scripts/with-postgres $(PYTEST) -n 2 --dist loadfile tests/api tests/engine tests/db \
		tests/services/test_concurrency.py tests/services/test_threads.py tests/services/test_tracking.py

github-fixtures:  ## GitHub's OpenAPI description and webhook examples, for the GitHub stand-in
	scripts/fetch-github-fixtures

lint:
	$(UV) run --frozen ruff check src tests bench scripts action
	$(UV) run --frozen ruff format --check src tests bench scripts action
	$(UV) run --frozen lint-imports --no-cache
	$(UV) run --frozen scripts/unasync --check

format:
	$(UV) run --frozen ruff check --fix src tests bench scripts action
	$(UV) run --frozen ruff format src tests bench scripts action

typecheck:
	$(UV) run --frozen mypy
	$(UV) run --frozen mypy action/create_task.py  # the GitHub Action's script: stdlib only

bench: install  ## every benchmark; each prints its figures
	$(UV) run --frozen python bench/overhead.py
	$(UV) run --frozen python bench/workspace.py
	$(UV) run --frozen python bench/events.py
	$(UV) run --frozen python bench/cli_startup.py
	$(UV) run --frozen python bench/stops.py
	$(UV) run --frozen python bench/untrusted.py
	$(UV) run --frozen python bench/webhooks.py
	$(UV) run --frozen python bench/dashboard_live.py

docs:  ## regenerate docs/cli.md from the commands' --help
	$(UV) run --frozen python scripts/gen_cli_docs.py

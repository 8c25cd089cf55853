# org.platform: the two commands of the README quick start, and the tools behind them.
#   make sandbox   sandbox/site.yml then sandbox/destroy.yml (seed, runbook, unseed) against the loopback
#                  sandbox with booted nodes (starts and stops it; SANDBOX_FLEET=small for a smaller fleet)
#   make test      lint + ansible-test sanity + every test (unit, integration against the sandbox, Terraform/Packer
#                  static checks)
#   make bench     benchmarks (figures go to docs/BENCHMARKS.md)
#   make molecule  every Molecule scenario (molecule/*), one after the other, each with its wall time (root)
#   make help      the operator targets (init/plan/apply/destroy ENV=<env>), thin wrappers over the playbooks
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
DEBIAN_PACKAGES := mariadb-server mariadb-client packer debootstrap systemd-container iproute2 util-linux
export PATH := $(CURDIR)/$(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
# The emulated AWS is reached with dummy credentials; nothing here may talk to real AWS.
SANDBOX_ENV := AWS_ACCESS_KEY_ID=emulator-dummy-access-key AWS_SECRET_ACCESS_KEY=emulator-dummy-secret-access-key-0000 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
PYTEST_ARGS ?=

.PHONY: deps sandbox-deps debian-deps sandbox sandbox-up sandbox-down sandbox-status test lint sanity unit bench molecule clean
.PHONY: help init plan apply drift destroy env-check

# Operator targets (INFRA-001/004): each is one ansible-playbook run, so the run log (logs/global) covers it.
# ENV names an inventory under inventories/; ENV=sandbox uses the emulator's dummy credentials (start it
# first with make sandbox-up), any other ENV the AWS credentials of your environment. ARGS adds
# ansible-playbook options (e.g. ARGS='--limit localhost -v').
ENV ?=
CONFIRM ?=
ARGS ?=
# Non-empty when ENV is the sandbox.
IN_SANDBOX = $(filter sandbox,$(ENV))
PLAYBOOK_ENV = $(if $(IN_SANDBOX),$(SANDBOX_ENV) ORG_PLATFORM_SANDBOX_DIR=$(SANDBOX_STATE_DIR))
PLAYBOOK = $(PLAYBOOK_ENV) $(BIN)/ansible-playbook -i inventories/$(ENV)
# In the sandbox, apply and destroy wrap the runbook in the seed and the unseed (sandbox/site.yml,
# sandbox/destroy.yml): the seed makes in the emulator what the stacks' AWS resources would be (the contract
# twins create none). plan is the runbook's own check mode everywhere.
APPLY_PLAYBOOK = $(if $(IN_SANDBOX),sandbox/site.yml,site.yml)
DESTROY_PLAYBOOK = $(if $(IN_SANDBOX),sandbox/destroy.yml,destroy.yml)

help:
	@echo "Operator targets (ENV=<env>, one of: $$(ls inventories | tr '\n' ' '))"
	@echo "  make init ENV=dev      state backend + golden AMI find-or-build (init.yml)"
	@echo "  make plan ENV=dev      what apply would change, changing nothing (site.yml --check --diff)"
	@echo "  make apply ENV=dev     build or converge the environment (site.yml)"
	@echo "  make destroy ENV=dev   tear it down (destroy.yml); asks for the environment name unless CONFIRM=dev"
	@echo "                         (ENV=sandbox: apply and destroy run sandbox/site.yml and sandbox/destroy.yml,"
	@echo "                         the runbook inside the seed and unseed; start it first with make sandbox-up)"
	@echo "                         (prod also needs ARGS='-e allow_prod_destroy=true')"
	@echo "  make drift ENV=dev     per stack: drifted outside Terraform / changes pending / clean, applying nothing"
	@echo "                         (playbooks/drift.yml; report in logs/drift/; fails unless every stack is clean)"
	@echo "Project targets: sandbox sandbox-up sandbox-down sandbox-status test unit lint sanity bench molecule lock clean"
	@echo "Each run writes logs/global/<UTC stamp>-<run id>_<playbook>_<env>.log; see README \"Logs\"."

env-check:
	@if [ -z "$(ENV)" ]; then echo "ENV is required, e.g. make $(MAKECMDGOALS) ENV=dev (one of: $$(ls inventories | tr '\n' ' '))" >&2; exit 2; fi
	@case "$(ENV)" in *[!A-Za-z0-9_-]*) echo "ENV=$(ENV): only letters, digits, - and _ name an inventory" >&2; exit 2;; esac
	@if [ ! -d "inventories/$(ENV)" ]; then echo "ENV=$(ENV): no inventory inventories/$(ENV) (one of: $$(ls inventories | tr '\n' ' '))" >&2; exit 2; fi
	@test -x $(BIN)/ansible-playbook || { echo "$(BIN)/ansible-playbook is missing: run make sandbox-deps (or make deps) first" >&2; exit 2; }

init: env-check
	$(PLAYBOOK) init.yml $(ARGS)

plan: env-check
	$(PLAYBOOK) site.yml --check --diff $(ARGS)

apply: env-check
	$(PLAYBOOK) $(APPLY_PLAYBOOK) $(ARGS)

drift: env-check
	$(PLAYBOOK) playbooks/drift.yml $(ARGS)

destroy: env-check
	@confirm="$(CONFIRM)"; \
	if [ -z "$$confirm" ]; then \
	  if [ ! -t 0 ]; then echo "make destroy ENV=$(ENV): no terminal to ask on; pass CONFIRM=$(ENV)" >&2; exit 2; fi; \
	  read -r -p "This destroys every stack of $(ENV). Type the environment name to confirm: " confirm; \
	fi; \
	if [ "$$confirm" != "$(ENV)" ]; then echo "Confirmation '$$confirm' is not '$(ENV)'; nothing was changed." >&2; exit 2; fi
	$(PLAYBOOK) $(DESTROY_PLAYBOOK) -e confirm_destroy=$(ENV) $(ARGS)

# deps: everything make test needs; sandbox-deps: only what the sandbox run needs (runtime + emulator).
deps: debian-deps $(VENV)/.installed
sandbox-deps: debian-deps $(VENV)/.installed-sandbox

# Debian packages: installed when run as root and missing; otherwise we say what is missing.
debian-deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "Installing Debian packages:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "Missing Debian packages:$$missing (run as root, or: sudo apt-get install$$missing)"; exit 1; fi; \
	fi

# requirements/*.txt are locked with hashes (make lock); dev.txt is runtime + sandbox + development tools.
$(VENV)/.installed: requirements/dev.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --require-hashes -r requirements/dev.txt
	@touch $@ $(VENV)/.installed-sandbox
$(VENV)/.installed-sandbox: requirements/sandbox.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --require-hashes -r requirements/sandbox.txt
	@touch $@

sandbox-up: sandbox-deps
	$(PY) -m sandbox up
sandbox-down:
	@test -x $(PY) && $(PY) -m sandbox down || true
sandbox-status:
	$(PY) -m sandbox status

# Quick start 1: boot the sandbox with its nodes, build the environment (seed: network, the bastion and RKE2
# fleet as booted machines; the runbook: state backend, golden AMI, stacks, nodes ready over SSM, shared RDS
# through the bastion), tear it down, and leave no process, machine, mount, namespace or state behind.
# SANDBOX_FLEET=small: the bastion and one server instead of the default 1 + 3 servers + 2 agents.
# The aws_ssm connection's boto3 clients take the emulator from AWS_ENDPOINT_URL_SSM / _S3 (amazon.aws 10 has
# no endpoint option for them); no AWS configuration file is read. The state directory is passed on absolute:
# inventories/sandbox/aws_ec2.yml finds endpoints.json through it, and a relative path there resolves against
# the playbook's directory once a play re-reads the inventory (playbooks/nodes_ready.yml), not the repository.
SANDBOX_FLEET ?=
SANDBOX_STATE_DIR = $(abspath $(or $(ORG_PLATFORM_SANDBOX_DIR),.sandbox))
sandbox: sandbox-deps
	@started=$$(date +%s); export ORG_PLATFORM_SANDBOX_DIR=$(SANDBOX_STATE_DIR); \
	trap 'test -f "$$ORG_PLATFORM_SANDBOX_DIR/nodes/sessions.log" && echo "SIMULATED: $$(grep -c "^SIMULATED: " "$$ORG_PLATFORM_SANDBOX_DIR/nodes/sessions.log") aws_ssm sessions went through the session-manager-plugin stand-in (sandbox/bin/session-manager-plugin)"; \
	  $(PY) -m sandbox down --purge; echo "make sandbox: $$(( $$(date +%s) - started )) s"' EXIT; \
	$(PY) -m sandbox up --nodes && \
	aws_url=$$($(PY) -c 'import json, sys; print(json.load(sys.stdin)["aws"]["endpoint_url"])' < "$$ORG_PLATFORM_SANDBOX_DIR/endpoints.json") && \
	export AWS_ENDPOINT_URL_SSM=$$aws_url AWS_ENDPOINT_URL_S3=$$aws_url AWS_CONFIG_FILE=/dev/null \
	  AWS_SHARED_CREDENTIALS_FILE=/dev/null ORG_PLATFORM_SANDBOX_FLEET=$(SANDBOX_FLEET) && \
	$(SANDBOX_ENV) $(BIN)/ansible-playbook sandbox/site.yml -i inventories/sandbox && \
	$(SANDBOX_ENV) $(BIN)/ansible-playbook sandbox/destroy.yml -i inventories/sandbox -e confirm_destroy=sandbox

lint: deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/ansible-lint --profile production --offline

# ansible-test sanity on the collection, offline (see tools/sanity.py and docs/DEVELOPING.md).
sanity: deps
	$(PY) tools/sanity.py

unit: deps
	$(SANDBOX_ENV) $(BIN)/pytest -m "not integration" $(PYTEST_ARGS)

# Static IaC scanner for terraform/ (run by tests/integration/test_terraform_tree.py). checkov pins
# boto3/botocore/packaging below ours, so it lives in its own virtualenv, locked in requirements/checkov.txt;
# the venv ignores itself in git.
CHECKOV_VENV ?= .venv-checkov
.PHONY: checkov-deps
checkov-deps: $(CHECKOV_VENV)/.installed
$(CHECKOV_VENV)/.installed: requirements/checkov.txt
	@test -x $(CHECKOV_VENV)/bin/python || python3 -m venv $(CHECKOV_VENV)
	@echo '*' > $(CHECKOV_VENV)/.gitignore
	$(CHECKOV_VENV)/bin/python -m pip install -q --disable-pip-version-check --require-hashes -r requirements/checkov.txt
	@touch $@

# Regenerate the locked requirement files from requirements/*.in (uv, in its own .venv-tools). Locked for
# Debian 12's Python (3.11.2), the oldest the quick start runs on; the current lock's pins are kept unless an
# .in file changes them (LOCK_UPGRADE=1 lets every pin move).
LOCK_PYTHON := 3.11.2
TOOLS_VENV ?= .venv-tools
.PHONY: lock
lock:
	@test -x $(TOOLS_VENV)/bin/uv || { python3 -m venv $(TOOLS_VENV) && echo '*' > $(TOOLS_VENV)/.gitignore && $(TOOLS_VENV)/bin/pip install -q --disable-pip-version-check uv; }
	@keep=$$(mktemp); trap 'rm -f $$keep' EXIT; \
	for group in dev runtime sandbox checkov; do \
	  if [ "$${LOCK_UPGRADE:-0}" = 1 ]; then : > $$keep; else grep -oE '^[A-Za-z0-9._-]+==[^ ]+' requirements/$$group.txt > $$keep || true; fi; \
	  extra=""; [ $$group = dev ] || [ $$group = checkov ] || extra="-c requirements/dev.txt"; \
	  $(TOOLS_VENV)/bin/uv pip compile -q requirements/$$group.in -c $$keep $$extra --generate-hashes \
	    --python-version $(LOCK_PYTHON) --no-header -o requirements/$$group.txt; \
	  sed -i "\\|^    #   -c $$keep\$$|d" requirements/$$group.txt; \
	done

# Quick start 2: every check and test (sanity: tools/sanity.py, offline but for PyPI; see docs/DEVELOPING.md).
# The tests run on TEST_WORKERS pytest-xdist workers (each with its own sandbox services, ports and state dir),
# a whole module per worker at a time, heaviest modules first (their slow(seconds=N) marks); TEST_WORKERS=0
# runs them in this process.
TEST_WORKERS ?= 3
test: deps lint sanity checkov-deps
	$(SANDBOX_ENV) $(BIN)/pytest -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder $(PYTEST_ARGS)

bench: deps
	$(SANDBOX_ENV) $(PY) -m benchmarks.stack_runner
	$(SANDBOX_ENV) $(PY) -m benchmarks.engine_floor
	$(SANDBOX_ENV) $(PY) -m benchmarks.cleanup
	$(PY) -m benchmarks.plan_gate
	$(SANDBOX_ENV) $(PY) -m benchmarks.run_log
	$(SANDBOX_ENV) $(PY) -m benchmarks.ssm
	$(SANDBOX_ENV) $(PY) -m benchmarks.rke2
	$(PY) -m benchmarks.converge
	$(PY) -m benchmarks.teardown

# Each scenario brings up and removes its own sandbox (molecule/README.md); make test runs them too, as tests.
MOLECULE_SCENARIOS := $(sort $(patsubst molecule/%/molecule.yml,%,$(wildcard molecule/*/molecule.yml)))
molecule: deps
	@for scenario in $(MOLECULE_SCENARIOS); do \
	  started=$$(date +%s); \
	  env -u AWS_ENDPOINT_URL $(BIN)/molecule test -s $$scenario; \
	  echo "molecule test -s $$scenario: $$(( $$(date +%s) - started )) s wall"; \
	done

clean: sandbox-down
	rm -rf .sandbox .work logs/*/ .pytest_cache

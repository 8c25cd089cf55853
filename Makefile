# org.platform: the two commands of the README quick start, and the tools behind them.
#   make sandbox   site.yml then destroy.yml against the loopback sandbox (starts and stops it)
#   make test      lint + every test (unit, integration against the sandbox, Terraform/Packer static checks)
#   make bench     benchmarks (figures go to docs/BENCHMARKS.md)
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

.PHONY: deps debian-deps sandbox sandbox-up sandbox-down sandbox-status test lint unit bench clean

deps: debian-deps $(VENV)/.installed

# Debian packages: installed when run as root and missing; otherwise we say what is missing.
debian-deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "Installing Debian packages:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "Missing Debian packages:$$missing (run as root, or: sudo apt-get install$$missing)"; exit 1; fi; \
	fi

$(VENV)/.installed: requirements.txt requirements.lock
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.lock
	@touch $@

sandbox-up: deps
	$(PY) -m sandbox up
sandbox-down:
	@test -x $(PY) && $(PY) -m sandbox down || true
sandbox-status:
	$(PY) -m sandbox status

# Quick start 1: build then tear down the sandbox environment, leaving no process and no state behind.
sandbox: deps
	$(PY) -m sandbox up
	trap '$(PY) -m sandbox down --purge; rm -rf .work/sandbox' EXIT; \
	$(SANDBOX_ENV) $(BIN)/ansible-playbook site.yml -i inventories/sandbox && \
	$(SANDBOX_ENV) $(BIN)/ansible-playbook destroy.yml -i inventories/sandbox -e confirm_destroy=sandbox

lint: deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/ansible-lint --profile production --offline

unit: deps
	$(SANDBOX_ENV) $(BIN)/pytest -m "not integration" $(PYTEST_ARGS)

# Static IaC scanner for terraform/ (run by tests/integration/test_terraform_tree.py). checkov pins
# boto3/botocore/packaging below requirements.lock, so it lives in its own virtualenv; the venv ignores
# itself in git. Pinned here, installed through pip like everything else.
CHECKOV_VENV ?= .venv-checkov
CHECKOV_VERSION := 3.3.30
.PHONY: checkov-deps
checkov-deps: $(CHECKOV_VENV)/.installed
$(CHECKOV_VENV)/.installed:
	@test -x $(CHECKOV_VENV)/bin/python || python3 -m venv $(CHECKOV_VENV)
	@echo '*' > $(CHECKOV_VENV)/.gitignore
	$(CHECKOV_VENV)/bin/python -m pip install -q --disable-pip-version-check checkov==$(CHECKOV_VERSION)
	@touch $@

# Quick start 2: every check and test.
test: deps lint checkov-deps
	$(SANDBOX_ENV) $(BIN)/pytest $(PYTEST_ARGS)

bench: deps
	$(SANDBOX_ENV) $(PY) -m benchmarks.stack_runner
	$(SANDBOX_ENV) $(PY) -m benchmarks.cleanup

clean: sandbox-down
	rm -rf .sandbox .work logs/*/ .pytest_cache

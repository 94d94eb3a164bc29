# The two commands of the README: 'make lab' and 'make test'. Both create .venv on first use
# from binder/requirements.txt (the one pinned dependency list) plus binder/postBuild.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# jupyter refuses to run as root unless told; only pass the flag when we are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab test lint typecheck pytest fuzz mutation notebooks pins clean site

$(STAMP): binder/requirements.txt binder/postBuild pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "vmbackup needs Python 3.11 or newer, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r binder/requirements.txt
	PATH="$(CURDIR)/$(BIN):$$PATH" bash binder/postBuild
	touch $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab $(ROOT_FLAG) --ServerApp.root_dir="$(CURDIR)" \
		--LabApp.default_url=/lab/tree/notebooks/00_index.ipynb

test: $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest

# The input-contract property suite at 1,000 generated cases per entry point (issue 18); the
# test command runs the same suite with a small profile.
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -p no:nbval -o addopts="" -q tests/test_contract.py

# Mutation testing of the models against the fast tests and doctests (see CONTRIBUTING.md);
# prints the score and the surviving mutants. Slow: run it by hand, not in CI.
#   make mutation                              every mutant (days on two cores)
#   make mutation MODULES="vmbackup.policy.*"  the modules a change touches
#   make mutation SAMPLE=500                   a seeded random sample of the whole package,
#                                              scored with its 95% interval
MODULES ?=
SAMPLE ?=
mutation: $(STAMP)
	$(BIN)/python -m pip install --quiet -r tools/requirements-mutation.txt
ifeq ($(SAMPLE),)
	$(BIN)/mutmut run $(MODULES) || true
	$(BIN)/python tools/mutation_report.py $(MODULES)
else
	test -d mutants/vmbackup || $(BIN)/mutmut run "vmbackup.pricing_rules.*" || true
	$(BIN)/python tools/mutation_report.py --draw $(SAMPLE) > mutants/sample.txt
	$(BIN)/mutmut run $$(cat mutants/sample.txt) || true
	$(BIN)/python tools/mutation_report.py --sample mutants/sample.txt
endif

# Re-execute every notebook and store its outputs (see CONTRIBUTING.md).
notebooks: $(STAMP)
	$(BIN)/python tools/run_notebooks.py notebooks/*.ipynb

# The course as a static, searchable website in build/site/ from the executed notebooks, the
# README, the glossary and the trainer's kit (tools/build_site.py; open build/site/index.html).
site: $(STAMP)
	$(BIN)/python tools/build_site.py build/site

# Re-pin binder/requirements.txt from pyproject.toml in a scratch environment.
pins:
	rm -rf /tmp/vmbackup-pins && $(PYTHON) -m venv /tmp/vmbackup-pins
	/tmp/vmbackup-pins/bin/python -m pip install --quiet ".[lab,test,site]"
	{ sed -n '1,2p' binder/requirements.txt; /tmp/vmbackup-pins/bin/python -m pip freeze --exclude-editable | grep -v '^vmbackup'; } > binder/requirements.new
	mv binder/requirements.new binder/requirements.txt

clean:
	rm -rf $(VENV) test-artifacts

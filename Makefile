# Everyday commands. Every target that needs the environment creates it first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup test test-fast test-load report serve lab sample bench dictionary notebooks clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	@# plotly's lighter plotly.js for the dashboards (needs npm; without it they load the full bundle)
	-$(VENV)/bin/workbench assets
	touch $(STAMP)

setup: $(STAMP)  ## create .venv and install the package with its development extras

test: $(STAMP)  ## run the test suite (browser tests need /usr/bin/chromium), without the load test
	$(PY) -m pytest -m "not load"

test-load: $(STAMP)  ## every dashboard three rounds under CPU load, counting widget errors (about 20 minutes)
	$(PY) -m pytest -m load

test-fast: $(STAMP)  ## the tests without notebook batches and browser (about 2 minutes)
	$(PY) -m pytest -m "not slow and not browser"

report: $(STAMP)  ## run every notebook on the sample data; writes reports/<date>/index.html
	$(VENV)/bin/workbench run

serve: $(STAMP)  ## dashboards on http://127.0.0.1:8866
	$(VENV)/bin/workbench serve

lab: $(STAMP)  ## JupyterLab on the notebooks
	$(VENV)/bin/workbench lab

sample: $(STAMP)  ## regenerate data/sample (deterministic)
	$(VENV)/bin/workbench sample --out data/sample

bench: $(STAMP)  ## print the performance figures quoted in the README
	$(PY) benchmarks/bench.py

dictionary: $(STAMP)  ## regenerate docs/data-dictionary.md from the model
	$(VENV)/bin/workbench dictionary --out docs/data-dictionary.md

notebooks: $(STAMP)  ## rebuild notebooks/*.ipynb from notebooks/src/*.py
	for f in notebooks/src/*.py; do $(PY) tools/mknb.py $$f notebooks/$$(basename $$f .py).ipynb; done

clean:
	rm -rf $(VENV) reports test-artifacts .pytest_cache

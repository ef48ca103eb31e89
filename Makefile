# The README's commands. `make test` and `make demo` work on a fresh machine:
# they create .venv, install torch==2.13.0 first (the local CPU wheel; a bare
# `torch` requirement would pull GBs of CUDA packages), then the project.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup test lint demo lab strip graphviz chromium clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev,ray]'
	# Build matplotlib's font cache now: its one-time notice on stderr would trip nbval.
	MPLBACKEND=Agg $(PY) -c "import matplotlib.pyplot" 2>/dev/null
	touch $(STAMP)

setup: $(STAMP) graphviz chromium

# Debian's graphviz gives the `dot` binary that renders the search-tree widget.
graphviz:
	@command -v dot >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq graphviz >/dev/null; }

# Debian's chromium for the browser test (tests/test_browser.py), driven by Playwright from
# PyPI through its executable_path; Playwright's own browser download is never used.
chromium:
	@test -x /usr/bin/chromium || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

# ruff, then the layer rule of ARCHITECTURE.md (.importlinter: imports run one way).
lint: $(STAMP)
	$(VENV)/bin/ruff check muzero_lite tests benchmarks
	$(VENV)/bin/lint-imports

# Unit tests with coverage, then every notebook under strict nbval.
# MUZERO_LITE_QUICK=1 shrinks every training budget so notebooks run in minutes.
test: setup lint
	MUZERO_LITE_QUICK=1 $(PY) -m pytest tests notebooks --nbval \
	  --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
	  --cov=muzero_lite --cov-report=term --cov-fail-under=90 -p no:cacheprovider \
	  --durations=20

# The main job: train tic-tac-toe from scratch, stop at perfect play (or 10 minutes),
# print the evaluation table and write the curves (runs/demo/curves.png).
demo: setup
	rm -rf runs/demo
	$(PY) -m muzero_lite train tictactoe --out runs/demo --until-perfect --max-wall-s 600 --set pipeline=process
	$(PY) -m muzero_lite evaluate runs/demo/checkpoint.pt --games 50

lab: setup
	$(VENV)/bin/jupyter lab --allow-root notebooks/

# Before committing a re-executed chapter: drop the per-cell execution timings nbconvert
# records (tests/test_notebook_hygiene.py fails on them), keeping outputs.
strip: $(STAMP)
	$(PY) tools/strip_notebook_metadata.py notebooks/*.ipynb

clean:
	rm -rf $(VENV) .pytest_cache .coverage

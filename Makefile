# rnnlab: the two set-up commands of README.md.
#
#   make book   builds the HTML book into _build/html (index: _build/html/index.html)
#   make test   runs every test: unit tests, nbval over every notebook, the -W book build from
#               clean, the browser test of the built HTML, the course layout check
#
# Both create what they need on first use and redo a step only when its inputs changed:
#   .venv/                       pip install -e '.[book,test]'           (keyed on pyproject.toml)
#   node_modules/                MathJax 3, require.js, the ipywidgets HTML manager, by `npm ci`
#                                                                        (keyed on package-lock.json)
#   book/assets/static/vendor/   the files the pages load, copied from node_modules
#   _build/html/                 the book                                (keyed on the book's sources)

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.rnnlab-installed
NPM_STAMP := node_modules/.rnnlab-installed
VENDOR := book/assets/static/vendor
VENDOR_STAMP := $(VENDOR)/.rnnlab-copied
BOOK_STAMP := _build/.rnnlab-book-built
BOOK_SOURCES := _config.yml _toc.yml references.bib \
	$(shell find book -type f -not -path '$(VENDOR)/*' -not -path '*/.ipynb_checkpoints/*' 2>/dev/null)
# pytest workers: the suite is sized for 2 cores (CI); notebooks run in their own kernels.
WORKERS ?= 2

.PHONY: help book test venv assets chromium bwrap clean

help:
	@echo "make book   build the HTML book into _build/html (sets up .venv and the offline assets first)"
	@echo "make test   run every test (unit, nbval, -W book build, browser, layout)"
	@echo "make clean  remove _build, node_modules, book/assets/static/vendor and test-artifacts (keeps .venv)"

# ---- set-up -----------------------------------------------------------------------------------

venv: $(VENV_STAMP)
$(VENV_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "rnnlab needs Python 3.11 or newer; set PYTHON=/path/to/python3.11")'
	@test -x $(PY) || { echo "creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install --disable-pip-version-check --quiet -e '.[book,test]'
	@touch $@

$(NPM_STAMP): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

# Only what the pages load (plus MathJax's licence and the widget manager's package.json, which
# names its licence; require.js carries its own in its header).
# Sphinx copies book/assets/static/ to _build/html/_static/ (see _config.yml).
assets: $(VENDOR_STAMP)
$(VENDOR_STAMP): $(NPM_STAMP)
	rm -rf $(VENDOR)
	mkdir -p $(VENDOR)/mathjax/output/chtml/fonts $(VENDOR)/html-manager
	cp node_modules/mathjax/es5/tex-chtml-full.js node_modules/mathjax/LICENSE $(VENDOR)/mathjax/
	cp -r node_modules/mathjax/es5/output/chtml/fonts/woff-v2 $(VENDOR)/mathjax/output/chtml/fonts/
	cp node_modules/requirejs/require.js $(VENDOR)/require.js
	cp node_modules/@jupyter-widgets/html-manager/package.json \
		node_modules/@jupyter-widgets/html-manager/dist/embed-amd.js \
		node_modules/@jupyter-widgets/html-manager/dist/*.{woff,woff2,ttf,eot,svg} \
		$(VENDOR)/html-manager/
	@touch $@

# The browser test drives Debian's chromium; a Chinese font lets the screenshots show the
# glossary's Chinese terms instead of empty boxes. As root (CI) they are installed when missing.
BROWSER_PACKAGES := chromium fonts-wqy-microhei
chromium:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi wenquanyi; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing $(BROWSER_PACKAGES) for the browser test"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_PACKAGES) >/dev/null; \
		elif ! command -v chromium >/dev/null 2>&1; then \
			echo "The browser test needs Debian's chromium: sudo apt-get install $(BROWSER_PACKAGES)" >&2; exit 1; \
		fi; \
	fi

# `rnnlab grade` runs students' code under bubblewrap; the grading tests need it. As root (CI) it
# is installed when missing.
bwrap:
	@if ! command -v bwrap >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing bubblewrap for the grading tests"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; \
		else \
			echo "The grading tests need bwrap: sudo apt-get install bubblewrap" >&2; exit 1; \
		fi; \
	fi

# ---- the two commands -------------------------------------------------------------------------

book: $(BOOK_STAMP)
	@echo "The book is built: open _build/html/index.html in a browser (it works offline)."

$(BOOK_STAMP): $(VENV_STAMP) $(VENDOR_STAMP) $(BOOK_SOURCES)
	@rm -f $@
	$(VENV)/bin/jupyter-book build . -W -n --keep-going
	@touch $@

test:
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory venv assets chromium bwrap \
	&& $(PY) -m pytest tests -n $(WORKERS) --dist worksteal -p no:randomly -ra --durations=15; \
	status=$$?; \
	echo "make test: exit status $$status, $$(( $$(date +%s) - start )) s in all (set-up included)"; \
	exit $$status

clean:
	rm -rf _build node_modules $(VENDOR) test-artifacts

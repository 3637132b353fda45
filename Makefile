# make demo: set up, then run the main job on the bundled sample workspace.
# make test: set up, then run the whole test suite.
# make test-fast: the tests not marked slow (no real WeasyPrint or LibreOffice renders).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
APT_PACKAGES := fonts-noto-cjk fontconfig libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0 poppler-utils
# The tests also open DOCX letters in LibreOffice, as a clerk's Word or WPS would.
TEST_APT_PACKAGES := libreoffice-writer-nogui
DEMO_DATE ?= 2026-11-25

.PHONY: setup system-packages test-packages demo test test-fast clean

setup: system-packages $(BIN)/.installed

# Installs the system libraries when run as root; otherwise says what to run.
system-packages test-packages: PACKAGES = $(if $(filter test-packages,$@),$(TEST_APT_PACKAGES),$(APT_PACKAGES))
system-packages test-packages:
	@missing=""; for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "system packages: all present"; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else \
	  echo "missing system packages:$$missing"; \
	  echo "run: sudo apt-get install -y$$missing"; exit 1; \
	fi

$(BIN)/.installed: pyproject.toml letterforge/dask.yaml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# The demo works on a fresh copy of the sample, so it can be run again and again.
demo: setup
	$(BIN)/letterforge doctor
	rm -rf demo
	$(BIN)/letterforge init demo --example property-zh
	$(BIN)/letterforge -w demo validate
	$(BIN)/letterforge -w demo statement JX-2-0302 --as-of $(DEMO_DATE)
	$(BIN)/letterforge -w demo plan --as-of $(DEMO_DATE) --days 5
	$(BIN)/letterforge -w demo batch --as-of $(DEMO_DATE)
	@echo "letters: demo/out/$(DEMO_DATE)/letters/  print pack: demo/out/$(DEMO_DATE)/print-pack-001.pdf"
	@echo "manifest: demo/out/$(DEMO_DATE)/manifest.csv  ledger: $(BIN)/letterforge -w demo ledger list"

test: setup test-packages
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "not slow"

clean:
	rm -rf $(VENV) *.egg-info dist .pytest_cache .hypothesis demo out

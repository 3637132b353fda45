# make demo: set up, then run the main job on the bundled sample workspace.
# make test: set up, then run the whole test suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
APT_PACKAGES := fonts-noto-cjk fontconfig libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0 poppler-utils
DEMO_WORKSPACE ?= samples/property-zh
DEMO_DATE ?= 2026-11-25

.PHONY: setup system-packages demo test clean

setup: system-packages $(BIN)/.installed

# Installs the system libraries when run as root; otherwise says what to run.
system-packages:
	@missing=""; for p in $(APT_PACKAGES); do \
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

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

demo: setup
	$(BIN)/letterforge doctor
	$(BIN)/letterforge -w $(DEMO_WORKSPACE) validate
	$(BIN)/letterforge -w $(DEMO_WORKSPACE) statement --all --as-of $(DEMO_DATE)
	$(BIN)/letterforge -w $(DEMO_WORKSPACE) render JX-2-0302 --kind demand --as-of $(DEMO_DATE) -o out/

test: setup
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .hypothesis

# Two commands matter: `make demo` and `make test`. Everything else is what they call.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The oldest and the newest anthropic SDK the package supports; `make test` runs the core suite on both.
SDK_OLDEST ?= 0.40.*
SDK_NEWEST ?= 2.13.*
OLD_VENV ?= .venv-sdk-oldest
PYTEST_FLAGS ?= -W error -q

.PHONY: demo test test-main test-sdk-oldest stress lint typecheck clean system-deps bench bench-profile

# Real servers the end-to-end tests start: redis-server, prometheus + promtool, alertmanager.
SYSTEM_TOOLS := redis-server promtool prometheus prometheus-alertmanager
SYSTEM_PACKAGES := redis-server prometheus prometheus-alertmanager
SYSTEM_SERVICES := redis-server prometheus prometheus-alertmanager
SYSTEM_DEPS ?=

# Debian packages for the end-to-end tests, installed only when missing and only as root; their
# services are neither started nor enabled (a policy-rc.d refuses the start; the tests run their
# own servers). SYSTEM_DEPS=skip, no root or no apt: skipped, and the tests that need them say so.
system-deps:
	@missing=""; for tool in $(SYSTEM_TOOLS); do command -v $$tool >/dev/null 2>&1 || missing="$$missing $$tool"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$(SYSTEM_DEPS)" = "skip" ] || [ "$$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then \
		echo "not installing Debian packages ($(SYSTEM_PACKAGES)) for:$$missing (SYSTEM_DEPS=skip, not root, or no apt-get); the end-to-end tests that need them skip with the reason"; \
		exit 0; \
	fi; \
	echo "installing Debian packages for:$$missing (services not started)"; \
	policy=/usr/sbin/policy-rc.d; had_policy=0; [ -e $$policy ] && had_policy=1; \
	[ $$had_policy = 1 ] || { printf '#!/bin/sh\nexit 101\n' > $$policy; chmod +x $$policy; }; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(SYSTEM_PACKAGES); \
	status=$$?; [ $$had_policy = 1 ] || rm -f $$policy; \
	if command -v systemctl >/dev/null 2>&1; then systemctl disable $(SYSTEM_SERVICES) >/dev/null 2>&1 || true; fi; \
	exit $$status

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]' 'anthropic==$(SDK_NEWEST)'
	touch $@

$(OLD_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(OLD_VENV)
	$(OLD_VENV)/bin/python -m pip install -q --upgrade pip
	$(OLD_VENV)/bin/python -m pip install -q -e '.[test]' 'anthropic==$(SDK_OLDEST)'
	touch $@

demo: $(VENV)/.installed
	@$(VENV)/bin/anthropic-otel demo

test: system-deps lint test-main test-sdk-oldest stress

test-main: $(VENV)/.installed
	@$(PY) -c "import anthropic; print('anthropic SDK', anthropic.__version__)"
	$(PY) -m pytest $(PYTEST_FLAGS) --ignore=tests/stress

# The core suite (unit + integration) against the oldest supported SDK, in its own venv.
test-sdk-oldest: $(OLD_VENV)/.installed
	@$(OLD_VENV)/bin/python -c "import anthropic; print('anthropic SDK', anthropic.__version__)"
	$(OLD_VENV)/bin/python -m pytest $(PYTEST_FLAGS) tests/unit tests/integration

# Minutes of streams dropped unclosed in reference cycles from several threads (STRESS_SECONDS each).
stress: $(VENV)/.installed
	$(PY) -m pytest $(PYTEST_FLAGS) -s tests/stress

# Not part of `make test`: per-call overhead against the bare SDK and the peers (each peer in a venv of
# its own under benchmarks/.venvs), written to benchmarks/results/. BENCH_FLAGS="--rounds 10" to shorten.
BENCH_FLAGS ?=
$(VENV)/.bench-installed: $(VENV)/.installed
	$(PY) -m pip install -q -e '.[bench]'
	touch $@

bench: $(VENV)/.bench-installed
	$(PY) benchmarks/bench_compare.py $(BENCH_FLAGS)

# Where the time of one path goes: cProfile over many calls (PROFILE_FLAGS="--path stream-full").
PROFILE_FLAGS ?=
bench-profile: $(VENV)/.bench-installed
	$(PY) benchmarks/bench_profile.py $(PROFILE_FLAGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check instrumentation tests benchmarks dashboards
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) $(OLD_VENV)

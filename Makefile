# textal: `make run` (the Label Studio demo), `make test` (the suite CI runs), `make bench` (benchmarks).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DATA   ?= ../shared/data
RUNS   ?= runs
# pip's own find-links folder holds the CPU torch wheel on machines that have one; uv must be told.
FIND_LINKS := $(shell $(PYTHON) -m pip config get global.find-links 2>/dev/null)
UV_LINKS   := $(if $(FIND_LINKS),--find-links $(FIND_LINKS),)
STAMP  := $(VENV)/.installed
# apt-get needs root: as another user, try sudo without a password prompt.
SUDO   := $(shell if [ "$$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then echo sudo -n; fi)

export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export PYTHONUNBUFFERED := 1

.PHONY: install run test bench soak clean redis-server postgresql browser

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv==0.13.9
	$(BIN)/uv pip install --python $(BIN)/python --compile-bytecode $(UV_LINKS) -e '.[test]'
	touch $@

# `make run`: Label Studio, textal serve and textal worker under .textal/, and a project from a recipe.
# DATA may name a data folder (../shared/data: the recipe's demo file in it) or your own file; RECIPE a
# shipped recipe (spam, support_tickets) or a recipe folder; PROJECT the project's name (default: the
# recipe's title, or, where another file's project has it, the title with your file's name).
RECIPE ?= spam
PROJECT ?=
DEMO_FILE_spam := sms_spam/test.csv
DEMO_FILE_support_tickets := clinc150/train.csv
RUN_DATA = $(if $(or $(suffix $(notdir $(DATA))),$(filter file,$(shell test -f "$(DATA)" && echo file))),$(DATA),$(DATA)/$(or $(DEMO_FILE_$(RECIPE)),$(DEMO_FILE_spam)))

run: install
	$(BIN)/textal up --recipe $(RECIPE) --data $(RUN_DATA)$(if $(PROJECT), --project-name "$(PROJECT)")

# Two xdist workers (tests/conftest.py's scheduler: the real-server tests one after another on one worker, the
# browser demo whole). Tests that share one id among several cases (schemathesis: one per operation), which
# xdist would run once, run on their own after.
ONE_ID_TESTS := tests/reliability/test_openapi_schemathesis.py

# Style and house rules first (seconds): ruff's lint and format, import-linter's contracts, mypy's types.
LINTED := textal ml_backend tests benchmarks

test: install redis-server postgresql browser
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python -m benchmarks.check_readme
	DATA=$(DATA) $(BIN)/python -m pytest -n 2 tests --ignore=$(ONE_ID_TESTS)
	DATA=$(DATA) $(BIN)/python -m pytest $(ONE_ID_TESTS)

# The Redis-queue end-to-end test starts its own redis-server (Debian package) on 127.0.0.1; install it once.
redis-server:
	@command -v redis-server >/dev/null 2>&1 || test -x /usr/sbin/redis-server || test -x /usr/bin/redis-server || \
		{ echo "installing redis-server (for the Redis queue test)"; \
		  ($(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server) \
		  >/dev/null 2>&1 || echo "could not install redis-server: the Redis queue test will say so"; }

# The production set-up's end-to-end test runs Label Studio on a PostgreSQL it starts (Debian package); install once.
postgresql:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || \
		{ echo "installing postgresql (for the PostgreSQL Label Studio test)"; \
		  ($(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql) \
		  >/dev/null 2>&1 || echo "could not install postgresql: the PostgreSQL Label Studio test will say so"; }

# The browser end-to-end test drives Debian's headless chromium through its chromedriver; install them once.
browser:
	@{ command -v chromium >/dev/null 2>&1 || test -x /usr/bin/chromium; } && \
	 { command -v chromedriver >/dev/null 2>&1 || test -x /usr/bin/chromedriver; } || \
		{ echo "installing chromium and chromium-driver (for the browser test)"; \
		  ($(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver) \
		  >/dev/null 2>&1 || echo "could not install chromium/chromium-driver: the browser test will say so"; }

# `make bench`: every benchmark folder rerun with small settings (quick profile); `make bench FULL=1`: the recorded
# long commands (100,000 tasks, 1,000,000 texts, 10 repeats, a 30 min soak); ONLY=folder[,folder] for some.
# `python -m benchmarks.run_all --list` prints both profiles' commands (benchmarks/run_all.py says more).
FULL ?=
ONLY ?=
bench: install
	DATA=$(DATA) $(BIN)/python -m benchmarks.run_all$(if $(FULL), --full)$(if $(ONLY), --only $(ONLY))

# `make soak`: Label Studio, serve and worker under mixed traffic for SOAK_MINUTES, memory sampled (benchmarks/soak/).
SOAK_MINUTES ?= 30
soak: install
	DATA=$(DATA) $(BIN)/python -m benchmarks.soak.run --minutes $(SOAK_MINUTES) --samples benchmarks/soak/samples.csv

clean:
	rm -rf $(VENV) $(RUNS) .pytest_cache  # .textal/ (make run's projects and keys) is kept

# Two entry points (README): `make demo` runs the site with a sample chapter, `make test` runs
# lint, the Django-free pipeline tests and the whole suite on both database setups.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha256sum requirements.lock | cut -c1-12)
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/mangasite
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
# Debian packages: Tesseract for Korean OCR; chromium for the browser tests; the deploy tests run
# nginx, promtool (prometheus) and openssl; `manage.py backup` runs pg_dump (postgresql-client).
SYSTEM_PACKAGES := tesseract-ocr tesseract-ocr-kor chromium nginx prometheus openssl postgresql-client
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: install system-deps models demo test test-pipeline test-embedded test-services lint typecheck mutation openapi

$(STAMP): requirements.lock
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements.lock
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

system-deps:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

# Model weights for the page pipeline (docs/models.md); verified by sha256, fetched once. The balloon
# segmenter's INT8 copy is made from the pinned weights (idempotent; without it the fp32 file runs); the
# line detector's copy stays opt-in (`manage.py models quantize ppocr-v6-det-small`): it changes OCR on
# some pages (docs/lettering.md, "Speed and memory").
models: $(STAMP)
	$(PY) manage.py models fetch
	$(PY) manage.py models quantize manga-bubble-seg

install: $(STAMP) system-deps models

demo: install
	bash deploy/demo.sh

# The API's published schema (docs/openapi.yaml); a test fails when the code drifts from it.
openapi: install
	DEBUG=1 $(PY) manage.py spectacular --validate --fail-on-warn --file docs/openapi.yaml

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(MAKE) typecheck

# mypy with the Django plugin over the whole tree (pyproject.toml [tool.mypy]).
typecheck: install
	env -u DATABASE_URL -u REDIS_URL $(VENV)/bin/mypy

# Mutation testing of the seams (docs/mutation.md): slow (minutes to an hour), so not part of `make test`.
mutation: install
	$(PY) -m translations.testing.mutation --json data/mutation.json

# The page pipeline's own tests, without Django (its own pytest.ini; fails if django gets imported).
test-pipeline: install
	$(PY) -m pytest -p no:cacheprovider translations/pipeline/tests

# The embedded default: SQLite in data/, django-q2 on the ORM broker, in-memory channel layer.
test-embedded: install
	env -u DATABASE_URL -u REDIS_URL $(PY) -m pytest -p no:cacheprovider

# The production shape: PostgreSQL, and Redis for the channel layer and the task broker.
# The test process runs many short-lived threads (live servers, heartbeats, readers); one that ends
# without closing its connection keeps its pool slot, so the suite gets a larger pool than a server.
test-services: install
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) MANGA_DB_POOL_MAX_SIZE=40 $(PY) -m pytest -p no:cacheprovider

test: lint test-pipeline test-embedded test-services

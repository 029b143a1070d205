# Two entry points (README): `make demo` runs the site with a sample chapter, `make test` runs
# lint and the whole suite on both database setups.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha256sum requirements.lock | cut -c1-12)
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/mangasite
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
# Debian packages the pipeline uses: Tesseract for Korean OCR.
SYSTEM_PACKAGES := tesseract-ocr tesseract-ocr-kor
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: install system-deps models demo test test-embedded test-services lint

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

# Model weights for the page pipeline (docs/models.md); verified by sha256, fetched once; then the
# INT8 copies of the detection models, made from them here (once; about a minute on 2 cores).
models: $(STAMP)
	$(PY) manage.py models fetch
	$(PY) manage.py models quantize

install: $(STAMP) system-deps models

demo: install
	bash deploy/demo.sh

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The embedded default: SQLite in data/, django-q2 on the ORM broker, in-memory channel layer.
test-embedded: install
	env -u DATABASE_URL -u REDIS_URL $(PY) -m pytest -p no:cacheprovider

# The production shape: PostgreSQL, and Redis for the channel layer and the task broker.
test-services: install
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest -p no:cacheprovider

test: lint test-embedded test-services

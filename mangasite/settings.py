"""Mangasite settings: one module, every value from the environment (docs/configuration.md).

With no variables set this is the embedded setup: SQLite in data/, django-q2 on the ORM
broker, an in-process channel layer. DATABASE_URL moves the database to PostgreSQL and
REDIS_URL moves the channel layer and the task broker to Redis.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dj_database_url

from mangasite.env import env_bool, env_int, env_list, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# --- Storage -----------------------------------------------------------------------------
MANGA_DATA_DIR = Path(env_str("MANGA_DATA_DIR") or BASE_DIR / "data").resolve()

# SECRET_KEY, else the key `make demo` keeps in data/secret_key, else a placeholder that keeps
# DEBUG and tests running and that the check mangasite.E001 refuses with DEBUG off.
UNSET_SECRET_KEY = "unset-insecure-secret-key"  # noqa: S105 (a marker, refused by E001)
_LOCAL_SECRET_KEY = MANGA_DATA_DIR / "secret_key"
SECRET_KEY = (
    env_secret("SECRET_KEY")
    or (_LOCAL_SECRET_KEY.read_text(encoding="utf-8").strip() if _LOCAL_SECRET_KEY.is_file() else "")
    or UNSET_SECRET_KEY
)
MANGA_MAX_IMAGE_BYTES = env_int("MANGA_MAX_IMAGE_BYTES", 50 * 1024 * 1024, minimum=1)
# 720x14000 webtoon strips are ~10 Mpx; 60 Mpx leaves room and stops decompression bombs.
MANGA_MAX_IMAGE_PIXELS = env_int("MANGA_MAX_IMAGE_PIXELS", 60_000_000, minimum=1)
MANGA_IMPORT_MAX_FILES = env_int("MANGA_IMPORT_MAX_FILES", 2000, minimum=1)
MANGA_IMPORT_MAX_BYTES = env_int("MANGA_IMPORT_MAX_BYTES", 2 * 1024**3, minimum=1)
# A browser upload of page images is one file per page: allow as many as an import.
DATA_UPLOAD_MAX_NUMBER_FILES = MANGA_IMPORT_MAX_FILES
# Media answers carry `X-Accel-Redirect: /_protected/<path under MANGA_DATA_DIR>` and no body:
# nginx serves the file from an `internal` location (deploy/). Off: Django streams the file.
MANGA_MEDIA_ACCEL_REDIRECT = env_bool("MANGA_MEDIA_ACCEL_REDIRECT", False)

# --- Page pipeline --------------------------------------------------------------------
# Model weights (manage.py models fetch); shared by every data dir, so not under MANGA_DATA_DIR.
MANGA_MODEL_DIR = Path(env_str("MANGA_MODEL_DIR") or BASE_DIR / "data" / "models").resolve()

# --- Translation (read by the checks now, by the pipeline and executors later) ------------
# Anonymous visitors may read non-private manga (translations/access.py); off by default.
MANGA_PUBLIC_LIBRARY = env_bool("MANGA_PUBLIC_LIBRARY", False)
MANGA_DEFAULT_TRANSLATOR = env_str("MANGA_DEFAULT_TRANSLATOR")
GEMINI_API_KEY = env_secret("GEMINI_API_KEY")
GEMINI_MODEL = env_str("GEMINI_MODEL", "gemini-3-flash-preview")
GEMINI_FALLBACK_MODEL = env_str("GEMINI_FALLBACK_MODEL", "gemini-2.5-flash")
GEMINI_API_BASE = env_str("GEMINI_API_BASE")  # the client's base URL: proxies, regional endpoints, tests
GEMINI_TIMEOUT_SEC = env_int("GEMINI_TIMEOUT_SEC", 90, minimum=1)  # per HTTP request to Gemini
GEMINI_MAX_ATTEMPTS = env_int("GEMINI_MAX_ATTEMPTS", 4, minimum=1)  # per model, for 429 / 5xx / timeouts
# openai_compat: any Chat Completions server (docs/translators.md, with an Ollama example).
MANGA_LLM_BASE_URL = env_str("MANGA_LLM_BASE_URL")  # e.g. http://127.0.0.1:11434/v1
MANGA_LLM_API_KEY = env_secret("MANGA_LLM_API_KEY")  # sent as a Bearer token; local servers need none
MANGA_LLM_MODEL = env_str("MANGA_LLM_MODEL")
MANGA_LLM_FALLBACK_MODEL = env_str("MANGA_LLM_FALLBACK_MODEL")
MANGA_LLM_VISION = env_str("MANGA_LLM_VISION", "auto")  # auto | on | off: send the page image
MANGA_LLM_TIMEOUT_SEC = env_int("MANGA_LLM_TIMEOUT_SEC", 120, minimum=1)  # per HTTP request
MANGA_LLM_MAX_ATTEMPTS = env_int("MANGA_LLM_MAX_ATTEMPTS", 4, minimum=1)  # per model, for 429 / 5xx / timeouts
MANGA_DICT_DIR = Path(env_str("MANGA_DICT_DIR") or BASE_DIR / "dict").resolve()  # prompts, glossaries, dicts
MANGA_TRANSLATE_EXECUTION_BACKEND = env_str("MANGA_TRANSLATE_EXECUTION_BACKEND", "local")
# Local executor: pages read (load → detect → OCR → group) ahead of the one being translated; 0 turns it off.
MANGA_READ_AHEAD_PAGES = env_int("MANGA_READ_AHEAD_PAGES", 2, minimum=0)
MANGA_CLOUDRUN_EXEC_URL = env_str("MANGA_CLOUDRUN_EXEC_URL")
# cloudrun: detect and render as two calls, translating in the worker between them (docs/compute-service.md).
MANGA_CLOUDRUN_SPLIT = env_bool("MANGA_CLOUDRUN_SPLIT", False)
MANGA_INTERNAL_API_TOKEN = env_secret("MANGA_INTERNAL_API_TOKEN")
MANGA_CLOUDRUN_TIMEOUT_SEC = env_int("MANGA_CLOUDRUN_TIMEOUT_SEC", 120, minimum=1)
MANGA_CLOUDRUN_EXECUTOR_RETRIES = env_int("MANGA_CLOUDRUN_EXECUTOR_RETRIES", 2, minimum=0)
# Retryable compute-service failures are retried for this long (and at least RETRIES times); a cold
# start takes up to 25 s. A page still failing is tried again by its job after this long again.
MANGA_CLOUDRUN_RETRY_BUDGET_SEC = env_int("MANGA_CLOUDRUN_RETRY_BUDGET_SEC", 60, minimum=0)

# --- Applications ------------------------------------------------------------------------
INSTALLED_APPS = [
    # First: its `runserver` (daphne's, imported only when run) replaces staticfiles' and Django's; its
    # `qcluster` replaces django-q2's (a stop that finishes the page). daphne itself is not an app here:
    # its app imports twisted and autobahn (≈1 s) in every process, a translate_page or a worker too.
    "mangasite.apps.MangasiteConfig",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_q",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "translations",
    "scraper",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "mangasite.urls"
WSGI_APPLICATION = "mangasite.wsgi.application"
ASGI_APPLICATION = "mangasite.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ----------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
# Each process keeps at most MANGA_DB_POOL_MAX_SIZE PostgreSQL connections, shared by its threads
# (docs/serving.md sizes it against gunicorn's threads). A persistent connection per thread instead
# let daphne's per-request threads take every connection the server had.
MANGA_DB_POOL_MIN_SIZE = env_int("MANGA_DB_POOL_MIN_SIZE", 1, minimum=0)
MANGA_DB_POOL_MAX_SIZE = env_int("MANGA_DB_POOL_MAX_SIZE", 4, minimum=1)
MANGA_DB_POOL_TIMEOUT_SEC = env_int("MANGA_DB_POOL_TIMEOUT_SEC", 10, minimum=1)  # wait for a free connection
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": min(MANGA_DB_POOL_MIN_SIZE, MANGA_DB_POOL_MAX_SIZE),
        "max_size": MANGA_DB_POOL_MAX_SIZE,
        "timeout": MANGA_DB_POOL_TIMEOUT_SEC,
    }
else:
    # Workers and the web process write at once: WAL lets readers run beside a writer,
    # IMMEDIATE takes the write lock up front (no deadlocking read-to-write upgrades) and
    # the busy timeout makes a second writer wait instead of failing.
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(MANGA_DATA_DIR / "mangasite.sqlite3"),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            # A file, not :memory:, so tests see WAL and concurrent connections too.
            "TEST": {"NAME": MANGA_DATA_DIR / "test-mangasite.sqlite3"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer and task broker ------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    # channels-redis reads with a 5 s blocking BZPOPMIN; redis-py's default 5 s socket timeout cut
    # that read off and closed every idle progress socket (1011). The socket timeout must exceed it.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "socket_timeout": 15, "socket_connect_timeout": 5}],
                "prefix": "mangasite",
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

Q_CLUSTER: dict[str, Any] = {
    "name": "mangasite",
    "workers": env_int("MANGA_Q_WORKERS", 2, minimum=1),
    # A page may take minutes on a CPU; retry must stay above timeout (check mangasite.E006).
    "timeout": env_int("MANGA_Q_TIMEOUT", 900, minimum=1),
    "retry": env_int("MANGA_Q_RETRY", 1200, minimum=1),
    "max_attempts": 1,
    "ack_failures": True,
    "catch_up": False,
    "label": "Tasks",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Jobs and progress (docs/architecture.md, "Jobs and progress") --------------------------
# Queued + running jobs above this refuse a new request (429).
MANGA_QUEUE_MAX_ACTIVE_JOBS = env_int("MANGA_QUEUE_MAX_ACTIVE_JOBS", 50, minimum=1)
# A worker's claim on a page, renewed by a heartbeat every third of it; the sweeper re-queues
# pages whose lease ran out (their worker died).
MANGA_PAGE_LEASE_SEC = env_int("MANGA_PAGE_LEASE_SEC", 60, minimum=3)
# A page whose worker died this many times is failed instead of re-queued (it may be what kills them).
MANGA_PAGE_MAX_ATTEMPTS = env_int("MANGA_PAGE_MAX_ATTEMPTS", 3, minimum=1)
MANGA_CLOUDRUN_BACKOFF_MS = env_int("MANGA_CLOUDRUN_BACKOFF_MS", 1000, minimum=0)
# How often a progress WebSocket reads new events from the database: the only path from the
# workers in the embedded setup, a safety net behind the Redis doorbell otherwise.
MANGA_PROGRESS_POLL_MS = env_int("MANGA_PROGRESS_POLL_MS", 2000 if REDIS_URL else 200, minimum=20)
MANGA_AUDIT_RETENTION_DAYS = env_int("MANGA_AUDIT_RETENTION_DAYS", 30, minimum=1)

# --- Operations (docs/operations.md) ------------------------------------------------------
# A bearer token Prometheus sends to /metrics; staff sessions are let in without it.
MANGA_METRICS_TOKEN = env_secret("MANGA_METRICS_TOKEN")
# Compute-service calls (the cold-start, 503, auth-failure and retry figures) are kept this long.
MANGA_METRICS_RETENTION_DAYS = env_int("MANGA_METRICS_RETENTION_DAYS", 30, minimum=1)

# --- Scraper (docs/scraper.md) -----------------------------------------------------------
# CIDRs a scraper request may reach although they are loopback, private, link-local or reserved
# (a site on the LAN; tests use 127.0.0.1/32). Empty: only public addresses. Checked: scraper.E001.
MANGA_SCRAPER_ALLOWED_NETWORKS = env_list("MANGA_SCRAPER_ALLOWED_NETWORKS")
# Politeness per site host: requests per second (all processes together) and requests at once per process.
MANGA_SCRAPER_REQUESTS_PER_SEC = env_int("MANGA_SCRAPER_REQUESTS_PER_SEC", 2, minimum=1)
MANGA_SCRAPER_CONCURRENCY = env_int("MANGA_SCRAPER_CONCURRENCY", 4, minimum=1)
MANGA_SCRAPER_CONNECT_TIMEOUT_SEC = env_int("MANGA_SCRAPER_CONNECT_TIMEOUT_SEC", 10, minimum=1)
MANGA_SCRAPER_READ_TIMEOUT_SEC = env_int("MANGA_SCRAPER_READ_TIMEOUT_SEC", 30, minimum=1)
# A whole response (headers and body) must arrive within this, however slowly the bytes trickle in.
MANGA_SCRAPER_REQUEST_DEADLINE_SEC = env_int("MANGA_SCRAPER_REQUEST_DEADLINE_SEC", 120, minimum=1)
MANGA_SCRAPER_RETRIES = env_int("MANGA_SCRAPER_RETRIES", 3, minimum=0)
MANGA_SCRAPER_BACKOFF_MS = env_int("MANGA_SCRAPER_BACKOFF_MS", 1000, minimum=0)
# A Retry-After longer than this fails the request (rate_limited) instead of holding a worker.
MANGA_SCRAPER_RETRY_AFTER_MAX_SEC = env_int("MANGA_SCRAPER_RETRY_AFTER_MAX_SEC", 120, minimum=0)
MANGA_SCRAPER_USER_AGENT = env_str("MANGA_SCRAPER_USER_AGENT", "Mangasite/0.1 (self-hosted manga library)")
MANGA_SCRAPER_MAX_HTML_BYTES = env_int("MANGA_SCRAPER_MAX_HTML_BYTES", 5 * 1024 * 1024, minimum=1024)
MANGA_SCRAPER_COOKIES_MAX_BYTES = env_int("MANGA_SCRAPER_COOKIES_MAX_BYTES", 256 * 1024, minimum=1024)
# A download's claim, renewed by a heartbeat; past it the sweeper queues the download again.
MANGA_SCRAPER_LEASE_SEC = env_int("MANGA_SCRAPER_LEASE_SEC", 60, minimum=3)
# A download whose worker died this many times is failed (worker_lost) instead of queued again.
MANGA_SCRAPER_MAX_ATTEMPTS = env_int("MANGA_SCRAPER_MAX_ATTEMPTS", 5, minimum=1)
# Queued + running downloads above this refuse a new one.
MANGA_SCRAPER_MAX_ACTIVE_DOWNLOADS = env_int("MANGA_SCRAPER_MAX_ACTIVE_DOWNLOADS", 200, minimum=1)

# --- Auth, i18n, static ------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "library"
LOGOUT_REDIRECT_URL = "library"
# Sign-in throttling (mangasite/login_throttle.py): wrong passwords per account before a lock, and its length.
AUTHENTICATION_BACKENDS = ["mangasite.login_throttle.ThrottledModelBackend"]
MANGA_LOGIN_MAX_FAILURES = env_int("MANGA_LOGIN_MAX_FAILURES", 10, minimum=1)
MANGA_LOGIN_LOCKOUT_SEC = env_int("MANGA_LOGIN_LOCKOUT_SEC", 900, minimum=1)

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT") or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- HTTPS (behind nginx or another TLS proxy) -------------------------------------------
MANGA_HTTPS = env_bool("MANGA_HTTPS", False)
if MANGA_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    # Health checks (systemd, compose, load balancers) and Prometheus reach the app server directly
    # over loopback or the private network, not through nginx's TLS.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Documented in docs/configuration.md: with HSTS deliberately not forced on subdomains.
SILENCED_SYSTEM_CHECKS = ["security.W005", "security.W021"]

# --- REST API v1 (docs/api.md) ---------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "translations.api.authentication.BearerTokenAuthentication",
        "translations.api.authentication.CsrfSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["translations.api.permissions.ReadersReadStaffWrite"],
    "DEFAULT_THROTTLE_CLASSES": [
        "translations.api.throttles.AnonymousThrottle",
        "translations.api.throttles.UserThrottle",
        "translations.api.throttles.TokenThrottle",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "translations.api.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Proxies in front that append to X-Forwarded-For (nginx: 1); 0 trusts only the peer address.
    "NUM_PROXIES": env_int("MANGA_API_TRUSTED_PROXIES", 0, minimum=0),
}
# Requests per user / per token / per anonymous address ("N/second|minute|hour|day").
MANGA_API_THROTTLE_RATES = {
    "anon": env_str("MANGA_API_THROTTLE_ANON", "60/minute"),
    "user": env_str("MANGA_API_THROTTLE_USER", "1200/minute"),
    "token": env_str("MANGA_API_THROTTLE_TOKEN", "600/minute"),
}
# The Retry-After a full queue answers with (429 queue_full).
MANGA_API_QUEUE_RETRY_AFTER_SEC = env_int("MANGA_API_QUEUE_RETRY_AFTER_SEC", 30, minimum=1)
# How long a token's last-used time may lag: at most one write per token per interval.
MANGA_API_TOKEN_TOUCH_SEC = env_int("MANGA_API_TOKEN_TOUCH_SEC", 60, minimum=0)
SPECTACULAR_SETTINGS = {
    "TITLE": "Mangasite API",
    "DESCRIPTION": "The library, translation jobs and their pages, by token. Errors: docs/api.md.",
    "VERSION": "1.0.0",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "translations.api.schema.drop_backend_bounds",
        "translations.api.schema.declare_headers",
    ],
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "translations.models.TranslationJob.Status",
        "PageResultStatusEnum": "translations.models.PageResult.Status",
        "LanguageEnum": "translations.models.Language",
        "TargetLanguageEnum": "translations.pipeline.languages.TARGET_LANGUAGES",
        "SourceLanguageEnum": "translations.pipeline.languages.SOURCE_LANGUAGES",
    },
}

# Throttle counters (the API's, and sign-in failures): shared by every web process through Redis
# when there is one; per process otherwise (docs/api.md, "Throttles"; docs/configuration.md).
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "mangasite",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# The reader pages' cached parts (translations/views/fragments.py) expire after this; 0 turns them off.
MANGA_FRAGMENT_CACHE_SECONDS = env_int("MANGA_FRAGMENT_CACHE_SECONDS", 300, minimum=0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
}

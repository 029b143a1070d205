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

# --- Page pipeline --------------------------------------------------------------------
# Model weights (manage.py models fetch); shared by every data dir, so not under MANGA_DATA_DIR.
MANGA_MODEL_DIR = Path(env_str("MANGA_MODEL_DIR") or BASE_DIR / "data" / "models").resolve()

# --- Translation (read by the checks now, by the pipeline and executors later) ------------
MANGA_DEFAULT_TRANSLATOR = env_str("MANGA_DEFAULT_TRANSLATOR")
GEMINI_API_KEY = env_secret("GEMINI_API_KEY")
GEMINI_MODEL = env_str("GEMINI_MODEL", "gemini-3-flash-preview")
GEMINI_FALLBACK_MODEL = env_str("GEMINI_FALLBACK_MODEL", "gemini-2.5-flash")
GEMINI_API_BASE = env_str("GEMINI_API_BASE")  # the client's base URL: proxies, regional endpoints, tests
GEMINI_TIMEOUT_SEC = env_int("GEMINI_TIMEOUT_SEC", 90, minimum=1)  # per HTTP request to Gemini
GEMINI_MAX_ATTEMPTS = env_int("GEMINI_MAX_ATTEMPTS", 4, minimum=1)  # per model, for 429 / 5xx / timeouts
MANGA_DICT_DIR = Path(env_str("MANGA_DICT_DIR") or BASE_DIR / "dict").resolve()  # prompts, glossaries, dicts
MANGA_TRANSLATE_EXECUTION_BACKEND = env_str("MANGA_TRANSLATE_EXECUTION_BACKEND", "local")
MANGA_CLOUDRUN_EXEC_URL = env_str("MANGA_CLOUDRUN_EXEC_URL")
MANGA_INTERNAL_API_TOKEN = env_secret("MANGA_INTERNAL_API_TOKEN")
MANGA_CLOUDRUN_TIMEOUT_SEC = env_int("MANGA_CLOUDRUN_TIMEOUT_SEC", 120, minimum=1)
MANGA_CLOUDRUN_EXECUTOR_RETRIES = env_int("MANGA_CLOUDRUN_EXECUTOR_RETRIES", 2, minimum=0)

# --- Applications ------------------------------------------------------------------------
INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_q",
    "rest_framework",
    "mangasite.apps.MangasiteConfig",
    "translations",
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
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
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
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": "mangasite"},
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

# --- Auth, i18n, static ------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

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
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Documented in docs/configuration.md: with HSTS deliberately not forced on subdomains.
SILENCED_SYSTEM_CHECKS = ["security.W005", "security.W021"]

REST_FRAMEWORK = {
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
}

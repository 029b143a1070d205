"""Settings are read once per process, so these start a fresh Python with the environment under test."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, django
django.setup()
from django.conf import settings
from django_q.conf import Conf
db = settings.DATABASES["default"]
print(json.dumps({
    "engine": db["ENGINE"],
    "db_name": str(db["NAME"]),
    "db_options": {k: str(v) for k, v in db.get("OPTIONS", {}).items()},
    "channel_layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "q_broker": Conf.BROKER_CLASS or ("redis" if Conf.REDIS else "orm") if not Conf.ORM else "orm",
    "q_redis": Conf.REDIS,
    "secret_key": settings.SECRET_KEY,
    "data_dir": str(settings.MANGA_DATA_DIR),
}))
"""


def clean_env(tmp_path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DJANGO_SETTINGS_MODULE="mangasite.settings", MANGA_DATA_DIR=str(tmp_path / "data"), DEBUG="1")
    env.update(extra)
    return env


def probe(env) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def manage(env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_embedded_default_is_tuned_sqlite_with_the_orm_broker(tmp_path):
    found = probe(clean_env(tmp_path))
    assert found["engine"] == "django.db.backends.sqlite3"
    assert found["db_name"] == str(tmp_path / "data" / "mangasite.sqlite3")
    assert found["db_options"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in found["db_options"]["init_command"]
    assert found["channel_layer"] == "channels.layers.InMemoryChannelLayer"
    assert found["q_broker"] == "orm"


def test_database_url_and_redis_url_switch_to_postgresql_and_redis(tmp_path):
    env = clean_env(
        tmp_path, DATABASE_URL="postgres://user@db.internal:5432/manga", REDIS_URL="redis://cache.internal:6379/2"
    )
    found = probe(env)
    assert found["engine"] == "django.db.backends.postgresql"
    assert found["db_name"] == "manga"
    assert found["channel_layer"] == "channels_redis.core.RedisChannelLayer"
    assert found["q_broker"] == "redis"
    assert found["q_redis"] == "redis://cache.internal:6379/2"


def test_secrets_can_come_from_files(tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text("from-a-file\n")
    found = probe(clean_env(tmp_path, SECRET_KEY_FILE=str(key_file)))
    assert found["secret_key"] == "from-a-file"


def test_the_key_make_demo_keeps_in_the_data_dir_is_used(tmp_path):
    (tmp_path / "data" / "secret_key").write_text("kept-by-the-demo\n")
    env = clean_env(tmp_path)
    env.pop("SECRET_KEY", None)
    assert probe(env)["secret_key"] == "kept-by-the-demo"


def test_a_junk_boolean_stops_the_process_with_the_variable_name(tmp_path):
    result = manage(clean_env(tmp_path, DEBUG="maybe"), "check")
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_a_bad_combination_is_refused_at_start(tmp_path):
    result = manage(clean_env(tmp_path, MANGA_TRANSLATE_EXECUTION_BACKEND="cloudrun"), "check")
    assert result.returncode != 0
    assert "mangasite.E003" in result.stderr
    assert "mangasite.E004" in result.stderr


def test_check_deploy_passes_with_production_like_settings(tmp_path):
    env = clean_env(
        tmp_path,
        DEBUG="0",
        SECRET_KEY="k7Jp2vQ9xR4mT8wZ1cN6bH3fL5sD0gY-aE_uI7oP9qW2eR4tY6uI8oP0aS2dF4gH",
        ALLOWED_HOSTS="manga.example.org",
        CSRF_TRUSTED_ORIGINS="https://manga.example.org",
        MANGA_HTTPS="1",
        MANGA_DEFAULT_TRANSLATOR="gemini_hq",
        GEMINI_API_KEY="test-key",
    )
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_a_missing_secret_key_without_debug_is_refused_at_start(tmp_path):
    env = clean_env(tmp_path, DEBUG="0")
    env.pop("SECRET_KEY", None)
    result = manage(env, "check")
    assert result.returncode != 0
    assert "mangasite.E001" in result.stderr


def test_every_variable_the_settings_read_is_documented():
    source = (ROOT / "mangasite" / "settings.py").read_text()
    names = set(re.findall(r'env_(?:str|bool|int|list|secret)\(\s*"([A-Z0-9_]+)"', source))
    assert len(names) > 20
    documented = (ROOT / "docs" / "configuration.md").read_text()
    missing = sorted(name for name in names if f"`{name}`" not in documented)
    assert missing == []

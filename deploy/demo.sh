#!/usr/bin/env bash
# `make demo`: migrate, make a staff user, import the sample chapter, queue its translation, then
# run the web server (daphne) and the worker (qcluster) on localhost until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
HOST=${MANGA_DEMO_HOST:-127.0.0.1}
PORT=${MANGA_DEMO_PORT:-8000}
export MANGA_DATA_DIR=${MANGA_DATA_DIR:-$PWD/data}
mkdir -p "$MANGA_DATA_DIR"

# A secret key made once for this install, unless the operator set one; settings read
# data/secret_key by themselves, so later manage.py commands find it too.
key_file="$MANGA_DATA_DIR/secret_key"
if [ -z "${SECRET_KEY:-}${SECRET_KEY_FILE:-}" ] && [ ! -s "$key_file" ]; then
  (umask 077 && "$PY" -c "import secrets; print(secrets.token_urlsafe(50))" >"$key_file")
fi

"$PY" manage.py check
"$PY" manage.py migrate --noinput
"$PY" manage.py collectstatic --noinput --verbosity 0
"$PY" manage.py ensure_staff_user
"$PY" manage.py import_chapter demo/wikipe-tan --manga "Wikipe-tan" --chapter 1 --lang ja
# The main job: translate the sample chapter once (gemini_hq with GEMINI_API_KEY, else cleaning mode).
"$PY" manage.py shell -c '
from translations.models import Chapter
from translations.services.jobs import chapter_request_translation, default_translator
chapter = Chapter.objects.get(manga__slug="wikipe-tan", number=1)
if not chapter.jobs.exists():
    job = chapter_request_translation(chapter=chapter, target_language="en")
    print(f"Queued job {job.pk}: {chapter} with the {default_translator()} translator")
'

"$PY" manage.py qcluster &
worker=$!
trap 'kill "$worker" 2>/dev/null || true; wait' EXIT INT TERM
echo "Mangasite is up: http://$HOST:$PORT/ (the library; /setup makes the first staff account if none exists; Ctrl-C stops the web server and the worker)"
.venv/bin/daphne --bind "$HOST" --port "$PORT" mangasite.asgi:application

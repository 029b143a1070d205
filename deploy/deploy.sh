#!/usr/bin/env bash
# Deploy a version on a systemd host (docs/operations.md, "Deploy and upgrade"):
#   deploy/deploy.sh <git-ref> ["what changed"]
# Run as the deploy user: owner of /opt/mangasite, member of group mangasite (reads the env file),
# allowed `sudo systemctl` for the mangasite units. Stops at the first failing step.
set -euo pipefail

REF=${1:?usage: deploy/deploy.sh <git-ref> [note]}
NOTE=${2:-}
APP=${MANGA_APP_DIR:-/opt/mangasite}
ENV_FILE=${MANGA_ENV_FILE:-/etc/mangasite/mangasite.env}
UNITS=(mangasite-web.service mangasite-ws.service mangasite-worker.service)

cd "$APP"
git fetch --tags --quiet origin
git checkout --quiet --detach "$REF"
VERSION=$(git describe --tags --always --dirty)

.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.lock

set -a
# shellcheck source=/dev/null
source "$ENV_FILE"
set +a
manage() { .venv/bin/python manage.py "$@"; }

manage check --deploy --fail-level ERROR
manage migrate --noinput
manage collectstatic --noinput -v0
manage models fetch
manage models quantize manga-bubble-seg  # the INT8 copy (docs/models.md); made once, kept

# Workers finish their page (TimeoutStopSec=300s) and the sweeper re-queues anything cut short.
sudo systemctl restart "${UNITS[@]}"
for _ in $(seq 1 60); do
    if curl -fsS "http://${MANGA_WEB_BIND:-127.0.0.1:8000}/healthz" -o /dev/null; then
        manage record_deploy --version "$VERSION" --note "$NOTE"
        exit 0
    fi
    sleep 2
done
echo "deploy $VERSION: /healthz did not answer within 120 s; see journalctl -u mangasite-web" >&2
exit 1

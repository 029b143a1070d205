# The Mangasite application image: web (gunicorn), ws (daphne), worker (qcluster) and the one-shot
# setup of deploy/compose.yml. Build from the repository root (BuildKit reads app.Dockerfile.dockerignore):
#   docker build -f deploy/app.Dockerfile -t mangasite .
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH \
    MANGA_DATA_DIR=/var/lib/mangasite/data MANGA_MODEL_DIR=/var/lib/mangasite/models \
    STATIC_ROOT=/opt/mangasite/staticfiles

# Tesseract reads Korean (docs/models.md); pg_dump/pg_restore for manage.py backup/restore (Debian 12: 15).
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        tesseract-ocr tesseract-ocr-kor postgresql-client \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/mangasite
COPY requirements.lock .
RUN python -m venv $VIRTUAL_ENV && pip install --no-cache-dir -r requirements.lock

COPY . .
RUN useradd --system --uid 10001 --home-dir /opt/mangasite mangasite \
    && mkdir -p /var/lib/mangasite/data /var/lib/mangasite/models /opt/mangasite/staticfiles \
    && chown mangasite:mangasite /var/lib/mangasite/data /var/lib/mangasite/models /opt/mangasite/staticfiles
USER mangasite
EXPOSE 8000 8001
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py", "mangasite.wsgi:application"]

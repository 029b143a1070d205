#!/usr/bin/env bash
# Build and deploy the compute service to Cloud Run, private: callers need IAM (roles/run.invoker)
# and the X-Internal-Token, which lives only in Secret Manager (never in the image or this script).
#
#   deploy/cloudrun/deploy.sh PROJECT REGION [cpu|gpu]
#
# Once per project, create the secrets from a file or stdin, e.g.:
#   openssl rand -hex 32 | gcloud secrets create mangasite-internal-token --data-file=-
#   gcloud secrets create mangasite-gemini-key --data-file=PATH_TO_KEY_FILE
# and give the service account access:
#   gcloud secrets add-iam-policy-binding mangasite-internal-token \
#     --member=serviceAccount:mangasite-compute@PROJECT.iam.gserviceaccount.com --role=roles/secretmanager.secretAccessor
# Rotation: add a version, set MANGA_INTERNAL_API_TOKEN_PREVIOUS (secret mangasite-internal-token-previous)
# on the service while the web side switches, then remove it.
set -euo pipefail

PROJECT=${1:?usage: deploy.sh PROJECT REGION [cpu|gpu]}
REGION=${2:?usage: deploy.sh PROJECT REGION [cpu|gpu]}
VARIANT=${3:-cpu}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

case "$VARIANT" in
  cpu) DOCKERFILE=deploy/cloudrun/Dockerfile.cpu; SPEC=service.yaml; SERVICE=mangasite-compute ;;
  gpu) DOCKERFILE=deploy/cloudrun/Dockerfile.gpu; SPEC=service-gpu.yaml; SERVICE=mangasite-compute-gpu ;;
  *) echo "variant must be cpu or gpu" >&2; exit 2 ;;
esac
IMAGE="$REGION-docker.pkg.dev/$PROJECT/mangasite/$SERVICE:$(git -C "$ROOT" rev-parse --short HEAD)"

# The build context is the repository root filtered by .gcloudignore (an allow-list).
cat > "$ROOT/.cloudbuild-compute.yaml" <<YAML
steps:
  - name: gcr.io/cloud-builders/docker
    args: [build, -f, $DOCKERFILE, -t, $IMAGE, .]
images: [$IMAGE]
YAML
trap 'rm -f "$ROOT/.cloudbuild-compute.yaml"' EXIT
gcloud builds submit "$ROOT" --project "$PROJECT" --region "$REGION" --config "$ROOT/.cloudbuild-compute.yaml"

# The same settings as $SPEC (`gcloud run services replace` applies that file instead); a test keeps them in step.
COMMON=(--project "$PROJECT" --region "$REGION" --image "$IMAGE" --no-allow-unauthenticated
  --service-account "mangasite-compute@$PROJECT.iam.gserviceaccount.com"
  --cpu 4 --concurrency 1 --timeout 900 --min-instances 0 --max-instances 2 --no-cpu-throttling --cpu-boost
  --set-secrets MANGA_INTERNAL_API_TOKEN=mangasite-internal-token:latest,GEMINI_API_KEY=mangasite-gemini-key:latest)
if [ "$VARIANT" = gpu ]; then
  gcloud run deploy "$SERVICE" "${COMMON[@]}" --memory 16Gi --gpu 1 --gpu-type nvidia-l4 --no-gpu-zonal-redundancy \
    --set-env-vars MANGA_COMPUTE_CONCURRENCY=1,MANGA_REQUIRE_GPU=1
else
  gcloud run deploy "$SERVICE" "${COMMON[@]}" --memory 8Gi \
    --set-env-vars MANGA_COMPUTE_CONCURRENCY=1,MANGA_ONNX_THREADS=4
fi
gcloud run services describe "$SERVICE" --project "$PROJECT" --region "$REGION" --format='value(status.url)'

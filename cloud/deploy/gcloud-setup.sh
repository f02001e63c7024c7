#!/usr/bin/env bash
# WheelWatch on Google Cloud: service accounts with least-privilege roles, secrets,
# Cloud SQL, image, resources (`wheel-cloud provision`), dashboard (Cloud Run) and
# workers (GKE). Read DEPLOY.md first; run the steps one by one the first time:
#   PROJECT=my-project REGION=europe-west1 bash cloud/deploy/gcloud-setup.sh STEP...
# Steps: apis accounts secrets sql image provision iam dashboard workers edge-key
# Every step is safe to repeat (existing resources are kept).
set -euo pipefail

: "${PROJECT:?set PROJECT}"
: "${REGION:=europe-west1}"
: "${INSTANCE:=wheelwatch-pg}"
: "${BUCKET:=${PROJECT}-wheelwatch-scans}"
: "${DATASET:=wheelwatch}"
: "${CONFIG:=site.toml}"                  # the site config (transport kind = pubsub ...)
: "${TOPICS:=wheelwatch-cam-01 wheelwatch-cam-02 wheelwatch-events}"
: "${SUBSCRIPTIONS:=wheelwatch-cam-01-sub wheelwatch-cam-02-sub wheelwatch-events-sub}"
: "${TAG:=$(git rev-parse --short HEAD 2>/dev/null || echo latest)}"
IMAGE="${REGION}-docker.pkg.dev/${PROJECT}/wheelwatch/cloud:${TAG}"
SA_DOMAIN="${PROJECT}.iam.gserviceaccount.com"
EDGE_SA="wheelwatch-edge@${SA_DOMAIN}"
WORKER_SA="wheelwatch-worker@${SA_DOMAIN}"
DASH_SA="wheelwatch-dashboard@${SA_DOMAIN}"
PROV_SA="wheelwatch-provision@${SA_DOMAIN}"
g() { echo "+ gcloud $*" >&2; gcloud --project "$PROJECT" --quiet "$@"; }
exists() { "$@" >/dev/null 2>&1; }

step_apis() {
  g services enable pubsub.googleapis.com storage.googleapis.com bigquery.googleapis.com \
    sqladmin.googleapis.com secretmanager.googleapis.com run.googleapis.com \
    container.googleapis.com artifactregistry.googleapis.com cloudbuild.googleapis.com \
    monitoring.googleapis.com
}

step_accounts() {
  for sa in wheelwatch-edge wheelwatch-worker wheelwatch-dashboard wheelwatch-provision; do
    exists g iam service-accounts describe "${sa}@${SA_DOMAIN}" ||
      g iam service-accounts create "$sa" --display-name "WheelWatch ${sa#wheelwatch-}"
  done
}

secret() {  # secret NAME: create it (value from stdin) or add a new version
  if exists g secrets describe "$1"; then g secrets versions add "$1" --data-file=-
  else g secrets create "$1" --replication-policy=automatic --data-file=-; fi
}

step_secrets() {
  echo "Enter each secret when asked (input hidden)." >&2
  for name in wheelwatch-sql-url wheelwatch-twilio-sid wheelwatch-twilio-token \
              wheelwatch-sendgrid-key wheelwatch-dashboard-secret wheelwatch-dashboard-users; do
    read -r -s -p "$name: " value; echo >&2
    printf '%s' "$value" | secret "$name"
  done
  secret wheelwatch-site-config < "$CONFIG"   # not secret, but Cloud Run mounts it as a file
}

step_sql() {
  exists g sql instances describe "$INSTANCE" ||
    g sql instances create "$INSTANCE" --database-version=POSTGRES_16 --region="$REGION" \
      --tier=db-g1-small --storage-auto-increase
  exists g sql databases describe wheelwatch --instance="$INSTANCE" ||
    g sql databases create wheelwatch --instance="$INSTANCE"
  echo "create the user: gcloud sql users create wheelwatch --instance=$INSTANCE --password=..." >&2
}

step_image() {
  exists g artifacts repositories describe wheelwatch --location="$REGION" ||
    g artifacts repositories create wheelwatch --repository-format=docker --location="$REGION"
  g builds submit --config cloud/deploy/cloudbuild.yaml --substitutions="_IMAGE=${IMAGE}" .
}

step_provision() {
  # topics, subscriptions + dead letters, bucket, database schema, dataset, tables, views.
  # Runs as a Cloud Run job under the provisioning account (roles granted below).
  for role in roles/pubsub.editor roles/storage.admin roles/bigquery.dataOwner roles/bigquery.jobUser \
              roles/cloudsql.client; do
    g projects add-iam-policy-binding "$PROJECT" --member="serviceAccount:${PROV_SA}" \
      --role="$role" --condition=None
  done
  g secrets add-iam-policy-binding wheelwatch-sql-url \
    --member="serviceAccount:${PROV_SA}" --role=roles/secretmanager.secretAccessor
  g secrets add-iam-policy-binding wheelwatch-site-config \
    --member="serviceAccount:${PROV_SA}" --role=roles/secretmanager.secretAccessor
  local conn="${PROJECT}:${REGION}:${INSTANCE}"
  g run jobs deploy wheelwatch-provision --image="$IMAGE" --region="$REGION" \
    --service-account="$PROV_SA" --set-cloudsql-instances="$conn" \
    --set-secrets="/etc/wheelwatch/site.toml=wheelwatch-site-config:latest,WHEELWATCH__CLOUD__SQL_URL=wheelwatch-sql-url:latest" \
    --args=provision,--config,/etc/wheelwatch/site.toml
  g run jobs execute wheelwatch-provision --region="$REGION" --wait
}

step_iam() {
  # Least privilege, on the resources themselves (not the project) wherever possible.
  local t s
  for t in $TOPICS; do      # edge: publish to the site's topics, nothing else
    g pubsub topics add-iam-policy-binding "$t" --member="serviceAccount:${EDGE_SA}" \
      --role=roles/pubsub.publisher
  done
  for s in $SUBSCRIPTIONS; do  # worker: pull/ack its subscriptions
    g pubsub subscriptions add-iam-policy-binding "$s" --member="serviceAccount:${WORKER_SA}" \
      --role=roles/pubsub.subscriber
  done
  for t in $TOPICS; do      # worker: forwards poison messages to the dead-letter topics
    g pubsub topics add-iam-policy-binding "${t}-dead-letter" \
      --member="serviceAccount:${WORKER_SA}" --role=roles/pubsub.publisher
  done
  # worker: create-only writes to the bucket, and reads its objects back for scoring
  g storage buckets add-iam-policy-binding "gs://${BUCKET}" \
    --member="serviceAccount:${WORKER_SA}" --role=roles/storage.objectCreator
  g storage buckets add-iam-policy-binding "gs://${BUCKET}" \
    --member="serviceAccount:${WORKER_SA}" --role=roles/storage.objectViewer
  # dashboard: reads heatmap/scan objects
  g storage buckets add-iam-policy-binding "gs://${BUCKET}" \
    --member="serviceAccount:${DASH_SA}" --role=roles/storage.objectViewer
  # BigQuery: dataset-level roles via a dataset ACL; job creation at project level
  bq_grant WRITER "$WORKER_SA"
  bq_grant READER "$DASH_SA"
  for sa in "$WORKER_SA" "$DASH_SA"; do
    g projects add-iam-policy-binding "$PROJECT" --member="serviceAccount:${sa}" \
      --role=roles/bigquery.jobUser --condition=None
    g projects add-iam-policy-binding "$PROJECT" --member="serviceAccount:${sa}" \
      --role=roles/cloudsql.client --condition=None
  done
  for name in wheelwatch-sql-url wheelwatch-twilio-sid wheelwatch-twilio-token \
              wheelwatch-sendgrid-key; do
    g secrets add-iam-policy-binding "$name" --member="serviceAccount:${WORKER_SA}" \
      --role=roles/secretmanager.secretAccessor
  done
  for name in wheelwatch-sql-url wheelwatch-dashboard-secret wheelwatch-dashboard-users \
              wheelwatch-site-config; do
    g secrets add-iam-policy-binding "$name" --member="serviceAccount:${DASH_SA}" \
      --role=roles/secretmanager.secretAccessor
  done
  # GKE Workload Identity: the worker pods act as the worker account
  g iam service-accounts add-iam-policy-binding "$WORKER_SA" --role=roles/iam.workloadIdentityUser \
    --member="serviceAccount:${PROJECT}.svc.id.goog[wheelwatch/wheelwatch-worker]"
  # Pub/Sub's own agent forwards dead letters: publisher on DL topics, subscriber on subs
  local number agent
  number=$(gcloud projects describe "$PROJECT" --format='value(projectNumber)')
  agent="serviceAccount:service-${number}@gcp-sa-pubsub.iam.gserviceaccount.com"
  for t in $TOPICS; do
    g pubsub topics add-iam-policy-binding "${t}-dead-letter" --member="$agent" \
      --role=roles/pubsub.publisher
  done
  for s in $SUBSCRIPTIONS; do
    g pubsub subscriptions add-iam-policy-binding "$s" --member="$agent" \
      --role=roles/pubsub.subscriber
  done
}

bq_grant() {  # bq_grant READER|WRITER SA: add the account to the dataset's access list
  local tmp; tmp=$(mktemp)
  bq --project_id="$PROJECT" show --format=prettyjson "${PROJECT}:${DATASET}" > "$tmp"
  python3 - "$tmp" "$1" "$2" <<'PY'
import json, sys
path, role, email = sys.argv[1:]
ds = json.load(open(path))
entry = {"role": role, "userByEmail": email}
if entry not in ds["access"]:
    ds["access"].append(entry)
json.dump(ds, open(path, "w"))
PY
  bq --project_id="$PROJECT" update --source "$tmp" "${PROJECT}:${DATASET}"
  rm -f "$tmp"
}

step_dashboard() {
  local conn="${PROJECT}:${REGION}:${INSTANCE}"
  g run deploy wheelwatch-dashboard --image="$IMAGE" --region="$REGION" \
    --service-account="$DASH_SA" --add-cloudsql-instances="$conn" \
    --args=dashboard,--config,/etc/wheelwatch/site.toml,--host,0.0.0.0,--port,8080 \
    --port=8080 --min-instances=0 --max-instances=3 --allow-unauthenticated \
    --set-env-vars=WHEELWATCH__DASHBOARD__IMAGES_DIR=/tmp/scan_images \
    --set-secrets="/etc/wheelwatch/site.toml=wheelwatch-site-config:latest,/etc/wheelwatch-users/users=wheelwatch-dashboard-users:latest,WHEELWATCH_DASHBOARD_SECRET=wheelwatch-dashboard-secret:latest,WHEELWATCH__CLOUD__SQL_URL=wheelwatch-sql-url:latest"
  echo "the dashboard has its own sign-in; put it behind IAP for a second factor" >&2
}

step_workers() {
  sed -e "s|PROJECT|${PROJECT}|g" -e "s|REGION|${REGION}|g" -e "s|INSTANCE|${INSTANCE}|g" \
      -e "s|IMAGE|${IMAGE}|g" cloud/deploy/gke/worker.yaml > /tmp/wheelwatch-worker.yaml
  kubectl apply -f /tmp/wheelwatch-worker.yaml
  kubectl -n wheelwatch create configmap wheelwatch-site --from-file=site.toml="$CONFIG" \
    --dry-run=client -o yaml | kubectl apply -f -
}

step_edge_key() {
  # A key for the site PC (outside Google Cloud). Prefer Workload Identity Federation
  # where the site has an identity provider; otherwise keep this file 0600 on the PC.
  g iam service-accounts keys create edge-sa.json --iam-account="$EDGE_SA"
  echo "copy edge-sa.json to /etc/wheelwatch/edge-sa.json on the site PC, then delete it here" >&2
}

[ $# -gt 0 ] || { sed -n '2,8p' "$0"; exit 2; }
for step in "$@"; do "step_${step//-/_}"; done

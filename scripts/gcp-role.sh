#!/usr/bin/env bash
# Create a service account that may only read images, save a JSON key, and print the .updater.env lines.
#   scripts/gcp-role.sh --project P --registry europe-west1-docker.pkg.dev [--gcr] [--key-file PATH]
# Artifact Registry gets roles/artifactregistry.reader; with --gcr (gcr.io) roles/storage.objectViewer.
set -euo pipefail
# shellcheck source=scripts/role_common.sh
. "$(dirname "$0")/role_common.sh"

project=""; registry=""; name="docker-image-updater"; gcr=0; key_file=""
while [ "$#" -gt 0 ]; do
  case "$1" in
    --project) project="$2"; shift 2 ;;
    --registry) registry="$2"; shift 2 ;;
    --name) name="$2"; shift 2 ;;
    --gcr) gcr=1; shift ;;
    --key-file) key_file="$2"; shift 2 ;;
    *) die "unknown argument $1" ;;
  esac
done
need gcloud "install the Google Cloud CLI (https://cloud.google.com/sdk/docs/install) and run 'gcloud auth login'"
[ -n "$project" ] || die "--project is required"
[ -n "$registry" ] || die "--registry is required (e.g. europe-west1-docker.pkg.dev or gcr.io)"
account="${name}@${project}.iam.gserviceaccount.com"
key_file="${key_file:-$PWD/${name}-${project}.json}"
role="roles/artifactregistry.reader"
[ "$gcr" -eq 0 ] || role="roles/storage.objectViewer"

if ! gcloud iam service-accounts describe "$account" --project "$project" >/dev/null 2>&1; then
  gcloud iam service-accounts create "$name" --project "$project" --display-name "Docker Image Updater (read-only)" \
    || die "cannot create $account: you need iam.serviceAccounts.create on $project"
fi
gcloud projects add-iam-policy-binding "$project" --member "serviceAccount:$account" --role "$role" \
  --condition None >/dev/null || die "cannot grant $role: you need resourcemanager.projects.setIamPolicy on $project"
( umask 077; gcloud iam service-accounts keys create "$key_file" --iam-account "$account" --project "$project" ) \
  || die "cannot create a key for $account (organisation policy may forbid keys)"

emit GCP_PROJECT "$project"
emit GCP_REGISTRY_URL "$registry"
emit GCP_SERVICE_ACCOUNT_JSON "$key_file"

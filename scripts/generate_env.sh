#!/usr/bin/env bash
# Write a ready .updater.env for the registries your running containers use.
#
# Interactive:      scripts/generate_env.sh
# Non-interactive:  scripts/generate_env.sh --provider ecr --provider dockerhub --dockerhub private \
#                     --set DOCKERHUB_USERNAME=me --non-interactive [--output PATH]
#   Credentials may also come from the environment under the same names (AWS_ROLE_ARN, DO_TOKEN, ...).
#
# Providers: ecr acr gcp harbor swr docr dockerhub. Only running containers whose images live on the chosen
# registry are scanned; account IDs, regions, projects and namespaces are read from their image references.
# The file is written with mode 0600. A re-run keeps every value already in the file (credentials included);
# --set overrides one.
set -euo pipefail

PROVIDERS=(ecr acr gcp harbor swr docr dockerhub)
LABELS=("AWS ECR" "Azure ACR" "Google Artifact Registry / GCR" "Harbor" "Huawei Cloud SWR" "DigitalOcean DOCR" "Docker Hub")
output=".updater.env"
interactive=1
dockerhub_mode=""
chosen=()
declare -A overrides=()
declare -A values=()
declare -A existing=()
order=()

die() { echo "generate_env: $*" >&2; exit 1; }

usage() {
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}

while [ "$#" -gt 0 ]; do
  case "$1" in
    --provider) [ "$#" -ge 2 ] || die "--provider needs a value"; chosen+=("$2"); shift 2 ;;
    --dockerhub) [ "$#" -ge 2 ] || die "--dockerhub needs public, private or both"; dockerhub_mode="$2"; shift 2 ;;
    --output) [ "$#" -ge 2 ] || die "--output needs a path"; output="$2"; shift 2 ;;
    --set)
      if [ "$#" -lt 2 ] || [[ "$2" != *=* ]]; then die "--set needs KEY=VALUE"; fi
      overrides["${2%%=*}"]="${2#*=}"; shift 2 ;;
    --non-interactive) interactive=0; shift ;;
    -h|--help) usage 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done

for provider in "${chosen[@]}"; do
  [[ " ${PROVIDERS[*]} " == *" $provider "* ]] || die "unknown provider $provider (one of: ${PROVIDERS[*]})"
done
case "$dockerhub_mode" in ""|public|private|both) ;; *) die "--dockerhub must be public, private or both" ;; esac

# --- the existing file: every line is kept, values already set win over what this run detects ---------
if [ -f "$output" ]; then
  while IFS= read -r line || [ -n "$line" ]; do
    [[ "$line" =~ ^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || continue
    key="${BASH_REMATCH[2]}"; value="${BASH_REMATCH[3]}"
    if [[ "$value" =~ ^\"(.*)\"$ ]] || [[ "$value" =~ ^\'(.*)\'$ ]]; then value="${BASH_REMATCH[1]}"; fi
    existing["$key"]="$value"
    values["$key"]="$value"
    order+=("$key")
  done < "$output"
fi

# set KEY VALUE: a value this run found; never replaces one already in the file (unless --set).
set_value() {
  local key="$1" value="$2"
  [ -n "$value" ] || return 0
  if [ -n "${existing[$key]:-}" ]; then return 0; fi
  [ -n "${values[$key]+x}" ] || order+=("$key")
  values["$key"]="$value"
}

# ask KEY PROMPT [secret]: from --set, the file, the environment, or (interactive) the keyboard.
ask() {
  local key="$1" prompt="$2" secret="${3:-}" answer=""
  if [ -n "${values[$key]:-}" ]; then return 0; fi
  if [ -n "${!key:-}" ]; then set_value "$key" "${!key}"; return 0; fi
  if [ "$interactive" -eq 1 ]; then
    if [ -n "$secret" ]; then read -r -s -p "$prompt: " answer; echo; else read -r -p "$prompt: " answer; fi
    set_value "$key" "$answer"
  fi
}

# --- choose providers -------------------------------------------------------------------------------
if [ "${#chosen[@]}" -eq 0 ]; then
  [ "$interactive" -eq 1 ] || die "no --provider given (one or more of: ${PROVIDERS[*]})"
  echo "Which registries do your containers pull from?"
  for i in "${!PROVIDERS[@]}"; do printf '  %d) %s\n' "$((i + 1))" "${LABELS[$i]}"; done
  read -r -p "Numbers, separated by spaces: " picks
  for pick in $picks; do
    [[ "$pick" =~ ^[1-7]$ ]] || die "not a choice: $pick"
    chosen+=("${PROVIDERS[$((pick - 1))]}")
  done
  [ "${#chosen[@]}" -gt 0 ] || die "nothing chosen"
fi
if [[ " ${chosen[*]} " == *" dockerhub "* ]] && [ -z "$dockerhub_mode" ]; then
  if [ "$interactive" -eq 1 ]; then
    read -r -p "Docker Hub: 1) Public images only  2) Private  3) Both [3]: " pick
    case "${pick:-3}" in 1) dockerhub_mode=public ;; 2) dockerhub_mode=private ;; *) dockerhub_mode=both ;; esac
  else
    dockerhub_mode=both
  fi
fi

# --- scan the running containers --------------------------------------------------------------------
command -v docker >/dev/null 2>&1 || die "docker is not installed or not on PATH"
images=$(docker ps --format '{{.Image}}' | sort -u) || die "cannot list containers: is the Docker engine running and may you use it?"

# matching REGEX: the images of running containers that match (one per line).
matching() { printf '%s\n' "$images" | grep -E "$1" || true; }
distinct() { sed -E "$1" | sort -u | paste -sd, -; }
report() { printf '%s: %s\n' "$1" "${2:-no running containers use it}" >&2; }

for provider in "${chosen[@]}"; do
  case "$provider" in
    ecr)
      found=$(matching '^[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/')
      report "AWS ECR" "$(printf '%s' "$found" | paste -sd' ' -)"
      set_value ECR_REGISTRY "$(printf '%s\n' "$found" | distinct 's#/.*##')"
      set_value AWS_REGION "$(printf '%s\n' "$found" | distinct 's#^[0-9]{12}\.dkr\.ecr\.([a-z0-9-]+)\..*#\1#' | cut -d, -f1)"
      ask AWS_ROLE_ARN "IAM role ARN to assume (blank: access key or the host's role)"
      if [ -z "${values[AWS_ROLE_ARN]:-}" ]; then
        ask AWS_ACCESS_KEY_ID "AWS access key ID (blank: the host's instance role)"
        [ -z "${values[AWS_ACCESS_KEY_ID]:-}" ] || ask AWS_SECRET_ACCESS_KEY "AWS secret access key" secret
      fi ;;
    acr)
      found=$(matching '^[a-z0-9]+\.azurecr\.io/')
      report "Azure ACR" "$(printf '%s' "$found" | paste -sd' ' -)"
      set_value AZURE_REGISTRY "$(printf '%s\n' "$found" | distinct 's#\.azurecr\.io/.*##' | cut -d, -f1)"
      ask AZURE_REGISTRY "ACR registry name"
      ask AZURE_TENANT_ID "Tenant ID (blank for the admin user)"
      ask AZURE_CLIENT_ID "Service principal client ID (or the admin user name)"
      ask AZURE_CLIENT_SECRET "Client secret (or the admin password)" secret ;;
    gcp)
      found=$(matching '^([a-z0-9-]+-docker\.pkg\.dev|((eu|us|asia)\.)?gcr\.io)/')
      report "Google" "$(printf '%s' "$found" | paste -sd' ' -)"
      set_value GCP_REGISTRY_URL "$(printf '%s\n' "$found" | distinct 's#/.*##' | cut -d, -f1)"
      set_value GCP_PROJECT "$(printf '%s\n' "$found" | distinct 's#^[^/]+/([^/]+)/.*#\1#' | cut -d, -f1)"
      ask GCP_REGISTRY_URL "Registry host (e.g. europe-west1-docker.pkg.dev)"
      ask GCP_SERVICE_ACCOUNT_JSON "Path to the service-account JSON key (scripts/gcp-role.sh makes one)" ;;
    harbor)
      ask HARBOR_URL "Harbor URL (e.g. https://harbor.example.com)"
      host="${values[HARBOR_URL]:-}"; host="${host#*://}"; host="${host%%/*}"
      if [ -n "$host" ]; then
        found=$(matching "^${host//./\\.}/")
        report "Harbor" "$(printf '%s' "$found" | paste -sd' ' -)"
        report "Harbor projects" "$(printf '%s\n' "$found" | distinct 's#^[^/]+/([^/]+)/.*#\1#')"
      fi
      ask HARBOR_USERNAME "Harbor user or robot account (robot\$project+name)"
      ask HARBOR_PASSWORD "Password or robot secret" secret ;;
    swr)
      found=$(matching '^swr\.[a-z0-9-]+\.myhuaweicloud\.(com|eu)/')
      report "Huawei SWR" "$(printf '%s' "$found" | paste -sd' ' -)"
      set_value SWR_REGION "$(printf '%s\n' "$found" | distinct 's#^swr\.([a-z0-9-]+)\..*#\1#' | cut -d, -f1)"
      set_value SWR_ORGANIZATION "$(printf '%s\n' "$found" | distinct 's#^[^/]+/([^/]+)/.*#\1#' | cut -d, -f1)"
      ask SWR_REGION "SWR region (e.g. cn-north-4)"
      ask SWR_ACCESS_KEY "Access key (AK)"
      ask SWR_SECRET_KEY "Secret key (SK)" secret ;;
    docr)
      found=$(matching '^registry\.digitalocean\.com/')
      report "DigitalOcean" "$(printf '%s' "$found" | paste -sd' ' -)"
      set_value DO_REGISTRY "$(printf '%s\n' "$found" | distinct 's#^[^/]+/([^/]+)/.*#\1#' | cut -d, -f1)"
      ask DO_TOKEN "DigitalOcean API token (read access)" secret ;;
    dockerhub)
      # Docker Hub images name no registry (`nginx`, `me/app`) or docker.io.
      found=$(printf '%s\n' "$images" | grep -Ev '^[^/]*[.:][^/]*/|^localhost/|^[0-9a-f]{12,64}$' | grep -v '^$' || true)
      report "Docker Hub" "$(printf '%s' "$found" | paste -sd' ' -)"
      if [ "$dockerhub_mode" != public ]; then
        ask DOCKERHUB_USERNAME "Docker Hub user name"
        ask DOCKERHUB_TOKEN "Docker Hub personal access token (read-only)" secret
      fi ;;
  esac
done

for key in "${!overrides[@]}"; do
  [ -n "${values[$key]+x}" ] || order+=("$key")
  values["$key"]="${overrides[$key]}"
done

# --- write it, 0600, atomically -----------------------------------------------------------------------
umask 077
directory=$(dirname "$output")
temporary=$(mktemp "$directory/.updater.env.XXXXXX")
trap 'rm -f "$temporary"' EXIT
{
  echo "# Docker Image Updater configuration (scripts/generate_env.sh). Keep it private: mode 0600."
  declare -A written=()
  for key in "${order[@]}"; do
    [ -z "${written[$key]:-}" ] || continue
    written["$key"]=1
    printf '%s=%s\n' "$key" "${values[$key]}"
  done
} > "$temporary"
chmod 600 "$temporary"
mv "$temporary" "$output"
trap - EXIT
echo "wrote $output (mode 0600)" >&2

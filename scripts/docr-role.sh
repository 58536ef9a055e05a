#!/usr/bin/env bash
# Check a DigitalOcean API token against the registry API, log Docker in to registry.digitalocean.com, and print
# the .updater.env lines. Create a token with read scope for the registry in the control panel (API > Tokens).
#   DO_TOKEN=... scripts/docr-role.sh
set -euo pipefail
# shellcheck source=scripts/role_common.sh
. "$(dirname "$0")/role_common.sh"

API="${DO_API_URL:-https://api.digitalocean.com}"
[ "$#" -eq 0 ] || die "no arguments: the token comes from DO_TOKEN or the keyboard"
need curl "install curl (apt-get install curl)"
need jq "install jq (apt-get install jq)"
need docker "install Docker (https://docs.docker.com/engine/install/)"
secret DO_TOKEN "DigitalOcean API token"

answer=$(printf 'header = "Authorization: Bearer %s"\n' "$DO_TOKEN" \
  | curl --silent --show-error --fail-with-body --config - "$API/v2/registry") \
  || die "the token was refused or has no registry read scope"
registry=$(jq -er .registry.name <<<"$answer") || die "this account has no container registry"
# DOCR takes the token as user name too, as `doctl registry login` writes it.
printf '%s' "$DO_TOKEN" | docker login --username "$DO_TOKEN" --password-stdin registry.digitalocean.com >/dev/null \
  || die "registry.digitalocean.com refused the token"

emit DO_REGISTRY "$registry"
emit DO_TOKEN "$DO_TOKEN"

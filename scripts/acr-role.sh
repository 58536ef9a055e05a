#!/usr/bin/env bash
# Create a service principal with AcrPull on one registry (read-only) and print the .updater.env lines.
#   scripts/acr-role.sh --registry myregistry [--name docker-image-updater-acr-pull]
set -euo pipefail
# shellcheck source=scripts/role_common.sh
. "$(dirname "$0")/role_common.sh"

registry=""; name="docker-image-updater-acr-pull"
while [ "$#" -gt 0 ]; do
  case "$1" in
    --registry) registry="$2"; shift 2 ;;
    --name) name="$2"; shift 2 ;;
    *) die "unknown argument $1" ;;
  esac
done
need az "install the Azure CLI (https://learn.microsoft.com/cli/azure/install-azure-cli) and run 'az login'"
[ -n "$registry" ] || die "--registry is required (the ACR name, without .azurecr.io)"
registry="${registry%.azurecr.io}"

scope=$(az acr show --name "$registry" --query id --output tsv) \
  || die "registry $registry not found, or 'az login' is needed"
created=$(az ad sp create-for-rbac --name "$name" --role AcrPull --scopes "$scope" \
  --query "[appId, password, tenant]" --output tsv) \
  || die "cannot create the service principal: you need rights to create apps and assign roles on $registry"
read -r app_id password tenant <<<"$(printf '%s' "$created" | tr '\n\t' '  ')"
[ -n "$password" ] || die "az did not return a client secret"

emit AZURE_REGISTRY "${registry}.azurecr.io"
emit AZURE_TENANT_ID "$tenant"
emit AZURE_CLIENT_ID "$app_id"
emit AZURE_CLIENT_SECRET "$password"

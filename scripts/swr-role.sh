#!/usr/bin/env bash
# Check an SWR access key pair: derive the long-term login key as SWR documents (hex HMAC-SHA256 of the AK,
# keyed with the SK), log Docker in with it, and print the .updater.env lines.
#   SWR_ACCESS_KEY=... SWR_SECRET_KEY=... scripts/swr-role.sh --region cn-north-4 [--organization apps]
# Use the AK/SK of an IAM user with SWR read-only permission (SWR ReadOnlyAccess).
set -euo pipefail
# shellcheck source=scripts/role_common.sh
. "$(dirname "$0")/role_common.sh"

region=""; organization=""
while [ "$#" -gt 0 ]; do
  case "$1" in
    --region) region="$2"; shift 2 ;;
    --organization) organization="$2"; shift 2 ;;
    *) die "unknown argument $1" ;;
  esac
done
need docker "install Docker (https://docs.docker.com/engine/install/)"
need openssl "install openssl (apt-get install openssl)"
[ -n "$region" ] || die "--region is required (e.g. cn-north-4)"
secret SWR_ACCESS_KEY "Access key (AK)"
secret SWR_SECRET_KEY "Secret key (SK)"
tld="com"; [ "$region" != "eu-west-101" ] || tld="eu"
host="swr.${region}.myhuaweicloud.${tld}"

login_key=$(printf '%s' "$SWR_ACCESS_KEY" | openssl dgst -sha256 -hmac "$SWR_SECRET_KEY" | sed 's/^.*= //')
printf '%s' "$login_key" | docker login --username "${region}@${SWR_ACCESS_KEY}" --password-stdin "$host" >/dev/null \
  || die "$host refused the login key: check the AK/SK pair and the region"

emit SWR_REGION "$region"
[ -z "$organization" ] || emit SWR_ORGANIZATION "$organization"
emit SWR_ACCESS_KEY "$SWR_ACCESS_KEY"
emit SWR_SECRET_KEY "$SWR_SECRET_KEY"

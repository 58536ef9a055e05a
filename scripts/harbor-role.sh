#!/usr/bin/env bash
# Create a project-scoped Harbor robot account that may only pull and list, and print the .updater.env lines.
#   HARBOR_ADMIN_PASSWORD=... scripts/harbor-role.sh --url https://harbor.example.com --project apps \
#     [--admin-user admin] [--name updater]
# Credentials go to curl on stdin (--config -), never on its command line.
set -euo pipefail
# shellcheck source=scripts/role_common.sh
. "$(dirname "$0")/role_common.sh"

url=""; project=""; admin="admin"; name="updater"
while [ "$#" -gt 0 ]; do
  case "$1" in
    --url) url="${2%/}"; shift 2 ;;
    --project) project="$2"; shift 2 ;;
    --admin-user) admin="$2"; shift 2 ;;
    --name) name="$2"; shift 2 ;;
    *) die "unknown argument $1" ;;
  esac
done
need curl "install curl (apt-get install curl)"
need jq "install jq (apt-get install jq)"
if [ -z "$url" ] || [ -z "$project" ]; then die "--url and --project are required"; fi
secret HARBOR_ADMIN_PASSWORD "Password of Harbor user $admin"

# harbor USER PASSWORD METHOD PATH [BODY]: one API call; prints the body, fails on a non-2xx answer.
harbor() {
  local user="$1" password="$2" method="$3" path="$4" body="${5:-}" credentials
  credentials="${user}:${password}"
  credentials="${credentials//\\/\\\\}"; credentials="${credentials//\"/\\\"}"  # curl config quoting
  printf 'user = "%s"\n' "$credentials" | curl --silent --show-error --fail-with-body --config - \
    --request "$method" --header "Content-Type: application/json" ${body:+--data "$body"} "$url/api/v2.0$path"
}

harbor "$admin" "$HARBOR_ADMIN_PASSWORD" GET "/projects/$project" >/dev/null \
  || die "project $project not found, or $admin may not see it"
request=$(jq -cn --arg name "$name" --arg project "$project" '{
  name: $name, duration: -1, level: "project", description: "Docker Image Updater (read-only)",
  permissions: [{kind: "project", namespace: $project, access: [
    {resource: "repository", action: "pull"}, {resource: "repository", action: "list"},
    {resource: "artifact", action: "list"}, {resource: "artifact", action: "read"},
    {resource: "tag", action: "list"}]}]}')
created=$(harbor "$admin" "$HARBOR_ADMIN_PASSWORD" POST /robots "$request") \
  || die "cannot create the robot: $admin needs project-admin rights on $project"
robot=$(jq -er .name <<<"$created") || die "Harbor did not return the robot's name"
robot_secret=$(jq -er .secret <<<"$created") || die "Harbor did not return the robot's secret"
harbor "$robot" "$robot_secret" GET "/projects/$project/repositories?page_size=1" >/dev/null \
  || die "the new robot cannot list $project's repositories"

emit HARBOR_URL "$url"
emit HARBOR_USERNAME "$robot"
emit HARBOR_PASSWORD "$robot_secret"

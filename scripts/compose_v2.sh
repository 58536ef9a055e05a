#!/usr/bin/env bash
# Print the path of a Compose v2 binary for the tests, fetching it once into .cache/ if needed.
# Debian bookworm only ships Compose v1 (docker-compose 1.29); the Go binary of Debian trixie's
# docker-compose 2.x package runs on bookworm, so the suite tests both against the real engine.
set -euo pipefail
cd "$(dirname "$0")/.."
target=.cache/compose-v2/docker-compose
if [ -x "$target" ] && "$target" version --short >/dev/null 2>&1; then
  echo "$PWD/$target"
  exit 0
fi
apt_dir=$(mktemp -d /tmp/updater-apt.XXXXXX)
trap 'rm -rf "$apt_dir"' EXIT
mkdir -p "$apt_dir/state/lists/partial" "$apt_dir/cache/archives/partial" "$(dirname "$target")"
echo "deb http://deb.debian.org/debian trixie main" > "$apt_dir/sources.list"
apt_options=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o "Dir::Etc::sourceparts=-"
  -o "Dir::State=$apt_dir/state" -o "Dir::Cache=$apt_dir/cache" -o "APT::Sandbox::User=root")
apt-get "${apt_options[@]}" update -qq >&2
(cd "$apt_dir" && apt-get "${apt_options[@]}" download docker-compose >&2)
dpkg-deb -x "$apt_dir"/docker-compose_*.deb "$apt_dir/root"
cp "$apt_dir/root/usr/libexec/docker/cli-plugins/docker-compose" "$target"
"$target" version --short >&2
echo "$PWD/$target"

#!/usr/bin/env bash
# Build the updater's own image with no container registry: the base is a Debian bookworm rootfs made by
# scripts/build_rootfs.sh (debootstrap, Debian's packages, cached in .cache/rootfs/) and imported FROM
# scratch; the Python wheels are downloaded on this machine (cached in .cache/image-wheels/) and Compose v2
# is the binary of Debian's package (scripts/compose_v2.sh). Then compose/Dockerfile builds on that base.
#
# Usage: scripts/build_image.sh [--tag docker-image-updater:local] [--label KEY=VALUE]
# Prints the image tag. Needs root (debootstrap), Docker and .venv (scripts/bootstrap.sh base).
set -euo pipefail
cd "$(dirname "$0")/.."

tag=docker-image-updater:local
labels=()
import_changes=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    --tag) tag=$2; shift 2 ;;
    --label) labels+=(--label "$2"); import_changes+=(--change "LABEL $2"); shift 2 ;;
    *) echo "build_image.sh: unknown option $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
say() { echo "build_image.sh: $*" >&2; }

# The base: the same minimal rootfs the fresh-machine test uses (Python 3.11 only), so one cache serves both.
rootfs=$(scripts/build_rootfs.sh --packages python3 | tail -n 1)
base="docker-image-updater-base:$(basename "$rootfs" .tar | tail -c 17)"
if ! docker image inspect "$base" >/dev/null 2>&1; then
  say "importing $(basename "$rootfs") as $base"
  docker import "${import_changes[@]}" "$rootfs" "$base" >/dev/null
fi

# The wheels for the image's Python: bookworm's 3.11.2, the host's Python being a 3.11 too. Markers on
# the full version are evaluated for the host, so what 3.11.2 needs more is named here (redis: async-timeout).
mkdir -p .cache/image-wheels
.venv/bin/python -m pip download -q --only-binary=:all: -d .cache/image-wheels -r requirements/base.txt pip \
  "async-timeout>=4.0.3"

context=$(mktemp -d /tmp/updater-image.XXXXXX)
trap 'rm -rf "$context"' EXIT
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' name; do
  [ -f "$name" ] || continue
  mkdir -p "$context/$(dirname "$name")"
  cp -p "$name" "$context/$name"
done
mkdir -p "$context/compose/context/wheels"
cp .cache/image-wheels/*.whl "$context/compose/context/wheels/"
cp "$(scripts/compose_v2.sh)" "$context/compose/context/docker-compose"

say "building $tag on $base"
docker build -q --network host --build-arg "BASE=$base" "${labels[@]}" -f "$context/compose/Dockerfile" \
  -t "$tag" "$context" >/dev/null
echo "$tag"

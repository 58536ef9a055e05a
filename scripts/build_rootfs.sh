#!/usr/bin/env bash
# Build a Debian root filesystem with debootstrap, once, and print the path of its tarball.
# The tarball is cached in .cache/rootfs/ under a hash of this script and its options, so a second
# call with the same options prints the same path at once. Turn it into an image with e.g.
#   docker import --change 'CMD ["/bin/bash"]' "$(scripts/build_rootfs.sh)" my-debian:bookworm
#
# Usage: scripts/build_rootfs.sh [--suite bookworm] [--variant minbase]
#                                [--packages python3,docker.io,docker-compose] [--mirror URL]
# --packages: comma-separated Debian packages added to the base system (dependencies resolved).
# The default gives Python 3.11, the Docker CLI (and engine) and Compose v1. Needs root and debootstrap.
set -euo pipefail
cd "$(dirname "$0")/.."

suite=bookworm
variant=minbase
packages=python3,docker.io,docker-compose
mirror=http://deb.debian.org/debian
while [ "$#" -gt 0 ]; do
  case "$1" in
    --suite) suite=$2; shift 2 ;;
    --variant) variant=$2; shift 2 ;;
    --packages) packages=$2; shift 2 ;;
    --mirror) mirror=$2; shift 2 ;;
    *) echo "build_rootfs.sh: unknown option $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done

if ! command -v debootstrap >/dev/null 2>&1; then
  echo "build_rootfs.sh: debootstrap is required (Debian/Ubuntu: apt-get install debootstrap)" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "build_rootfs.sh: debootstrap needs root" >&2
  exit 1
fi

key=$( (printf '%s\n' "$suite" "$variant" "$packages" "$mirror"; cat "$0") | sha256sum | cut -c1-16)
mkdir -p .cache/rootfs .cache/debootstrap-debs
out="$PWD/.cache/rootfs/$suite-$variant-$key.tar"
exec 9>.cache/rootfs/.lock
flock 9  # one build at a time; a second caller waits and then finds the tarball
if [ -s "$out" ]; then
  echo "$out"
  exit 0
fi

work=$(mktemp -d /tmp/updater-rootfs.XXXXXX)
trap 'rm -rf "$work"' EXIT
started=$SECONDS
if ! debootstrap --variant="$variant" --include="$packages" --cache-dir="$PWD/.cache/debootstrap-debs" \
  "$suite" "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1; then
  tail -n 40 "$work/debootstrap.log" >&2
  echo "build_rootfs.sh: debootstrap failed (log above)" >&2
  exit 1
fi
# A fresh machine has no package cache; `apt-get update` fetches the lists again.
rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"*
tar --numeric-owner -C "$work/root" -cf "$out.partial" .
mv "$out.partial" "$out"
echo "build_rootfs.sh: built $(basename "$out") in $((SECONDS - started)) s" >&2
echo "$out"

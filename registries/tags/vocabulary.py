"""Words that decide how a tag is read: prerelease markers, base-image variants, per-branch names.

Kept apart from the parser so a new word is a one-line change with no regex to edit. All words are
lower case; the parser compares case-insensitively.
"""

from __future__ import annotations

import re

# A prerelease written as its own dash-separated piece: `1.2.3-rc.1`, `2.0.0-beta`, `3.8.3-SNAPSHOT`,
# `21-ea-17`. `dev` counts only with a number (`-dev.5`): a bare `-dev` is a variant in practice
# (Chainguard's `latest-dev`, images with a shell and tools), and reading a variant as a prerelease
# would let the service leave its variant when the "final" release appears.
PRERELEASE_SEGMENT_RE = re.compile(
    r"^(?:(?P<word>alpha|beta|rc|cr|pre|preview|snapshot|canary|nightly|ea|milestone)[._]?(?P<num>\d*)"
    r"|(?P<short>a|b|m|dev)[._]?(?P<short_num>\d+))$",
    re.IGNORECASE,
)

# Where a prerelease sorts: dev builds, then alpha, beta, previews, release candidates, then the release.
PRERELEASE_RANK = {
    "dev": 0,
    "snapshot": 0,
    "nightly": 0,
    "canary": 0,
    "a": 1,
    "alpha": 1,
    "b": 2,
    "beta": 2,
    "pre": 3,
    "preview": 3,
    "ea": 3,
    "m": 3,
    "milestone": 3,
    "c": 4,
    "rc": 4,
    "cr": 4,
}
FINAL_RANK = 5

# A word that, followed by a version, names a base image or runtime rather than a release line:
# `debian-11`, `nanoserver-1809`, `ubuntu-22.04`, `node-20`. Such tags move with their base (they are
# floating), and `debian-11` → `debian-12` is a change of variant, never an update.
VARIANT_WORDS = frozenset(
    {
        "alpine",
        "debian",
        "ubuntu",
        "bookworm",
        "bullseye",
        "buster",
        "trixie",
        "jammy",
        "noble",
        "focal",
        "nanoserver",
        "windowsservercore",
        "servercore",
        "windows",
        "ltsc",
        "ubi",
        "ubi8",
        "ubi9",
        "rhel",
        "centos",
        "rocky",
        "rockylinux",
        "almalinux",
        "fedora",
        "amazonlinux",
        "opensuse",
        "busybox",
        "distroless",
        "python",
        "py",
        "node",
        "nodejs",
        "php",
        "java",
        "jdk",
        "jre",
        "openjdk",
        "temurin",
        "go",
        "golang",
        "ruby",
        "dotnet",
        "cuda",
        "cudnn",
        "pg",
        "postgres",
        "postgresql",
        "mysql",
        "mariadb",
        "perl",
        "rust",
        "gcc",
        "llvm",
        "clang",
    }
)

# Words whose number identifies a separate line of work, not a newer build: `pr-123` and `pr-456` are
# two pull requests, so a service on one must never "update" to the other.
PER_BRANCH_WORDS = frozenset({"pr", "mr", "pull", "merge", "issue", "ticket", "review", "feature", "branch"})

# Prefixes that announce a commit hash, so an all-digit hash after them is still a hash (`sha-1234567`).
SHA_PREFIXES = frozenset({"sha", "git", "commit", "g"})

#!/usr/bin/env bash
# Shared by the *-role.sh scripts (sourced, not run): fail early and clearly, print KEY=VALUE lines.
# shellcheck shell=bash

die() { echo "${0##*/}: $*" >&2; exit 1; }

# need TOOL HINT...: stop at once, naming the tool and how to get it.
need() {
  local tool="$1"; shift
  command -v "$tool" >/dev/null 2>&1 || die "$tool is required but not installed: $*"
}

# secret VAR PROMPT: a secret from the environment or typed without echo (never from argv).
secret() {
  local name="$1" prompt="$2" value="${!1:-}"
  if [ -z "$value" ]; then
    [ -t 0 ] || die "$name is not set (export it, or run interactively to type it)"
    read -r -s -p "$prompt: " value; echo >&2
  fi
  [ -n "$value" ] || die "$name is empty"
  printf -v "$name" '%s' "$value"
}

emit() { printf '%s=%s\n' "$1" "$2"; }

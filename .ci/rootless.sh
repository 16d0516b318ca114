#!/usr/bin/env bash
# Runs the command given as arguments as an unprivileged user with
# subordinate uid/gid ranges (rootless is lading's default case, so the exec
# tests run again this way in CI). Creates the user and its ranges when
# missing; needs root. The user gets a fresh writable TMPDIR and a fresh
# private XDG_RUNTIME_DIR (mode 0700, as a login session would give).
#   bash .ci/rootless.sh node --test dist/test/exec/
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "rootless.sh: run as root (it creates the user lading-ci)" >&2; exit 1; }
[ $# -gt 0 ] || { echo "usage: rootless.sh COMMAND [ARGS...]" >&2; exit 2; }
USER_NAME="${LADING_CI_USER:-lading-ci}"
if ! id -u "$USER_NAME" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash "$USER_NAME"
fi
# 65536 ids each, placed after any range already handed out.
for f in /etc/subuid /etc/subgid; do
  touch "$f"
  if ! grep -q "^$USER_NAME:" "$f"; then
    start=$(awk -F: 'BEGIN{m=100000} {e=$2+$3; if (e>m) m=e} END{print m}' "$f")
    echo "$USER_NAME:$start:65536" >> "$f"
  fi
done
home=$(getent passwd "$USER_NAME" | cut -d: -f6)
work=$(mktemp -d /var/tmp/lading-ci.XXXXXX)
chown "$USER_NAME:" "$work"
runtime_dir="$work/xdg-runtime"
install -d -m 0700 -o "$USER_NAME" -g "$(id -gn "$USER_NAME")" "$runtime_dir"
trap 'rm -rf "$work" 2>/dev/null || true' EXIT
# The repo must be readable by the user (it usually is: 755 dirs, 644 files).
cd "$(dirname "$0")/.."
status=0
# setpriv switches ids and supplementary groups; --reset-env drops the whole
# environment, so everything the command needs is set after it, by env.
setpriv --reuid="$USER_NAME" --regid="$USER_NAME" --init-groups --reset-env -- \
  env HOME="$home" TMPDIR="$work" LADING_TEST_TMP="$work" XDG_RUNTIME_DIR="$runtime_dir" PATH="$PATH" USER="$USER_NAME" \
      ${LADING_RUNTIME:+LADING_RUNTIME="$LADING_RUNTIME"} ${LADING_TEST_DEBIAN:+LADING_TEST_DEBIAN="$LADING_TEST_DEBIAN"} ${CI:+CI="$CI"} \
      "$@" || status=$?
exit $status

#!/usr/bin/env bash
# Installs the system tools lading and its test suite use, from Debian's
# packages. Needs root (apt-get); safe to run again (skips what is there).
set -euo pipefail
PKGS=(runc crun tini podman buildah skopeo umoci oci-image-tool docker-registry busybox-static uidmap git
      debootstrap zstd xz-utils bzip2 openssl ca-certificates iproute2 util-linux procps hyperfine time attr
      g++ make python3)  # the last three: npm ci builds the native deflate (node-gyp)
PKGS+=(lighttpd openssh-server openssh-client)  # git source tests: git http-backend behind lighttpd, sshd with git-shell
PKGS+=(chromium)  # test/telemetry: the trace page opened in a real headless browser
PKGS+=(strace)  # test/api/host-read-once: which context files a build opens
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]}; run this script as root (it uses apt-get)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<18)) { console.error("lading needs Node >= 20.18, this is "+process.version); process.exit(1) }'

#!/usr/bin/env bash
# Installs the system tools lading and its test suite use, from Debian's
# packages. Needs root (apt-get); safe to run again (skips what is there).
set -euo pipefail
PKGS=(runc crun tini podman buildah skopeo umoci oci-image-tool docker-registry busybox-static uidmap git
      debootstrap zstd xz-utils bzip2 openssl ca-certificates iproute2 util-linux procps hyperfine time attr
      g++ make python3)  # the last three: npm ci builds the native addons (node-gyp)
PKGS+=(lighttpd openssh-server openssh-client)  # git source tests: git http-backend behind lighttpd, sshd with git-shell
PKGS+=(chromium)  # test/telemetry: the trace page opened in a real headless browser
PKGS+=(strace)  # test/api/host-read-once: which context files a build opens
PKGS+=(qemu-user-static binfmt-support)  # RUN for a foreign platform (--platform linux/arm64): qemu through binfmt_misc, F flag
PKGS+=(slirp4netns)  # services: the session network's way out (outbound.ts), rootless, no host-wide change
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
# Multi-platform RUN: the kernel must know qemu's handlers. The packages register them only where
# binfmt_misc is mounted and their service may start (not in a container or a chroot), so: mount it, and
# register (update-binfmts --enable is a no-op for what is registered already). qemu-user-static's
# entries carry the F flag, so they work in containers and user namespaces (rootless) too.
if [ "$(id -u)" = 0 ]; then
  { [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc; } &&
    update-binfmts --enable ||
    echo "setup: could not register qemu with binfmt_misc (a container without the right?); RUN for other platforms will fail" >&2
fi
# slirp4netns opens /dev/net/tun inside lading's user namespace, as an ordinary user: Debian's udev
# makes it mode 0666 (50-udev-default.rules); a machine without udev (a VM, a container) leaves the
# kernel's 0600, so the same mode is given here. Access to the device only lets a user make tap devices
# in namespaces of their own.
if [ "$(id -u)" = 0 ] && [ -c /dev/net/tun ] && [ "$(stat -c %a /dev/net/tun)" != 666 ]; then
  chmod 0666 /dev/net/tun
fi
# The multi-platform tests' base: busybox-static of the other of amd64/arm64, as a .deb in .cache/debs
# (tests use no network but loopback). apt-get download needs that architecture in apt's lists.
native=$(dpkg --print-architecture)
foreign=$([ "$native" = arm64 ] && echo amd64 || echo arm64)
debs="$(cd "$(dirname "$0")/.." && pwd)/.cache/debs"
if [ "$(id -u)" = 0 ] && ! ls "$debs"/busybox-static_*_"$foreign".deb >/dev/null 2>&1; then
  if ! dpkg --print-foreign-architectures | grep -qx "$foreign"; then
    dpkg --add-architecture "$foreign"
    apt-get update -qq
  fi
  mkdir -p "$debs"
  (cd "$debs" && apt-get download -qq "busybox-static:$foreign" 2>/dev/null || { apt-get update -qq && apt-get download -qq "busybox-static:$foreign"; })
  chmod -R a+rX "$debs"
fi

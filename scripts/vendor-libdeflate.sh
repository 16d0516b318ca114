#!/usr/bin/env bash
# Refreshes vendor/libdeflate/src/: the part of libdeflate lading compiles
# (the compressor), from Debian's source package, with lading's patch
# applied. Both builds take it from there: the WebAssembly module
# (scripts/build-libdeflate-wasm.sh) and the native addon (binding.gyp,
# built at npm install when a C compiler is there).
#
# Run as root (it adds Debian's source index to apt when missing).
set -euo pipefail

VERSION=1.14-1
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/vendor/libdeflate/src"

export DEBIAN_FRONTEND=noninteractive
src_list=/etc/apt/sources.list.d/lading-deb-src.sources
if ! grep -rqs "deb-src" /etc/apt/sources.list /etc/apt/sources.list.d/; then
  cat >"$src_list" <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
apt-get update -qq
apt-get install -y -qq dpkg-dev patch >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
apt-get source -qq "libdeflate=$VERSION"
cd libdeflate-*/
patch -p1 <"$root/vendor/libdeflate/lading-chunked-stream.patch"

rm -rf "$dest"
mkdir -p "$dest/lib/x86" "$dest/lib/arm"
cp common_defs.h libdeflate.h "$dest/"
cp lib/deflate_compress.c lib/utils.c lib/deflate_compress.h lib/deflate_constants.h \
  lib/bt_matchfinder.h lib/hc_matchfinder.h lib/ht_matchfinder.h lib/matchfinder_common.h \
  lib/lib_common.h lib/cpu_features_common.h "$dest/lib/"
cp lib/x86/cpu_features.h lib/x86/matchfinder_impl.h "$dest/lib/x86/"
cp lib/arm/cpu_features.h lib/arm/matchfinder_impl.h "$dest/lib/arm/"
echo "vendor/libdeflate/src: libdeflate $VERSION with lading-chunked-stream.patch"

#!/usr/bin/env bash
# Rebuilds vendor/libdeflate/libdeflate.wasm from Debian's libdeflate source
# package with lading's patch (vendor/libdeflate/lading-chunked-stream.patch).
#
# Not part of set-up or CI: the built module is committed, so no machine
# needs a wasm toolchain, and the code that decides every gzip layer's bytes
# is pinned byte for byte. Run it as root on Debian 12 to check the
# committed module, or to move to a new libdeflate release (then the golden
# layer digests in test/oci/compress.test.ts change: say so in the notes).
set -euo pipefail

VERSION=1.14-1
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/vendor/libdeflate/libdeflate.wasm"

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
apt-get install -y -qq clang lld wasi-libc libclang-rt-dev-wasm32 dpkg-dev patch >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
apt-get source -qq "libdeflate=$VERSION"
cd libdeflate-*/
patch -p1 <"$root/vendor/libdeflate/lading-chunked-stream.patch"

# wasm32-wasi for its libc (malloc, memcpy); no WASI import is left in the
# module, so it instantiates with an empty import object. SIMD and bulk
# memory: Node 20's V8 has both.
clang --target=wasm32-wasi --sysroot=/usr -O2 -msimd128 -mbulk-memory -DNDEBUG -I. \
  -nostartfiles -Wl,--no-entry \
  -Wl,--export=libdeflate_alloc_compressor -Wl,--export=libdeflate_deflate_compress_bound \
  -Wl,--export=lading_deflate_chunk -Wl,--export=malloc -Wl,--export=free \
  -o "$work/libdeflate.wasm" lib/deflate_compress.c lib/utils.c
install -m 644 "$work/libdeflate.wasm" "$out"
sha256sum "$out"

#!/usr/bin/env bash
# Rebuilds vendor/libdeflate/libdeflate.wasm from vendor/libdeflate/src/
# (Debian's libdeflate source with lading's patch: scripts/vendor-libdeflate.sh).
#
# Not part of set-up or CI: the built module is committed, so no machine
# needs a wasm toolchain, and the code that decides every gzip layer's bytes
# is pinned byte for byte. Run it as root on Debian 12 to check the
# committed module, or after moving to a new libdeflate release (then the
# golden layer digests in test/oci/compress.test.ts change: say so in the notes).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
src="$root/vendor/libdeflate/src"
out="$root/vendor/libdeflate/libdeflate.wasm"

export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq clang lld wasi-libc libclang-rt-dev-wasm32 >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
clang --target=wasm32-wasi --sysroot=/usr -O2 -msimd128 -mbulk-memory -DNDEBUG -I"$src" \
  -nostartfiles -Wl,--no-entry \
  -Wl,--export=libdeflate_alloc_compressor -Wl,--export=libdeflate_deflate_compress_bound \
  -Wl,--export=lading_deflate_chunk -Wl,--export=malloc -Wl,--export=free \
  -o "$work/libdeflate.wasm" "$src/lib/deflate_compress.c" "$src/lib/utils.c"
install -m 644 "$work/libdeflate.wasm" "$out"
sha256sum "$out"

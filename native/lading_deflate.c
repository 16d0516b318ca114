/*
 * lading's native deflate: the same libdeflate compressor as
 * vendor/libdeflate/libdeflate.wasm, from the same source
 * (vendor/libdeflate/src), compiled for this machine at npm install.
 * Its output is byte for byte the WebAssembly module's (the compressor has
 * no CPU-dependent choices); it runs ~1.4x faster. src/oci/deflate-native.ts
 * loads it and falls back to WebAssembly when it was not built.
 *
 * deflateChunk(level, input, output, last) -> bytes written to output, or 0
 * when they did not fit. `input` and `output` are Uint8Arrays (shared
 * memory is fine: they are read and written in place, without a copy).
 *
 * Each thread (each Node environment: the main thread, every worker) keeps
 * its own compressor per level, freed with the environment: a compressor
 * holds its matchfinder state while it runs and must never be shared.
 */
#include <node_api.h>
#include <stdbool.h>
#include <stdlib.h>
#include "libdeflate.h"
#include "typed_bytes.h"

size_t lading_deflate_chunk(struct libdeflate_compressor *c, const void *in, size_t in_nbytes,
                            void *out, size_t out_nbytes_avail, int is_last);

#define MAX_LEVEL 12

struct env_state {
  struct libdeflate_compressor *compressors[MAX_LEVEL + 1];
};

static void free_env_state(napi_env env, void *data, void *hint) {
  struct env_state *s = data;
  (void)env;
  (void)hint;
  for (int i = 0; i <= MAX_LEVEL; i++)
    if (s->compressors[i] != NULL) libdeflate_free_compressor(s->compressors[i]);
  free(s);
}

static napi_value deflate_chunk(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  int32_t level;
  void *in, *out;
  size_t in_len, out_len;
  bool last;
  struct env_state *s;
  napi_value result;

  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 4 ||
      napi_get_value_int32(env, argv[0], &level) != napi_ok || !bytes_of(env, argv[1], &in, &in_len) ||
      !bytes_of(env, argv[2], &out, &out_len) || napi_get_value_bool(env, argv[3], &last) != napi_ok) {
    napi_throw_type_error(env, NULL, "deflateChunk(level, input: Uint8Array, output: Uint8Array, last: boolean)");
    return NULL;
  }
  if (level < 1 || level > MAX_LEVEL) {
    napi_throw_range_error(env, NULL, "deflateChunk: level must be 1-12");
    return NULL;
  }
  if (napi_get_instance_data(env, (void **)&s) != napi_ok || s == NULL) {
    napi_throw_error(env, NULL, "deflateChunk: no state for this thread");
    return NULL;
  }
  if (s->compressors[level] == NULL) {
    s->compressors[level] = libdeflate_alloc_compressor(level);
    if (s->compressors[level] == NULL) {
      napi_throw_error(env, NULL, "deflateChunk: no memory for a compressor");
      return NULL;
    }
  }
  size_t n = lading_deflate_chunk(s->compressors[level], in, in_len, out, out_len, last ? 1 : 0);
  napi_create_double(env, (double)n, &result);
  return result;
}

NAPI_MODULE_INIT() {
  struct env_state *s = calloc(1, sizeof *s);
  napi_value fn;
  if (s == NULL || napi_set_instance_data(env, s, free_env_state, NULL) != napi_ok) {
    free(s);
    napi_throw_error(env, NULL, "lading_deflate: cannot set up");
    return NULL;
  }
  napi_create_function(env, "deflateChunk", NAPI_AUTO_LENGTH, deflate_chunk, NULL, &fn);
  napi_set_named_property(env, exports, "deflateChunk", fn);
  return exports;
}

/*
 * sha256 whose state lives in memory the caller gives: a Uint8Array that
 * may be a view of a SharedArrayBuffer. Why: a layer's digests are chains
 * over its blocks in order, and node:crypto's Hash cannot move between
 * threads; with the state in shared memory, the thread that compressed a
 * block advances the chains itself (src/oci/hash-chains.ts), and the main
 * thread no longer hashes every byte of the layer two or three times.
 *
 * The hashing is OpenSSL's, the one node:crypto uses, through the symbols
 * Node exports for addons (its SHA-NI/AVX2 code, the same digests). This is
 * its own addon, apart from lading_deflate: if a Node build does not export
 * them, only this one fails to load and the digests are taken on the main
 * thread as before.
 *
 * sha256Init(state), sha256Update(state, data), sha256Final(state) -> hex;
 * sha256Hex(data) -> hex, in one call (a block's small files: node:crypto's
 * Hash object and its three calls cost more than hashing a few KB).
 * `stateSize` is how many bytes a state needs (8-byte aligned).
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <openssl/sha.h>
#include "typed_bytes.h"

/* The state argument: big enough and aligned, or a thrown TypeError. */
static SHA256_CTX *state_of(napi_env env, napi_value v, const char *usage) {
  void *data;
  size_t length;
  if (!bytes_of(env, v, &data, &length) || length < sizeof(SHA256_CTX) || ((uintptr_t)data & 7) != 0) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  return data;
}

static napi_value sha256_init(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1) {
    napi_throw_type_error(env, NULL, "sha256Init(state: Uint8Array)");
    return NULL;
  }
  SHA256_CTX *c = state_of(env, argv[0], "sha256Init: state must be an 8-byte aligned Uint8Array of stateSize bytes");
  if (c != NULL) SHA256_Init(c);
  return NULL;
}

static napi_value sha256_update(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  void *data;
  size_t length;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2 || !bytes_of(env, argv[1], &data, &length)) {
    napi_throw_type_error(env, NULL, "sha256Update(state: Uint8Array, data: Uint8Array)");
    return NULL;
  }
  SHA256_CTX *c = state_of(env, argv[0], "sha256Update: state must be an 8-byte aligned Uint8Array of stateSize bytes");
  if (c != NULL) SHA256_Update(c, data, length);
  return NULL;
}

/* The digest as 64 hex digits. */
static napi_value hex_of(napi_env env, const unsigned char md[SHA256_DIGEST_LENGTH]) {
  static const char hex[] = "0123456789abcdef";
  char text[2 * SHA256_DIGEST_LENGTH];
  napi_value result;
  for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) {
    text[2 * i] = hex[md[i] >> 4];
    text[2 * i + 1] = hex[md[i] & 15];
  }
  napi_create_string_latin1(env, text, sizeof text, &result);
  return result;
}

static napi_value sha256_final(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  unsigned char md[SHA256_DIGEST_LENGTH];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1) {
    napi_throw_type_error(env, NULL, "sha256Final(state: Uint8Array)");
    return NULL;
  }
  SHA256_CTX *c = state_of(env, argv[0], "sha256Final: state must be an 8-byte aligned Uint8Array of stateSize bytes");
  if (c == NULL) return NULL;
  SHA256_Final(md, c);
  return hex_of(env, md);
}

static napi_value sha256_hex(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *data;
  size_t length;
  unsigned char md[SHA256_DIGEST_LENGTH];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 || !bytes_of(env, argv[0], &data, &length)) {
    napi_throw_type_error(env, NULL, "sha256Hex(data: Uint8Array)");
    return NULL;
  }
  SHA256(data, length, md);
  return hex_of(env, md);
}

NAPI_MODULE_INIT() {
  napi_value fn, size;
  napi_create_function(env, "sha256Init", NAPI_AUTO_LENGTH, sha256_init, NULL, &fn);
  napi_set_named_property(env, exports, "sha256Init", fn);
  napi_create_function(env, "sha256Update", NAPI_AUTO_LENGTH, sha256_update, NULL, &fn);
  napi_set_named_property(env, exports, "sha256Update", fn);
  napi_create_function(env, "sha256Final", NAPI_AUTO_LENGTH, sha256_final, NULL, &fn);
  napi_set_named_property(env, exports, "sha256Final", fn);
  napi_create_function(env, "sha256Hex", NAPI_AUTO_LENGTH, sha256_hex, NULL, &fn);
  napi_set_named_property(env, exports, "sha256Hex", fn);
  napi_create_uint32(env, (uint32_t)((sizeof(SHA256_CTX) + 7) & ~(size_t)7), &size);
  napi_set_named_property(env, exports, "stateSize", size);
  return exports;
}

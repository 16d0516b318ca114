/* The bytes of a Uint8Array argument (a view of shared memory is fine), for lading's addons. */
#ifndef LADING_TYPED_BYTES_H
#define LADING_TYPED_BYTES_H
#include <node_api.h>
#include <stdbool.h>

static inline bool bytes_of(napi_env env, napi_value v, void **data, size_t *length) {
  bool is_typed;
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed) return false;
  if (napi_get_typedarray_info(env, v, &type, length, data, &buffer, &offset) != napi_ok) return false;
  return type == napi_uint8_array;
}
#endif

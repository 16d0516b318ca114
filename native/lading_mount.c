/*
 * mount(2) and umount2(2) for the exec helper, compiled at npm install
 * beside the native deflate. Each exec mounts an overlay and unmounts it;
 * through the util-linux tools that is two node spawns and two programs
 * that parse the mount table first (~3 ms of wall before the runtime can
 * start, ~7 ms of CPU per exec). src/exec/mount-native.ts loads it and
 * falls back to the tools when it was not built.
 *
 * mount(source, target, fstype, data) -> 0, or the errno (a number).
 * umount(target, detach) -> 0, or the errno; `detach` is MNT_DETACH.
 * Both are plain system calls on the calling thread: an overlay mount or
 * unmount takes well under a millisecond and never waits on the network.
 */
#include <errno.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mount.h>

/* A JS string as a malloc'd C string (NULL on a wrong argument or no memory). */
static char *string_of(napi_env env, napi_value v) {
  size_t len;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *s = malloc(len + 1);
  if (s == NULL) return NULL;
  if (napi_get_value_string_utf8(env, v, s, len + 1, &len) != napi_ok) {
    free(s);
    return NULL;
  }
  return s;
}

static napi_value number(napi_env env, int n) {
  napi_value r;
  napi_create_int32(env, n, &r);
  return r;
}

static napi_value do_mount(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  char *s[4] = {NULL, NULL, NULL, NULL};
  bool ok = napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc == 4;
  for (int i = 0; ok && i < 4; i++) ok = (s[i] = string_of(env, argv[i])) != NULL;
  if (!ok) {
    for (int i = 0; i < 4; i++) free(s[i]);
    napi_throw_type_error(env, NULL, "mount(source, target, fstype, data: string)");
    return NULL;
  }
  int rc = mount(s[0], s[1], s[2], 0, s[3]) == 0 ? 0 : errno;
  for (int i = 0; i < 4; i++) free(s[i]);
  return number(env, rc);
}

static napi_value do_umount(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  bool detach = false;
  char *target = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2 ||
      napi_get_value_bool(env, argv[1], &detach) != napi_ok || (target = string_of(env, argv[0])) == NULL) {
    napi_throw_type_error(env, NULL, "umount(target: string, detach: boolean)");
    return NULL;
  }
  int rc = umount2(target, detach ? MNT_DETACH : 0) == 0 ? 0 : errno;
  free(target);
  return number(env, rc);
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "mount", NAPI_AUTO_LENGTH, do_mount, NULL, &fn);
  napi_set_named_property(env, exports, "mount", fn);
  napi_create_function(env, "umount", NAPI_AUTO_LENGTH, do_umount, NULL, &fn);
  napi_set_named_property(env, exports, "umount", fn);
  return exports;
}

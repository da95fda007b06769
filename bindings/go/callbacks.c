// C trampolines from the library's function pointers into the Go
// functions that main.go exports (a file apart, because a cgo file with
// //export may only declare C functions in its preamble).
#include <stdint.h>
#include <stdlib.h>

#include <multiproc.h>

#include "_cgo_export.h"

static int mp_go_target(const void *arg, size_t arg_len, void *payload) {
  return goTarget((void *)arg, arg_len, (uintptr_t)payload);
}

static int mp_go_task(void **out, size_t *out_len, const void *arg, size_t arg_len,
                      void *payload) {
  return goTask(out, out_len, (void *)arg, arg_len, (uintptr_t)payload);
}

int mp_go_register(const char *name, uintptr_t handle) {
  return mp_register(name, mp_go_target, (void *)handle);
}

int mp_go_register_task(const char *name, uintptr_t handle) {
  return mp_register_task(name, mp_go_task, (void *)handle);
}

int mp_go_main(int argc, char **argv) { return mp_main(argc, argv); }

static void mp_go_result_cb(mp_result_t *result, void *payload) {
  (void)result;
  goResultCallback((uintptr_t)payload);
}

int mp_go_apply_async(uintptr_t *out, uintptr_t pool, const char *task, const void *arg,
                      size_t arg_len, uintptr_t handle) {
  mp_result_t *r = NULL;
  int rc = mp_pool_apply_async(&r, (mp_pool_t *)pool, task, arg, arg_len, mp_go_result_cb,
                               mp_go_result_cb, (void *)handle);
  *out = (uintptr_t)r;
  return rc;
}

static int mp_go_barrier_action(void *payload) { return goBarrierAction((uintptr_t)payload); }

int mp_go_barrier_set_action(uintptr_t barrier, uintptr_t handle) {
  return mp_barrier_set_action((mp_barrier_t *)barrier, mp_go_barrier_action, (void *)handle);
}

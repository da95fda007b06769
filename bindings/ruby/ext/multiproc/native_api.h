/* The hand-written functions of Multiproc::Native: SWIG wraps these
 * declarations (bindings/swig/ruby.i %includes this file, so the
 * parameter names select its typemaps: keep them), and the .cxx files of
 * this directory define them. The Ruby layer (bindings/ruby/lib) is their
 * only caller. */
#ifndef MULTIPROC_RUBY_NATIVE_API_H
#define MULTIPROC_RUBY_NATIVE_API_H

#ifndef SWIG
#include <stddef.h>
#include <stdint.h>

#include <ruby.h>

#include <multiproc.h>
#endif

/* Targets and pool tasks (targets.cxx). */
int mp_rb_register(const char *name);
int mp_rb_register_task(const char *name, int raw);
int mp_rb_main(VALUE argv);

/* Processes (process_ext.cxx). */
int mp_rb_die_with_parent(int parent_pid);
int mp_rb_process_sentinel(mp_process_t *proc);
int mp_rb_process_read(void **out, size_t *out_len, mp_process_t *proc, mp_stream_t stream,
                       size_t max, int64_t timeout_ms);
VALUE mp_rb_communicate(mp_process_t *proc, VALUE input, int64_t timeout_ms);

/* Pools (pool_ext.cxx). */
void mp_rb_set_notify_fd(int fd);
int mp_rb_apply_async(mp_result_t **out, mp_pool_t *pool, const char *task,
                      const void *arg, size_t arg_len, int notify);
int mp_rb_map_async(mp_result_t **out, mp_pool_t *pool, const char *task, VALUE items,
                    int splat, size_t chunksize, int notify);
int mp_rb_imap(mp_iter_t **out, mp_pool_t *pool, const char *task, VALUE items,
               size_t chunksize, int flags);
uint64_t mp_rb_result_addr(mp_result_t *result);
VALUE mp_rb_result_values(mp_result_t *result, VALUE failure);

/* Multiproc::Codec (codec.cxx). */
VALUE mp_rb_codec_dump(VALUE obj);
VALUE mp_rb_codec_load(VALUE bytes);

/* Queue fast paths (queue_ext.cxx). */
void mp_rb_queue_put(VALUE queue, VALUE message, VALUE timeout_ms);
VALUE mp_rb_queue_get(VALUE queue, VALUE timeout_ms, VALUE closed_nil);
VALUE mp_rb_queue_put_many(VALUE queue, VALUE messages, VALUE timeout_ms);
VALUE mp_rb_queue_get_many(VALUE queue, VALUE max_count, VALUE timeout_ms, VALUE closed_nil);
VALUE mp_rb_queue_get_many_into(VALUE queue, VALUE buf, VALUE max_count, VALUE timeout_ms,
                                VALUE closed_nil);
VALUE mp_rb_queue_get_into(mp_queue_t *queue, VALUE buf, int64_t timeout_ms);

/* Connection#recv_bytes_into (conn_ext.cxx). */
VALUE mp_rb_conn_recv_into(mp_conn_t *conn, VALUE buf, size_t offset, int64_t timeout_ms);

/* Multiproc.wait (wait_ext.cxx). */
VALUE mp_rb_wait(VALUE kinds, VALUE handles, VALUE timeout_ms);

/* Values and shared memory (shared_ext.cxx). */
int mp_rb_value_get_bytes(void **out, size_t *out_len, mp_value_t *value);
int mp_rb_shm_read(void **out, size_t *out_len, mp_shm_t *shm, size_t offset, size_t len);
int mp_rb_shm_write(mp_shm_t *shm, size_t offset, const void *buf, size_t len);
VALUE mp_rb_shm_buffer(mp_shm_t *shm, VALUE owner);

#endif

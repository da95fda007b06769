/* Go typemaps of the multiproc SWIG interface (included by multiproc.i
 * under SWIGGO). The generated package is multiproc.dev/multiproc/internal/capi:
 * a private layer that only the idiomatic package bindings/go uses.
 *
 * What the typemaps do:
 *  - every opaque handle (mp_queue_t *, ...) is a distinct Go type over
 *    uintptr (capi.Queue, ...), and `T **out` out-parameters are *capi.T;
 *  - scalar out-parameters (int *out, int64_t *out, size_t *out_len, ...)
 *    are Go pointers (*int, *int64, *int64, ...);
 *  - byte strings in, `(const void *buf, size_t len)` and the like, are
 *    []byte (nil is NULL, so mp_dict_cas's "expected NULL" is a nil slice);
 *    caller buffers `(void *buf, size_t cap)`, `(char *id, size_t id_cap)`
 *    are []byte the C side fills;
 *  - byte strings out, `(void **out, size_t *out_len)`, are *[]byte: the
 *    library's buffer is copied into Go memory and released with mp_free;
 *    borrowed outputs `(const void **data, size_t *len)` are copied only;
 *  - argument lists `(const void *const *args, const size_t *arg_lens,
 *    size_t n)` are [][]byte, packed into one Go buffer for the call;
 *  - error codes stay the C int (0 or a negative MP_E* code): the
 *    idiomatic layer turns them into error values, reading mp_last_error()
 *    on the same OS thread (see bindings/go/errors.go).
 * Callbacks (mp_register, mp_register_task, mp_main's target dispatch) are
 * not wrapped: the idiomatic layer uses cgo //export trampolines for them.
 */

%insert(cgo_comment_typedefs) %{
#cgo pkg-config: multiproc
%}

%go_import("unsafe")

/* ---- opaque handles ---- */

%define MP_GO_HANDLE(CTYPE, GONAME)
%insert(go_header) %{
// GONAME is a CTYPE pointer owned by the caller of the capi package.
type GONAME uintptr
%}
%typemap(gotype) CTYPE *, const CTYPE * "GONAME"
%typemap(imtype) CTYPE *, const CTYPE * "uintptr"
%typemap(goin) CTYPE *, const CTYPE * "$result = uintptr($input)"
%typemap(in) CTYPE *, const CTYPE * "$1 = ($1_ltype)$input;"
%typemap(out) CTYPE * "$result = $1;"
%typemap(goout) CTYPE * "$result = GONAME($1)"
%typemap(gotype) CTYPE **out, CTYPE **a_out, CTYPE **b_out "*GONAME"
%typemap(imtype) CTYPE **out, CTYPE **a_out, CTYPE **b_out "*uintptr"
%typemap(goin) CTYPE **out, CTYPE **a_out, CTYPE **b_out
  "$result = (*uintptr)(unsafe.Pointer($input))"
%typemap(in) CTYPE **out, CTYPE **a_out, CTYPE **b_out "$1 = ($1_ltype)$input;"
%typemap(argout) CTYPE **out, CTYPE **a_out, CTYPE **b_out ""
%typemap(goargout) CTYPE **out, CTYPE **a_out, CTYPE **b_out ""
%enddef

MP_GO_HANDLE(mp_cancel_t, Cancel)
MP_GO_HANDLE(mp_cmd_t, Cmd)
MP_GO_HANDLE(mp_process_t, Process)
MP_GO_HANDLE(mp_stop_t, Stop)
MP_GO_HANDLE(mp_conn_t, Conn)
MP_GO_HANDLE(mp_queue_t, Queue)
MP_GO_HANDLE(mp_lock_t, Lock)
MP_GO_HANDLE(mp_sem_t, Sem)
MP_GO_HANDLE(mp_event_t, Event)
MP_GO_HANDLE(mp_cond_t, Cond)
MP_GO_HANDLE(mp_barrier_t, Barrier)
MP_GO_HANDLE(mp_shm_t, Shm)
MP_GO_HANDLE(mp_value_t, Value)
MP_GO_HANDLE(mp_dict_t, Dict)
MP_GO_HANDLE(mp_dict_iter_t, DictIter)
MP_GO_HANDLE(mp_pool_opts_t, PoolOpts)
MP_GO_HANDLE(mp_pool_t, Pool)
MP_GO_HANDLE(mp_result_t, Result)
MP_GO_HANDLE(mp_iter_t, Iter)
MP_GO_HANDLE(mp_broker_t, Broker)
MP_GO_HANDLE(mp_broker_opts_t, BrokerOpts)
MP_GO_HANDLE(mp_listener_t, Listener)
MP_GO_HANDLE(mp_listener_opts_t, ListenerOpts)
/* mp_pool_iter_t (C 0.3) is the same struct as mp_iter_t: the same Go type. */
%apply mp_iter_t * { mp_pool_iter_t * };

/* ---- scalar out-parameters ---- */

%define MP_GO_SCALAR_OUT(CTYPE, GOTYPE, CGOTYPE, NAME)
%typemap(gotype) NAME "*GOTYPE"
%typemap(imtype) NAME "*GOTYPE"
%typemap(in) NAME (CTYPE temp = 0) "$1 = &temp;"
%typemap(argout) NAME "if ($input) *(CGOTYPE *)(void *)$input = (CGOTYPE)temp$argnum;"
%typemap(goargout) NAME ""
%enddef

/* Go's int is 64 bits here (-intgosize 64): the C int is widened. */
MP_GO_SCALAR_OUT(int, int64, long long, int *out)
MP_GO_SCALAR_OUT(int, int64, long long, int *exitcode)
%typemap(gotype) int *out, int *exitcode "*int"
%typemap(goin) int *out, int *exitcode "$result = (*int64)(unsafe.Pointer($input))"

MP_GO_SCALAR_OUT(int64_t, int64, long long, int64_t *out)
MP_GO_SCALAR_OUT(int64_t, int64, long long, int64_t *actual)
MP_GO_SCALAR_OUT(int64_t, int64, long long, int64_t *out_count)
MP_GO_SCALAR_OUT(uint64_t, uint64, unsigned long long, uint64_t *out)
MP_GO_SCALAR_OUT(double, float64, double, double *out)
MP_GO_SCALAR_OUT(size_t, int64, long long, size_t *out_len)
MP_GO_SCALAR_OUT(size_t, int64, long long, size_t *index)

/* ---- byte strings in ---- */

%typemap(gotype) (const void *buf, size_t len), (const void *arg, size_t arg_len),
                 (const void *key, size_t len), (const void *authkey, size_t authkey_len),
                 (const void *input, size_t input_len), (const void *key, size_t key_len),
                 (const void *value, size_t value_len),
                 (const void *expected, size_t expected_len),
                 (const void *desired, size_t desired_len),
                 (void *buf, size_t cap) "[]byte"
%typemap(in) (const void *buf, size_t len), (const void *arg, size_t arg_len),
             (const void *key, size_t len), (const void *authkey, size_t authkey_len),
             (const void *input, size_t input_len), (const void *key, size_t key_len),
             (const void *value, size_t value_len),
             (const void *expected, size_t expected_len),
             (const void *desired, size_t desired_len),
             (void *buf, size_t cap)
%{ $1 = $input.array; $2 = (size_t)$input.len; %}

/* A NUL-terminated text into the caller's buffer (mp_queue_last_delivery's
 * message id): a []byte the C side fills; the idiomatic layer cuts it at
 * the NUL. */
%typemap(gotype) (char *id, size_t id_cap) "[]byte"
%typemap(in) (char *id, size_t id_cap) %{ $1 = (char *)$input.array; $2 = (size_t)$input.len; %}

/* ---- byte strings out ---- */

%insert(go_header) %{
// swigCopyOut copies n bytes of C memory at p into a new Go slice.
func swigCopyOut(p uintptr, n uintptr) []byte {
	if p == 0 {
		return nil
	}
	b := make([]byte, n)
	copy(b, unsafe.Slice((*byte)(unsafe.Pointer(p)), n))
	return b
}
%}

/* The library's buffer: copied, then released with mp_free. */
%typemap(gotype) (void **out, size_t *out_len), (void **err, size_t *err_len) "*[]byte"
%typemap(imtype) (void **out, size_t *out_len), (void **err, size_t *err_len) "[]uintptr"
%typemap(goin) (void **out, size_t *out_len), (void **err, size_t *err_len)
  "$result = make([]uintptr, 2)"
%typemap(in) (void **out, size_t *out_len) (void *p = NULL, size_t n = 0),
             (void **err, size_t *err_len) (void *p = NULL, size_t n = 0)
%{ $1 = ($1_ltype)&p; $2 = &n; %}
%typemap(argout) (void **out, size_t *out_len), (void **err, size_t *err_len)
%{ ((uintptr_t *)$input.array)[0] = (uintptr_t)p$argnum;
   ((uintptr_t *)$input.array)[1] = (uintptr_t)n$argnum; %}
%typemap(goargout) (void **out, size_t *out_len), (void **err, size_t *err_len)
%{
	if $1 != nil {
		*$1 = swigCopyOut($input[0], $input[1])
	}
	Mp_free($input[0])
%}

/* Borrowed bytes (owned by a result or an iterator): copied only. */
%typemap(gotype) (const void **data, size_t *len), (const void **key, size_t *key_len),
                 (const void **value, size_t *value_len) "*[]byte"
%typemap(imtype) (const void **data, size_t *len), (const void **key, size_t *key_len),
                 (const void **value, size_t *value_len) "[]uintptr"
%typemap(goin) (const void **data, size_t *len), (const void **key, size_t *key_len),
               (const void **value, size_t *value_len) "$result = make([]uintptr, 2)"
%typemap(in) (const void **data, size_t *len) (const void *p = NULL, size_t n = 0),
             (const void **key, size_t *key_len) (const void *p = NULL, size_t n = 0),
             (const void **value, size_t *value_len) (const void *p = NULL, size_t n = 0)
%{ $1 = ($1_ltype)&p; $2 = &n; %}
%typemap(argout) (const void **data, size_t *len), (const void **key, size_t *key_len),
                 (const void **value, size_t *value_len)
%{ ((uintptr_t *)$input.array)[0] = (uintptr_t)p$argnum;
   ((uintptr_t *)$input.array)[1] = (uintptr_t)n$argnum; %}
%typemap(goargout) (const void **data, size_t *len), (const void **key, size_t *key_len),
                   (const void **value, size_t *value_len)
%{
	if $1 != nil {
		*$1 = swigCopyOut($input[0], $input[1])
	}
%}

/* ---- argument lists: [][]byte packed as n, n lengths, then the bytes ---- */

%insert(go_header) %{
// swigPackArgs lays args out as one buffer (the count and the lengths as
// native uint64s, then the bytes back to back), because cgo cannot take a
// slice of slices.
func swigPackArgs(args [][]byte) []byte {
	head := 8 * (1 + len(args))
	total := head
	for _, a := range args {
		total += len(a)
	}
	buf := make([]byte, total)
	*(*uint64)(unsafe.Pointer(&buf[0])) = uint64(len(args))
	off := head
	for i, a := range args {
		*(*uint64)(unsafe.Pointer(&buf[8*(i+1)])) = uint64(len(a))
		off += copy(buf[off:], a)
	}
	return buf
}
%}

%typemap(gotype) (const void *const *args, const size_t *arg_lens, size_t n) "[][]byte"
%typemap(imtype) (const void *const *args, const size_t *arg_lens, size_t n) "[]byte"
%typemap(goin) (const void *const *args, const size_t *arg_lens, size_t n)
  "$result = swigPackArgs($input)"
%typemap(in) (const void *const *args, const size_t *arg_lens, size_t n)
  (const void **ptrs = NULL, size_t *lens = NULL)
%{
  {
    const unsigned char *base = (const unsigned char *)$input.array;
    uint64_t count;
    memcpy(&count, base, 8);
    $3 = (size_t)count;
    ptrs = (const void **)malloc((count ? count : 1) * sizeof(*ptrs));
    lens = (size_t *)malloc((count ? count : 1) * sizeof(*lens));
    if (ptrs && lens) {
      size_t off = 8 * (1 + (size_t)count);
      for (size_t i = 0; i < (size_t)count; i++) {
        uint64_t l;
        memcpy(&l, base + 8 * (i + 1), 8);
        lens[i] = (size_t)l;
        ptrs[i] = base + off;
        off += (size_t)l;
      }
    } else {
      /* Out of memory: the library sees NULL arrays and says MP_EINVAL. */
      free(ptrs); free(lens); ptrs = NULL; lens = NULL;
    }
    $1 = ($1_ltype)ptrs;
    $2 = lens;
  }
%}
%typemap(freearg) (const void *const *args, const size_t *arg_lens, size_t n)
%{ free((void *)ptrs$argnum); free(lens$argnum); %}

/* ---- callbacks the idiomatic layer does not pass through SWIG ---- */

%typemap(in, numinputs=0) mp_result_cb "$1 = NULL;"
%typemap(in, numinputs=0) void *payload "$1 = NULL;"
/* mp_barrier_new2: the binding passes no action (only the default timeout). */
%typemap(in, numinputs=0) mp_barrier_action_fn "$1 = NULL;"

/* Returned addresses of shared memory: an unsafe.Pointer for unsafe.Slice. */
%typemap(gotype) void *mp_shm_data "unsafe.Pointer"
%typemap(imtype) void *mp_shm_data "uintptr"
%typemap(out) void *mp_shm_data "$result = $1;"
%typemap(goout) void *mp_shm_data "$result = unsafe.Pointer($1)"

%ignore mp_register;
%ignore mp_register_task;
%ignore mp_main;
/* The predicate is Go or Ruby code: Condition.WaitFor / #wait_for loop
 * over mp_cond_wait in the binding's own language, the same steps. */
%ignore mp_cond_wait_for;
/* A barrier's action is code of this process: not reachable from the
 * binding yet (the default timeout is, through mp_barrier_new2). */
%ignore mp_barrier_set_action;
/* Called through cgo directly (bindings/go/queue_many.go): a batch is an
 * array of pointers, which SWIG's Go slices cannot carry. */
%ignore mp_queue_put_many;
%ignore mp_queue_get_many;
/* The ring, for a binding's own put and get: Go reads it through cgo
 * directly (bindings/go/queue_ring.go); the words are shared memory,
 * not values a wrapper could copy. */
%ignore mp_queue_ring_word;
%ignore mp_queue_ring_value;
%ignore mp_ring_word;
%ignore mp_ring_value;
%ignore mp_queue_ring_wake;
%rename("$ignore", regextarget=1) "^MP_RING_";
%rename("$ignore", regextarget=1) "^MP_QUEUE_RING_";

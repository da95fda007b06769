package multiproc

import (
	"context"
	"encoding/binary"
	"fmt"
)

// StarTaskFunc is a pool task taking several arguments, Python's
// starmap function: f(*args).
type StarTaskFunc func(args [][]byte) ([]byte, error)

// RegisterStarTask registers fn under name for StarMap: the worker
// unpacks each item's argument list and calls fn with it. Register before
// Main, like RegisterTask (it is one: the packed list is its argument).
func RegisterStarTask(name string, fn StarTaskFunc) error {
	if fn == nil {
		return &Error{Code: ErrInvalid, Op: "register task", Msg: "nil function"}
	}
	return RegisterTask(name, func(arg []byte) ([]byte, error) {
		args, err := UnpackArgs(arg)
		if err != nil {
			return nil, err
		}
		return fn(args)
	})
}

// StarMap runs task for each argument list and returns the results in
// order (Python's starmap): items[i] is the list task i is called with.
// The task is one registered with RegisterStarTask (or a TaskFunc that
// calls UnpackArgs). Errors as Map.
func (p *Pool) StarMap(ctx context.Context, task string, items [][][]byte, chunksize int) ([][]byte, error) {
	mustContext(ctx)
	packed := make([][]byte, len(items))
	for i, args := range items {
		packed[i] = PackArgs(args)
	}
	return p.Map(ctx, task, packed, chunksize)
}

// PackArgs encodes an argument list as one pool argument: a uint32 count,
// then each argument as a uint32 length and its bytes (little-endian).
// The C library has no tuples: this is the packing StarMap uses.
func PackArgs(args [][]byte) []byte {
	n := 4
	for _, a := range args {
		n += 4 + len(a)
	}
	out := make([]byte, 0, n)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(args)))
	for _, a := range args {
		out = binary.LittleEndian.AppendUint32(out, uint32(len(a)))
		out = append(out, a...)
	}
	return out
}

// UnpackArgs decodes what PackArgs encoded; ErrInvalid if b is not such
// an encoding.
func UnpackArgs(b []byte) ([][]byte, error) {
	bad := func(why string) error {
		return &Error{Code: ErrInvalid, Op: "unpack args", Msg: why}
	}
	if len(b) < 4 {
		return nil, bad("shorter than its count")
	}
	count := binary.LittleEndian.Uint32(b)
	b = b[4:]
	if uint64(count) > uint64(len(b))/4 {
		return nil, bad(fmt.Sprintf("count %d does not fit in %d bytes", count, len(b)))
	}
	args := make([][]byte, 0, count)
	for i := uint32(0); i < count; i++ {
		if len(b) < 4 {
			return nil, bad("an argument's length is missing")
		}
		n := binary.LittleEndian.Uint32(b)
		b = b[4:]
		if uint64(n) > uint64(len(b)) {
			return nil, bad("an argument is longer than what is left")
		}
		args = append(args, b[:n:n])
		b = b[n:]
	}
	if len(b) != 0 {
		return nil, bad("bytes after the last argument")
	}
	return args, nil
}

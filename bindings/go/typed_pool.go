package multiproc

// Typed pool tasks: RegisterFunc[A, R] registers func(A) (R, error) as a
// pool task whose argument and result travel through codecs, and returns
// the Func that calls it on a Pool with Go values.

import (
	"context"
	"strconv"
)

// Func is a typed pool task registered with RegisterFunc: call it on a
// Pool with Apply or Map.
type Func[A, R any] struct {
	name string
	args Codec[A]
	res  Codec[R]
}

// RegisterFunc registers fn as the pool task name (RegisterTask) with JSON
// for its argument and result. Register before Main, in every process.
func RegisterFunc[A, R any](name string, fn func(A) (R, error)) (*Func[A, R], error) {
	return RegisterFuncWith(name, fn, nil, nil)
}

// RegisterFuncWith is RegisterFunc with the codecs of the argument and the
// result (nil: JSON). A worker whose argument does not decode fails the
// task (ErrTaskFailed; Error.Detail holds the *DecodeError's text).
func RegisterFuncWith[A, R any](name string, fn func(A) (R, error), args Codec[A], res Codec[R]) (*Func[A, R], error) {
	if fn == nil {
		return nil, &Error{Code: ErrInvalid, Op: "register task", Msg: "nil function"}
	}
	f := &Func[A, R]{name: name, args: orJSON(args), res: orJSON(res)}
	err := RegisterTask(name, func(b []byte) ([]byte, error) {
		a, err := decode(f.args, f.object("argument"), b)
		if err != nil {
			return nil, err
		}
		r, err := fn(a)
		if err != nil {
			return nil, err
		}
		return encode(f.res, f.object("result"), r)
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Name is the task's registered name.
func (f *Func[A, R]) Name() string { return f.name }

func (f *Func[A, R]) object(what string) string {
	return "task " + strconv.Quote(f.name) + " " + what
}

// Apply runs the task on one argument in p and returns its result
// (Pool.Apply). Errors: Pool.Apply's, *EncodeError, *DecodeError.
func (f *Func[A, R]) Apply(ctx context.Context, p *Pool, arg A) (R, error) {
	var zero R
	b, err := encode(f.args, f.object("argument"), arg)
	if err != nil {
		return zero, err
	}
	out, err := p.Apply(ctx, f.name, b)
	if err != nil {
		return zero, err
	}
	return decode(f.res, f.object("result"), out)
}

// Map runs the task on every argument in p and returns the results in
// order (Pool.Map with chunksize).
func (f *Func[A, R]) Map(ctx context.Context, p *Pool, args []A, chunksize int) ([]R, error) {
	in := make([][]byte, len(args))
	for i, a := range args {
		b, err := encode(f.args, f.object("argument"), a)
		if err != nil {
			return nil, err
		}
		in[i] = b
	}
	out, err := p.Map(ctx, f.name, in, chunksize)
	if err != nil {
		return nil, err
	}
	res := make([]R, len(out))
	for i, b := range out {
		if res[i], err = decode(f.res, f.object("result"), b); err != nil {
			return nil, err
		}
	}
	return res, nil
}

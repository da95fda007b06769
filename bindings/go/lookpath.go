// LookPath: the program search of the C library, with os/exec's errors.

package multiproc

import (
	"errors"
	"os"
	"strings"
	"syscall"
)

// defaultPath is the search path when PATH is unset or empty: the C
// library's (kDefaultPath of src/process/cmd.cpp).
const defaultPath = "/usr/local/bin:/usr/bin:/bin"

// LookPath finds file as the spawn of a command without '/' does (the C
// library's rules): the first regular file with execute permission in
// the absolute directories of this process's PATH, in order (the default
// path when PATH is unset or empty). Relative and empty entries (".",
// "", "../bin") are skipped: when file is found only through one, LookPath
// returns that path ("./prog") with an error matching exec.ErrDot (and
// ErrAccess), as os/exec since Go 1.19 (os/exec stops at such an entry
// even when a later absolute one has the program; the C rule goes on).
// A name with '/' is checked as it is. Errors are *exec.Error values: not
// found matches exec.ErrNotFound (and ErrNotFound); found but not
// executable matches fs.ErrPermission (and ErrAccess).
func LookPath(file string) (string, error) {
	if strings.Contains(file, "/") {
		if err := findExecutable(file); err != nil {
			return "", lookPathError(file, err, err)
		}
		return file, nil
	}
	search := os.Getenv("PATH")
	if search == "" {
		search = defaultPath
	}
	skipped, denied := "", false
	for _, dir := range strings.Split(search, ":") {
		relative := !strings.HasPrefix(dir, "/")
		if dir == "" {
			dir = "."
		}
		p := dir + "/" + file
		err := findExecutable(p)
		switch {
		case err == nil && !relative:
			return p, nil
		case err == nil && skipped == "":
			skipped = p
		case err != nil && !relative && errors.Is(err, os.ErrPermission):
			denied = true
		}
	}
	switch {
	case skipped != "":
		return skipped, lookPathError(file, &Error{Code: ErrAccess, Op: "look path"}, errExecDot)
	case denied:
		return "", lookPathError(file, os.ErrPermission, os.ErrPermission)
	}
	return "", lookPathError(file, &Error{Code: ErrNotFound, Op: "look path"}, errExecNotFound)
}

// findExecutable is nil for a regular file this process may execute.
func findExecutable(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() || syscall.Access(path, 1 /* X_OK */) != nil {
		return os.ErrPermission
	}
	return nil
}

#!/usr/bin/env python3
"""Run one example program and compare its stdout with an expected file.

Usage: check_output.py [--timeout SECONDS] EXPECTED PROGRAM [ARG...]

The expected file holds the exact lines the program must print, except that
lines between a line "[unordered]" and a line "[end]" may appear in any
order (children printing concurrently): that block of N lines is compared
as a multiset with the next N lines of output.

The test passes when the program exits with status 0 within the timeout
(default 60 s; meson passes each test's own timeout, less a margin so that
this script reports the hang before meson kills it) and its stdout
matches. Otherwise the difference, the exit status and the
program's stderr are printed and the exit status is 1.
"""
import subprocess
import sys

TIMEOUT_S = 60


def parse_expected(text):
    """Return a list of blocks: (ordered: bool, lines: list[str])."""
    blocks = []
    unordered = None
    for n, line in enumerate(text.splitlines(), 1):
        if line == "[unordered]":
            if unordered is not None:
                sys.exit(f"expected file line {n}: nested [unordered]")
            unordered = []
        elif line == "[end]":
            if unordered is None:
                sys.exit(f"expected file line {n}: [end] without [unordered]")
            blocks.append((False, unordered))
            unordered = None
        elif unordered is not None:
            unordered.append(line)
        else:
            blocks.append((True, [line]))
    if unordered is not None:
        sys.exit("expected file: [unordered] without [end]")
    return blocks


def compare(blocks, actual):
    """Return a list of problems (empty when the output matches)."""
    problems = []
    pos = 0
    for ordered, want in blocks:
        got = actual[pos:pos + len(want)]
        first = pos + 1
        pos += len(want)
        if ordered:
            if got != want:
                problems.append(f"line {first}: expected {want[0]!r}, "
                                f"got {got[0] if got else '<end of output>'!r}")
        elif sorted(got) != sorted(want):
            problems.append(f"lines {first}-{pos} (any order): expected "
                            f"{sorted(want)!r}, got {sorted(got)!r}")
    if pos < len(actual):
        problems.append(f"unexpected extra output from line {pos + 1}: "
                        f"{actual[pos:]!r}")
    return problems


def main():
    args = sys.argv[1:]
    timeout = TIMEOUT_S
    if args[:1] == ["--timeout"] and len(args) > 1:
        timeout = float(args[1])
        args = args[2:]
    if len(args) < 2:
        sys.exit(__doc__)
    with open(args[0], encoding="utf-8") as f:
        blocks = parse_expected(f.read())
    command = args[1:]
    try:
        run = subprocess.run(command, stdin=subprocess.DEVNULL,
                             capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        print(f"FAIL: {command[0]} still runs after {timeout:g} s")
        print((e.stdout or b"").decode("utf-8", "replace"))
        return 1
    out = run.stdout.decode("utf-8", "replace")
    err = run.stderr.decode("utf-8", "replace")
    problems = compare(blocks, out.splitlines())
    if run.returncode != 0:
        problems.insert(0, f"exit status {run.returncode}, expected 0")
    if not problems:
        sys.stdout.write(out)
        return 0
    print(f"FAIL: {' '.join(command)}")
    for p in problems:
        print("  " + p)
    print("--- stdout ---")
    sys.stdout.write(out)
    print("--- stderr ---")
    sys.stdout.write(err)
    return 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Fails if a public function's doc comment does not say since which version
it exists ("Since X.Y."): docs/abi.md promises it for every function, and
the version is how a user knows whether their library has it.

usage: check_since.py HEADER...
"""
import re
import sys

DECL = re.compile(r'^MP_EXTERN\b[^(]*\b(mp_\w+)\s*\(', re.M)
SINCE = re.compile(r'Since\s+(\*\s+)?\d+\.\d+')


def missing(path):
    text = open(path, encoding='utf-8').read()
    for m in DECL.finditer(text):
        comment_end = text.rfind('*/', 0, m.start())
        comment_start = text.rfind('/**', 0, comment_end)
        between = text[comment_end + 2:m.start()]
        if comment_start < 0 or between.strip():  # no comment right above
            yield m.group(1)
        elif not SINCE.search(text[comment_start:comment_end]):
            yield m.group(1)


def main(headers):
    bad = [f'{h}: {name}' for h in headers for name in missing(h)]
    for line in bad:
        print('no "Since" in the doc comment of', line)
    count = sum(len(DECL.findall(open(h, encoding='utf-8').read())) for h in headers)
    if not bad:
        print(f'ok: {count} functions, each says since which version')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))

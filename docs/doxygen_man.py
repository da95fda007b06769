#!/usr/bin/env python3
"""Run Doxygen, then give the header pages of man3 names of their own.

Doxygen names a header's man page after the file: core.h.3, ipc.h.3, ...
Installed into /usr/share/man/man3 those names say nothing and could clash
with another package's core.h page, so each becomes multiproc_<name>.3
(multiproc.h.3 stays), and the per-function link pages (".so man3/ipc.h.3")
follow.

usage: doxygen_man.py DOXYGEN DOXYFILE MAN3_DIR
"""
import os
import subprocess
import sys


def rename_header_pages(man3):
    renames = {}
    for name in sorted(os.listdir(man3)):
        if name.endswith('.h.3') and name != 'multiproc.h.3':
            renames[name] = 'multiproc_' + name
    for old, new in renames.items():
        os.replace(os.path.join(man3, old), os.path.join(man3, new))
    for name in os.listdir(man3):
        path = os.path.join(man3, name)
        with open(path, encoding='utf-8') as f:
            text = f.read()
        if not text.startswith('.so man3/'):
            continue
        target = text[len('.so man3/'):].strip()
        if target in renames:
            with open(path, 'w', encoding='utf-8') as f:
                f.write(f'.so man3/{renames[target]}\n')


def main(doxygen, doxyfile, man3):
    subprocess.run([doxygen, doxyfile], check=True)
    rename_header_pages(man3)
    return 0


if __name__ == '__main__':
    sys.exit(main(*sys.argv[1:]))

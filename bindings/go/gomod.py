#!/usr/bin/env python3
"""Assemble the Go module in the build directory and run the go tool on it.

bindings/go is a complete Go module (its SWIG wrapper internal/capi is
committed, see README.md, so `go get` and a `replace` to a checkout need no
SWIG). For the build's own tests the module that `go` sees is assembled in
the build directory: the hand-written sources of bindings/go, the SWIG
output of this build (so a C API change is tested before the committed copy
is refreshed; `capi-check` tells when it must be), and the programs of
docs/examples/go, tests/crosslang/go, tests/bench/go and
tests/rendezvous/go.

  gomod.py assemble SRCROOT MODDIR STAMP CAPI.go CAPI_wrap.c [DECLARED...]
      copy everything into MODDIR (a file is rewritten only when its
      content changed, and STAMP is touched only then); fails if a file of
      bindings/go is not among DECLARED (meson.build's lists, which are
      what `meson install` ships)
  gomod.py examples BUILDROOT MODDIR OUTDIR
      build every examples/<name> as OUTDIR/go-example-<name>, in one go build
  gomod.py capi-check SRCROOT CAPI.go CAPI_wrap.c
      fail when bindings/go/internal/capi (the committed copy that module
      mode builds from) differs from the build's SWIG output; skipped (77)
      when this SWIG's version is not the one the copy was made with
  gomod.py capi-update SRCROOT CAPI.go CAPI_wrap.c
      copy the build's SWIG output into bindings/go/internal/capi
  gomod.py go BUILDROOT MODDIR [--out-dir DIR] -- GO-ARGS...
      run `go GO-ARGS` in MODDIR with the build's environment: the
      uninstalled multiproc.pc, an rpath to the build's libmultiproc, and
      GOCACHE/GOPATH/HOME inside the build directory, GOPROXY=off.

Module layout in MODDIR: the package at the root, internal/capi (SWIG),
examples/<name> (docs/examples/go/<name>), cmd/go-peer
(tests/crosslang/go), cmd/go-bench (tests/bench/go), cmd/rendezvous-go
(tests/rendezvous/go).
"""
import os
import re
import shutil
import subprocess
import sys

# (source directory relative to the source root, directory in the module)
TREES = [
    ('bindings/go', '.'),
    ('tests/crosslang/go', 'cmd/go-peer'),
    ('tests/bench/go', 'cmd/go-bench'),
    ('tests/rendezvous/go', 'cmd/rendezvous-go'),
]
EXAMPLES = 'docs/examples/go'
SKIP = {'meson.build', 'gomod.py', 'README.md'}


def sync_file(src, dst, changed):
    with open(src, 'rb') as f:
        data = f.read()
    try:
        with open(dst, 'rb') as f:
            if f.read() == data:
                return
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    with open(dst, 'wb') as f:
        f.write(data)
    changed.append(dst)


def sync_tree(src, dst, changed, recurse=False):
    if not os.path.isdir(src):
        return
    for name in sorted(os.listdir(src)):
        path = os.path.join(src, name)
        if os.path.isdir(path):
            if recurse:
                sync_tree(path, os.path.join(dst, name), changed, True)
        elif name not in SKIP and name.endswith(('.go', '.c', '.h', '.mod')):
            sync_file(path, os.path.join(dst, name), changed)


def check_declared(srcroot, declared):
    """The in-tree module copies the whole folder; the installed one only
    the files meson.build lists. Refuse the difference here, at build time,
    instead of in a package that does not build."""
    src = os.path.join(srcroot, 'bindings/go')
    listed = {os.path.realpath(p) for p in declared}
    missing = [name for name in sorted(os.listdir(src))
               if name not in SKIP and name.endswith(('.go', '.c', '.h', '.mod'))
               and os.path.realpath(os.path.join(src, name)) not in listed]
    if missing:
        sys.exit('gomod.py: bindings/go/meson.build does not list %s (go_sources or '
                 'go_tests): meson install would not ship it' % ', '.join(missing))


def assemble(srcroot, moddir, stamp, capi_go, capi_c, *declared):
    if declared:
        check_declared(srcroot, declared)
    changed = []
    for src, dst in TREES:
        sync_tree(os.path.join(srcroot, src), os.path.join(moddir, dst), changed)
    sync_tree(os.path.join(srcroot, EXAMPLES), os.path.join(moddir, 'examples'),
              changed, recurse=True)
    capi = os.path.join(moddir, 'internal', 'capi')
    sync_file(capi_go, os.path.join(capi, 'capi.go'), changed)
    sync_file(capi_c, os.path.join(capi, 'capi_wrap.c'), changed)
    if changed or not os.path.exists(stamp):
        with open(stamp, 'w') as f:
            f.write('\n'.join(changed) + '\n')


CAPI_DIR = 'bindings/go/internal/capi'
CAPI_FILES = ('capi.go', 'capi_wrap.c')


def swig_version(text):
    """The ' * Version X.Y.Z' line SWIG writes at the top of its output."""
    m = re.search(r'^ \* Version (\S+)$', text, re.M)
    return m.group(1) if m else None


def capi_text(path):
    """A generated file without the line naming the input path (it depends
    on where SWIG was run from, not on what it generated)."""
    with open(path) as f:
        return ''.join(l for l in f if not l.startswith(('// source: ', '/* source: ')))


def capi_check(srcroot, capi_go, capi_c):
    stale = []
    for name, built in zip(CAPI_FILES, (capi_go, capi_c)):
        committed = os.path.join(srcroot, CAPI_DIR, name)
        new = capi_text(built)
        try:
            old = capi_text(committed)
        except FileNotFoundError:
            old = ''
        if swig_version(old) and swig_version(old) != swig_version(new):
            print('SKIP: %s was made by SWIG %s, this build has %s' %
                  (committed, swig_version(old), swig_version(new)))
            return 77
        if old != new:
            stale.append(committed)
    if stale:
        print('stale: %s\ndiffers from the SWIG output of this build (the C API or '
              'bindings/swig changed); refresh it with\n  ninja -C <build> go-capi-update\n'
              'and commit it: module-mode builds (go get, replace) use this copy'
              % ', '.join(stale))
        return 1
    print('bindings/go/internal/capi matches the SWIG output')
    return 0


def capi_update(srcroot, capi_go, capi_c):
    changed = []
    for name, built in zip(CAPI_FILES, (capi_go, capi_c)):
        sync_file(built, os.path.join(srcroot, CAPI_DIR, name), changed)
    print('updated: %s' % (', '.join(changed) or 'nothing (already current)'))
    return 0


def go_env(buildroot):
    gohome = os.path.join(buildroot, 'go-home')
    env = dict(os.environ)
    libdir = os.path.join(buildroot, 'src')
    env.update({
        'GOCACHE': os.path.join(gohome, 'cache'),
        'GOPATH': os.path.join(gohome, 'path'),
        'HOME': gohome,
        'GOPROXY': 'off',
        'GOFLAGS': '',
        'GO111MODULE': 'on',
        'GOTOOLCHAIN': 'local',
        'CGO_ENABLED': '1',
        'PKG_CONFIG_PATH': os.path.join(buildroot, 'meson-uninstalled'),
        'CGO_LDFLAGS': '-Wl,-rpath,' + libdir,
        'LD_LIBRARY_PATH': libdir + (':' + env['LD_LIBRARY_PATH']
                                     if env.get('LD_LIBRARY_PATH') else ''),
    })
    return env


def run_go(buildroot, moddir, args):
    env = go_env(buildroot)
    os.makedirs(env['GOCACHE'], exist_ok=True)
    os.makedirs(env['GOPATH'], exist_ok=True)
    return subprocess.call([shutil.which('go') or 'go'] + args, cwd=moddir, env=env)


def build_examples(buildroot, moddir, outdir):
    tmp = os.path.join(moddir, '.examples-bin')
    os.makedirs(tmp, exist_ok=True)
    rc = run_go(buildroot, moddir, ['build', '-o', tmp + '/', './examples/...'])
    if rc != 0:
        return rc
    for name in os.listdir(tmp):
        os.replace(os.path.join(tmp, name), os.path.join(outdir, 'go-example-' + name))
    return 0


def main(argv):
    if len(argv) == 5 and argv[1] == 'examples':
        return build_examples(*[os.path.abspath(a) for a in argv[2:5]])
    if len(argv) >= 6 and argv[1] == 'assemble':
        assemble(*argv[2:])
        return 0
    if len(argv) == 5 and argv[1] in ('capi-check', 'capi-update'):
        fn = capi_check if argv[1] == 'capi-check' else capi_update
        return fn(*[os.path.abspath(a) for a in argv[2:5]])
    if len(argv) >= 5 and argv[1] == 'go' and '--' in argv:
        sep = argv.index('--')
        return run_go(os.path.abspath(argv[2]), os.path.abspath(argv[3]), argv[sep + 1:])
    sys.stderr.write(__doc__)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
"""One cell of the cross-language rendezvous: a serving peer in one
language and an opening peer in another, started independently (both by
this driver; neither starts the other), meet only through the broker's
address and share a queue, a lock, a dict and a pool.

    xl_matrix.py SERVE_LANG OPEN_LANG

The peers' command lines come from MP_RV_PEER_C, MP_RV_PEER_GO and
MP_RV_PEER_RUBY (an argv prefix, words separated by spaces); a language
whose peer is not set is skipped. Checked end to end: the opener found
the server's dict value, ran the server's pool task (its result), put
what it saw on the queue, could not take the lock while the server held
it and took it once released (its "ack" in the dict). Output is TAP.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import threading

TIMEOUT = 150  # seconds for the whole exchange


def peer(lang):
    spec = os.environ.get('MP_RV_PEER_' + lang.upper(), '')
    if not spec:
        print('1..0 # SKIP MP_RV_PEER_%s is not set (binding not built)' % lang.upper())
        sys.exit(0)
    return spec.split(' ')


def fail(msg, *procs):
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    print('not ok 1 - %s' % msg)
    sys.exit(1)


def read_ready(server):
    """The server's first line, or None if it does not come in time."""
    line = []
    t = threading.Thread(target=lambda: line.append(server.stdout.readline()), daemon=True)
    t.start()
    t.join(TIMEOUT)
    return line[0] if line else None


def main():
    if len(sys.argv) != 3:
        sys.exit('usage: xl_matrix.py SERVE_LANG OPEN_LANG')
    slang, olang = sys.argv[1], sys.argv[2]
    serve_cmd, open_cmd = peer(slang), peer(olang)
    print('1..1')
    tmp = tempfile.mkdtemp(prefix='mp-rv-')
    try:
        addr = 'unix:' + os.path.join(tmp, 'rv.sock')
        server = subprocess.Popen(serve_cmd + ['serve', addr], stdout=subprocess.PIPE, text=True)
        ready = read_ready(server)
        if ready != 'ready\n':
            fail('%s server did not get ready: %r' % (slang, ready), server)
        try:
            opener = subprocess.run(open_cmd + ['open', addr], stdout=subprocess.PIPE, text=True,
                                    timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            fail('%s opener hung' % olang, server)
        if opener.returncode != 0 or opener.stdout != 'done\n':  # the server would wait on
            fail('%s opener: status %d, output %r' % (olang, opener.returncode, opener.stdout), server)
        try:
            out, _ = server.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            fail('%s server hung after the opener ended' % slang, server)
        want = 'got client=%s server=%s pool=PING-%s\nack=%s\n' % (olang, slang, olang.upper(), olang)
        if server.returncode != 0 or out != want:
            fail('%s server: status %d, output %r, expected %r' % (slang, server.returncode, out, want))
        if os.path.exists(addr[len('unix:'):]):
            fail('%s server left its socket file' % slang)
        print('ok 1 - %s serves, %s opens: queue, lock, dict and pool shared' % (slang, olang))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


main()

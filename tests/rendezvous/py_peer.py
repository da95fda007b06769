#!/usr/bin/env python3
"""A CPython peer of multiproc's Listener and Client (tests/rendezvous).

    py_peer.py client   ADDRESS KEY [--proto 312]
    py_peer.py listener ADDRESS KEY ADDRFILE [--proto 312]

ADDRESS is a multiproc address (tcp://host:port, unix:/path, unix:@name);
KEY is the authkey in hex, or '-' for none. The listener writes the
address it serves (the real port for port 0) to ADDRFILE once it listens.

The conversation after the handshake:
    client:   send b'from python client', recv m, send m reversed
    listener: recv m, send m reversed, send b'from python listener',
              recv b'bye'

--proto 312 runs the handshake of CPython 3.12 and later (a '{sha256}'
challenge and '{digest}'-prefixed answers, legacy MD5 answers accepted),
written here from Lib/multiprocessing/connection.py of 3.12 with the
standard library's hmac, for Pythons older than 3.12. Without it the
installed multiprocessing.connection does everything.

Exit status: 0 done, 3 AuthenticationError, 2 any other failure.
Standard library only.
"""
import hmac
import os
import socket
import sys
import traceback
from multiprocessing import connection as mpc
from multiprocessing import AuthenticationError

CHALLENGE = b'#CHALLENGE#'
WELCOME = b'#WELCOME#'
FAILURE = b'#FAILURE#'
DIGESTS = (b'md5', b'sha256', b'sha384', b'sha3_256', b'sha3_384')
LEGACY_LENGTHS = (20, 16)  # a <= 3.11 challenge, an MD5 answer


def to_python_address(address):
    """The (family, address) multiprocessing takes for a multiproc address."""
    if address.startswith('tcp://'):
        host, _, port = address[len('tcp://'):].rpartition(':')
        return 'AF_INET', (host.strip('[]'), int(port))
    if address.startswith('unix:@'):
        return 'AF_UNIX', '\0' + address[len('unix:@'):]
    if address.startswith('unix:'):
        return 'AF_UNIX', address[len('unix:'):]
    raise ValueError('unknown address ' + address)


def from_python_address(family, addr):
    if family == 'AF_INET':
        return 'tcp://%s:%d' % addr
    if isinstance(addr, bytes):
        addr = addr.decode()
    return 'unix:@' + addr[1:] if addr.startswith('\0') else 'unix:' + addr


# ---- the 3.12 handshake (connection.py's deliver/answer_challenge) ------

def split_digest(message):
    """3.12's _get_digest_name_and_payload."""
    if len(message) in LEGACY_LENGTHS:
        return '', message
    if message.startswith(b'{'):
        end = message.find(b'}', 1, 10)
        if end > 0 and message[1:end] in DIGESTS:
            return message[1:end].decode('ascii'), message[end + 1:]
    raise AuthenticationError('unsupported digest or length: %r' % message)


def answer312(conn, key):
    message = conn.recv_bytes(256)
    if not message.startswith(CHALLENGE):
        raise AuthenticationError('expected a challenge, got %r' % message)
    message = message[len(CHALLENGE):]
    if len(message) < 20:
        raise AuthenticationError('challenge too short')
    name = split_digest(message)[0]
    if name:
        response = b'{%s}' % name.encode() + hmac.new(key, message, name).digest()
    else:
        response = hmac.new(key, message, 'md5').digest()
    conn.send_bytes(response)
    if conn.recv_bytes(256) != WELCOME:
        raise AuthenticationError('digest sent was rejected')


def deliver312(conn, key):
    message = b'{sha256}' + os.urandom(40)
    conn.send_bytes(CHALLENGE + message)
    response = conn.recv_bytes(256)
    try:
        name, mac = split_digest(response)
        expected = hmac.new(key, message, name or 'md5').digest()
        if len(expected) != len(mac) or not hmac.compare_digest(expected, mac):
            raise AuthenticationError('digest received was wrong')
    except AuthenticationError:
        conn.send_bytes(FAILURE)
        raise
    conn.send_bytes(WELCOME)


# ---- the two roles ------------------------------------------------------

def run_client(address, key, proto):
    family, addr = to_python_address(address)
    if proto != '312':
        conn = mpc.Client(addr, family=family, authkey=key)
    else:
        sock = socket.socket(getattr(socket, family))
        sock.connect(addr)
        conn = mpc.Connection(sock.detach())
        if key is not None:
            answer312(conn, key)
            deliver312(conn, key)
    conn.send_bytes(b'from python client')
    conn.send_bytes(conn.recv_bytes()[::-1])
    conn.close()


def write_address(path, address):
    with open(path + '.tmp', 'w') as f:
        f.write(address)
    os.rename(path + '.tmp', path)


def run_listener(address, key, addrfile, proto):
    family, addr = to_python_address(address)
    if proto != '312':
        listener = mpc.Listener(addr, family=family, authkey=key)
        write_address(addrfile, from_python_address(family, listener.address))
        conn = listener.accept()
    else:
        sock = socket.socket(getattr(socket, family))
        sock.bind(addr)
        sock.listen(1)
        write_address(addrfile, from_python_address(family, sock.getsockname()))
        peer, _ = sock.accept()
        conn = mpc.Connection(peer.detach())
        if key is not None:
            deliver312(conn, key)
            answer312(conn, key)
    conn.send_bytes(conn.recv_bytes()[::-1])
    conn.send_bytes(b'from python listener')
    if conn.recv_bytes() != b'bye':
        raise RuntimeError('expected bye')
    conn.close()


def main(argv):
    proto = None
    if '--proto' in argv:
        i = argv.index('--proto')
        proto = argv[i + 1]
        del argv[i:i + 2]
    role, address, key_hex = argv[1:4]
    key = None if key_hex == '-' else bytes.fromhex(key_hex)
    try:
        if role == 'client':
            run_client(address, key, proto)
        else:
            run_listener(address, key, argv[4], proto)
    except AuthenticationError as e:
        print('py_peer: AuthenticationError: %s' % e, file=sys.stderr)
        return 3
    except Exception:  # noqa: BLE001 - the test reads the status
        traceback.print_exc()
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))

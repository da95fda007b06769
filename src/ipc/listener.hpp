// mp_listener_t and mp_conn_connect: multiprocessing.connection's Listener
// and Client over unix: and tcp:// addresses, with CPython's authkey
// handshake (ipc/auth.hpp). See listener.cpp for the threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/address.hpp"
#include "core/deadline.hpp"
#include "ipc/conn.hpp"

struct mp_listener_opts {
  static constexpr uint32_t kMagic = 0x4d504c4f;  // "MPLO"
  uint32_t magic = kMagic;
  std::string authkey;
  bool allow_no_auth = false;
  int backlog = 128;
  int64_t handshake_ms = 5000;
};

namespace mp {
struct ListenerCore;
}

struct mp_listener {
  static constexpr uint32_t kMagic = 0x4d504c53;  // "MPLS"
  uint32_t magic = kMagic;
  std::shared_ptr<mp::ListenerCore> core;
  std::string address;  // what mp_listener_address() gives
};

namespace mp {

constexpr int kMaxHandshakes = 32;  // handshakes in progress at once
constexpr int kMaxWaiting = 64;     // handshakes + connections waiting for accept

// Bind and listen at a (unix: or tcp://), start the listener's thread.
int listener_open(mp_listener &l, const Address &a, const mp_listener_opts &o, const char *op);

// The next connection that finished its handshake, or MP_EACCES for a
// peer that failed it, MP_ETIMEDOUT, MP_ECLOSED.
int listener_accept(std::unique_ptr<mp_conn> &out, mp_listener &l, const Deadline &d,
                    const char *op);

// Stop listening: wake accepts, drop handshakes, unlink the socket file.
void listener_close(mp_listener &l);

// Close, then wait until no thread is inside listener_accept.
void listener_release(mp_listener &l);

// Connect to a (unix: or tcp://) and, with a key, run the client's half
// of the handshake.
int client_connect(std::unique_ptr<mp_conn> &out, const Address &a, const std::string &key,
                   const Deadline &d, const char *op);

}  // namespace mp

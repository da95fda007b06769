// Connections to redis servers on the runtime's loop (server.hpp). All the
// state below is touched only on the runtime thread, except Call and
// Notifier, which a caller thread waits on.
#include "redis/server.hpp"

#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "core/error.hpp"
#include "core/runtime.hpp"
#include "redis/credentials.hpp"

namespace mp::redis {

Endpoint endpoint_of(const Address &a) {
  Endpoint ep;
  ep.host = a.host;
  ep.port = a.port;
  ep.user = a.user;
  ep.db = a.db;
  ep.text = "redis://" + a.host + ":" + std::to_string(a.port) + "/" + std::to_string(a.db);
  return ep;
}

namespace {

struct Call {
  std::mutex mu;
  CondVar cv;
  bool done = false;
  int status = MP_OK;
  std::string why;
  Value reply;
};

struct Server {
  Endpoint ep;
  uv_loop_t *loop = nullptr;
  redisAsyncContext *cmd = nullptr;
  redisAsyncContext *sub = nullptr;
  std::string error;       // why the last connection failed or ended
  std::string auth_error;  // the server's answer to AUTH, when it refused
  std::string password;
  std::string cred_error;  // the password could not be read
  std::map<std::string, std::vector<std::weak_ptr<Notifier>>> channels;
  std::map<std::string, int64_t> heartbeats;  // key -> lease in ms
  uv_timer_t timer;
  bool timer_on = false;
};

// Servers are never freed: a hiredis callback may still point at one.
std::map<std::string, Server *> *g_servers = new std::map<std::string, Server *>();

// In a forked child the parent's servers are unusable (their connections
// and loop are the parent's): start afresh, keeping the old table reachable
// (never freed, as above) so the child's exit reports no leak.
void forget_servers_after_fork() {
  static std::vector<std::map<std::string, Server *> *> *abandoned =
      new std::vector<std::map<std::string, Server *> *>();
  if (g_servers->empty()) return;
  abandoned->push_back(g_servers);
  g_servers = new std::map<std::string, Server *>();
}
const int g_atfork = pthread_atfork(nullptr, nullptr, forget_servers_after_fork);

std::string server_key(const Endpoint &ep) {
  return ep.host + "\n" + std::to_string(ep.port) + "\n" + ep.user + "\n" + std::to_string(ep.db);
}

// Notified after unlocking: the woken caller then takes call.mu at once
// instead of sleeping again on it (one context switch less per call). The
// Call outlives this: the loop's shared_ptr holds it until we return.
void finish(Call &call, int status, std::string why, Value reply = Value()) {
  {
    std::lock_guard<std::mutex> lock(call.mu);
    call.status = status;
    call.why = std::move(why);
    call.reply = std::move(reply);
    call.done = true;
  }
  call.cv.notify_all();
}

void forget_ctx(const redisAsyncContext *c, const char *why) {
  Server *s = static_cast<Server *>(c->data);
  if (!s) return;
  s->error = c->errstr[0] ? c->errstr : why;
  if (s->cmd == c) s->cmd = nullptr;
  if (s->sub == c) s->sub = nullptr;
}

void on_connect(const redisAsyncContext *c, int status) {
  if (status != REDIS_OK) forget_ctx(c, "cannot connect");
}

void on_disconnect(const redisAsyncContext *c, int) { forget_ctx(c, "the connection ended"); }

void on_auth(redisAsyncContext *c, void *r, void *) {
  auto *reply = static_cast<redisReply *>(r);
  Server *s = static_cast<Server *>(c->data);
  if (s && reply && reply->type == REDIS_REPLY_ERROR) s->auth_error.assign(reply->str, reply->len);
}

// hiredis 0.14's libuv adapter drops a poll event with an error status
// (a refused or reset connection reports EPOLLERR), so a refused connect
// was never noticed and its calls waited for their timeout. These
// replace its event hooks: on an error, let hiredis read and write, and
// see the error for itself. The adapter's state and cleanup are kept.
void on_poll(uv_poll_t *handle, int status, int events) {
  auto *p = static_cast<redisLibuvEvents *>(handle->data);
  if (status != 0) {  // libuv stopped the handle: what hiredis asks next must start it again
    events = p->events | UV_WRITABLE;
    p->events = 0;
  }
  if (p->context && (events & UV_READABLE)) redisAsyncHandleRead(p->context);
  if (p->context && (events & UV_WRITABLE)) redisAsyncHandleWrite(p->context);
}

// Each uv_poll_start re-registers the fd with epoll (a DEL now, an ADD at
// the next loop turn), and hiredis asks for its events around every
// command (add write, del write, add read): so set_events starts the poll
// only when the events change, and not while write_now() writes a command
// itself (g_writing: the net change is applied once after).
redisLibuvEvents *g_writing = nullptr;  // runtime thread only

void apply_events(redisLibuvEvents *p) {
  if (p->events) uv_poll_start(&p->handle, p->events, on_poll);
  else uv_poll_stop(&p->handle);
}

void set_events(void *privdata, int add, int del) {
  auto *p = static_cast<redisLibuvEvents *>(privdata);
  int events = (p->events | add) & ~del;
  if (events == p->events) return;
  p->events = events;
  if (p != g_writing) apply_events(p);
}
void add_read(void *p) { set_events(p, UV_READABLE, 0); }
void del_read(void *p) { set_events(p, 0, UV_READABLE); }
void add_write(void *p) { set_events(p, UV_WRITABLE, 0); }
void del_write(void *p) { set_events(p, 0, UV_WRITABLE); }

void send_argv(redisAsyncContext *c, redisCallbackFn *fn, void *priv,
               const std::vector<std::string> &argv) {
  std::vector<const char *> p;
  std::vector<size_t> l;
  for (const auto &a : argv) {
    p.push_back(a.data());
    l.push_back(a.size());
  }
  redisAsyncCommandArgv(c, fn, priv, int(argv.size()), p.data(), l.data());
}

// Send a command and write it at once on a connected context (the socket
// is nearly always writable), not a loop turn later: one epoll round and
// the poll re-registrations fewer per call. What is left unwritten waits
// for writable as before. On a write error hiredis ends the context (its
// calls fail, forget_ctx runs; the events struct lives until the loop
// closes its handle, context nulled).
void write_now(redisAsyncContext *c, redisCallbackFn *fn, void *priv,
               const std::vector<std::string> &argv) {
  auto *p = static_cast<redisLibuvEvents *>(c->ev.data);
  if (!(c->c.flags & REDIS_CONNECTED) || g_writing) return send_argv(c, fn, priv, argv);
  int before = p->events;
  g_writing = p;
  send_argv(c, fn, priv, argv);
  redisAsyncHandleWrite(c);  // c may be freed from here on
  g_writing = nullptr;
  if (p->context && p->events != before) apply_events(p);
}

// A new connection, AUTH and SELECT queued first (hiredis writes them
// once connected). nullptr with s.error set when it cannot even start.
redisAsyncContext *open_ctx(Server &s) {
  redisAsyncContext *c = redisAsyncConnect(s.ep.host.c_str(), s.ep.port);
  if (!c) {
    s.error = "out of memory";
    return nullptr;
  }
  if (c->err) {
    s.error = c->errstr;
    redisAsyncFree(c);
    return nullptr;
  }
  // hiredis makes the socket without SOCK_CLOEXEC: a program the caller
  // executes (system(), its own fork+exec) must not inherit the connection.
  fcntl(c->c.fd, F_SETFD, FD_CLOEXEC);
  if (redisLibuvAttach(c, s.loop) != REDIS_OK) {
    s.error = "cannot attach the connection to the event loop";
    redisAsyncFree(c);
    return nullptr;
  }
  c->ev.addRead = add_read;
  c->ev.delRead = del_read;
  c->ev.addWrite = add_write;
  c->ev.delWrite = del_write;
  c->data = &s;
  redisAsyncSetConnectCallback(c, on_connect);
  redisAsyncSetDisconnectCallback(c, on_disconnect);
  if (!s.password.empty()) {
    std::vector<std::string> auth{"AUTH"};
    if (!s.ep.user.empty()) auth.push_back(s.ep.user);
    auth.push_back(s.password);
    send_argv(c, on_auth, nullptr, auth);
  }
  if (s.ep.db) send_argv(c, nullptr, nullptr, {"SELECT", std::to_string(s.ep.db)});
  return c;
}

Server &server_for(const Endpoint &ep, uv_loop_t *loop) {
  Server *&s = (*g_servers)[server_key(ep)];
  if (!s) {
    s = new Server();
    s->ep = ep;
    s->loop = loop;
    if (password_for(&s->password, ep.user) != MP_OK) s->cred_error = last_error_message();
    uv_timer_init(loop, &s->timer);
    s->timer.data = s;
  }
  return *s;
}

void on_reply(redisAsyncContext *c, void *r, void *priv) {
  auto *sp = static_cast<std::shared_ptr<Call> *>(priv);
  if (r) {
    finish(**sp, MP_OK, "", copy_reply(static_cast<redisReply *>(r)));
  } else {
    bool was_up = (c->c.flags & REDIS_CONNECTED) != 0;
    std::string why = c->errstr[0] ? c->errstr : "the connection ended";
    finish(**sp, was_up ? MP_EPIPE : MP_ECONNREFUSED, why);
  }
  delete sp;
}

void send_call(uv_loop_t *loop, const Endpoint &ep, const std::shared_ptr<Call> &call,
               const std::vector<std::string> &argv) {
  Server &s = server_for(ep, loop);
  if (!s.cred_error.empty()) return finish(*call, MP_EACCES, s.cred_error);
  if (!s.cmd) s.cmd = open_ctx(s);
  if (!s.cmd) return finish(*call, MP_ECONNREFUSED, s.error);
  write_now(s.cmd, on_reply, new std::shared_ptr<Call>(call), argv);
}

void on_message(redisAsyncContext *, void *r, void *priv) {
  auto *reply = static_cast<redisReply *>(r);
  if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3) return;
  const redisReply *type = reply->element[0], *ch = reply->element[1];
  if (type->type != REDIS_REPLY_STRING || std::string(type->str, type->len) != "message") return;
  Server &s = *static_cast<Server *>(priv);
  auto it = s.channels.find(std::string(ch->str, ch->len));
  if (it == s.channels.end()) return;
  for (const auto &w : it->second) {
    if (auto n = w.lock()) {
      std::lock_guard<std::mutex> lock(n->mu);
      ++n->seq;
      n->cv.notify_all();
      uint64_t one = 1;
      ssize_t w = n->fd >= 0 ? write(n->fd, &one, sizeof one) : 0;
      (void)w;  // a full counter already wakes its reader
    }
  }
}

void subscribe(Server &s, const std::string &channel) {
  if (s.sub) send_argv(s.sub, on_message, &s, {"SUBSCRIBE", channel});
}

// (Re)open the subscriber connection when someone watches a channel.
void ensure_sub(Server &s) {
  if (s.sub || s.channels.empty()) return;
  s.sub = open_ctx(s);
  for (const auto &ch : s.channels) subscribe(s, ch.first);
}

void on_tick(uv_timer_t *t) {
  Server &s = *static_cast<Server *>(t->data);
  if (s.heartbeats.empty()) {
    uv_timer_stop(t);
    s.timer_on = false;
    return;
  }
  if (!s.cmd) s.cmd = open_ctx(s);
  for (const auto &h : s.heartbeats)
    if (s.cmd) send_argv(s.cmd, nullptr, nullptr, {"SET", h.first, "1", "PX", std::to_string(h.second)});
  ensure_sub(s);
}

void restart_timer(Server &s) {
  int64_t lease = INT64_MAX;
  for (const auto &h : s.heartbeats) lease = std::min(lease, h.second);
  if (s.heartbeats.empty()) return;
  uint64_t every = uint64_t(std::max<int64_t>(lease / 3, 10));
  uv_timer_start(&s.timer, on_tick, every, every);
  s.timer_on = true;
}

}  // namespace

int command(Value *out, const Endpoint &ep, const std::vector<std::string> &argv,
            const Deadline &deadline, const char *op) {
  auto call = std::make_shared<Call>();
  int r = rt::post([ep, call, argv](uv_loop_t *loop) { send_call(loop, ep, call, argv); });
  if (r != MP_OK) return r;
  // A call that may not wait (timeout 0) still makes its one round trip.
  Deadline d = deadline.nonblocking() ? Deadline(kReplyCapMs) : deadline.within(kReplyCapMs);
  std::unique_lock<std::mutex> lock(call->mu);
  while (!call->done && !d.expired()) call->cv.wait(lock, d);
  if (!call->done) return report_trip(out, MP_ETIMEDOUT, "", Value(), ep, op);
  return report_trip(out, call->status, call->why, std::move(call->reply), ep, op);
}

int report_trip(Value *out, int status, const std::string &why, Value &&reply,
                const Endpoint &ep, const char *op) {
  if (status == MP_ETIMEDOUT)
    return fail(MP_ETIMEDOUT, "%s: no reply from %s in time (the command may still run)", op,
                ep.text.c_str());
  if (status == MP_ECONNREFUSED)
    return fail(MP_ECONNREFUSED, "%s: cannot connect to %s: %s", op, ep.text.c_str(),
                why.c_str());
  if (status == MP_EPIPE)
    return fail(MP_EPIPE, "%s: the connection to %s was lost (%s): the outcome is unknown", op,
                ep.text.c_str(), why.c_str());
  if (status != MP_OK) return fail(status, "%s: %s: %s", op, ep.text.c_str(), why.c_str());
  const std::string &e = reply.s;
  if (reply.kind == Value::kErr &&
      (e.rfind("NOAUTH", 0) == 0 || e.rfind("WRONGPASS", 0) == 0 || e.rfind("NOPERM", 0) == 0))
    return fail(MP_EACCES, "%s: %s refused: %s", op, ep.text.c_str(), e.c_str());
  *out = std::move(reply);
  return MP_OK;
}

uint32_t notified_seq(Notifier &n) {
  std::lock_guard<std::mutex> lock(n.mu);
  return n.seq;
}

void wait_notified(Notifier &n, uint32_t seen, const Deadline &deadline) {
  std::unique_lock<std::mutex> lock(n.mu);
  while (n.seq == seen && !deadline.expired()) n.cv.wait(lock, deadline);
}

void watch(const Endpoint &ep, const std::string &channel, const std::shared_ptr<Notifier> &n) {
  rt::post([ep, channel, n](uv_loop_t *loop) {
    Server &s = server_for(ep, loop);
    auto &list = s.channels[channel];
    list.push_back(n);
    if (list.size() == 1) subscribe(s, channel);
    ensure_sub(s);
  });
}

void unwatch(const Endpoint &ep, const std::string &channel, const std::shared_ptr<Notifier> &n) {
  rt::post([ep, channel, n](uv_loop_t *loop) {
    Server &s = server_for(ep, loop);
    auto it = s.channels.find(channel);
    if (it == s.channels.end()) return;
    auto &list = it->second;
    list.erase(std::remove_if(list.begin(), list.end(),
                              [&](const std::weak_ptr<Notifier> &w) {
                                auto p = w.lock();
                                return !p || p == n;
                              }),
               list.end());
    if (!list.empty()) return;
    s.channels.erase(it);
    if (s.sub) send_argv(s.sub, nullptr, nullptr, {"UNSUBSCRIBE", channel});
  });
}

void keep_alive(const Endpoint &ep, const std::string &key, int64_t lease_ms) {
  rt::post([ep, key, lease_ms](uv_loop_t *loop) {
    Server &s = server_for(ep, loop);
    s.heartbeats[key] = lease_ms;
    restart_timer(s);
  });
}

void stop_keep_alive(const Endpoint &ep, const std::string &key) {
  rt::post([ep, key](uv_loop_t *loop) {
    Server &s = server_for(ep, loop);
    s.heartbeats.erase(key);
    restart_timer(s);
  });
}

}  // namespace mp::redis

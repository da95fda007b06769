// Writes the seed corpus (tests/fuzz/corpus/<harness>/seed-*) with the
// library's real encoders, so the fuzzers start from valid messages:
//   build-fuzz/tests/fuzz/fuzz_make_seeds tests/fuzz/corpus
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "ipc/conn.hpp"
#include "broker/protocol.hpp"
#include "pool/protocol.hpp"
#include "process/target.hpp"

namespace {

std::string root;

void put(const std::string &harness, const std::string &name, const std::string &bytes) {
  std::string dir = root + "/" + harness;
  mkdir(dir.c_str(), 0755);
  std::string path = dir + "/seed-" + name;
  FILE *f = fopen(path.c_str(), "wb");
  if (!f || fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size() || fclose(f) != 0) {
    perror(path.c_str());
    exit(1);
  }
}

std::string frames(const std::vector<std::string> &msgs) {
  std::string s;
  for (const auto &m : msgs) s += mp::frame_header(m.size()) + m;
  return s;
}

void bootstrap() {
  mp::Bootstrap b;
  put("bootstrap", "empty", mp::encode_bootstrap(b));
  b.target = "worker";
  b.name = "Process-1";
  b.arg = std::string("\x01\x02payload\0bytes", 15);
  b.parent_pid = 4242;
  b.parent_name = "MainProcess";
  b.nfds = 3;
  put("bootstrap", "typical", mp::encode_bootstrap(b));
  b.daemon = 1;
  b.nfds = 64;
  b.arg.assign(300, 'a');
  put("bootstrap", "daemon", mp::encode_bootstrap(b));
  b.daemon = 0;
  b.nfds = 2;
  b.named = {{"jobs", "queue"}, {"back", "conn"}, {"lock_1", "fd"}};
  put("bootstrap", "named", mp::encode_bootstrap(b));
}

void pool() {
  mp::ChunkMsg c;
  c.id = 7;
  c.slot = 3;
  c.task = "square";
  c.indexes = {0, 1, 2};
  c.args = {"1", "22", ""};
  put("pool_protocol", "chunk", std::string(1, '\0') + mp::encode_chunk(c));
  mp::ResultMsg r;
  r.id = 7;
  r.items = {{0, MP_OK, "1"}, {1, MP_ETASKFAILED, "boom"}, {2, MP_OK, ""}};
  put("pool_protocol", "result", std::string(1, '\1') + mp::encode_result(r));
  mp::WorkerConfig w;
  w.init_task = "init";
  w.init_arg = "x";
  w.max_tasks = 10;
  w.board_index = 1;
  w.close_fds = {5, 6, 9};
  put("pool_protocol", "config", std::string(1, '\2') + mp::encode_config(w));
}

void conn() {
  // flags (socket, max 2^20 / pipe, max 2^6), split byte, mode byte, stream
  std::string socket_big(1, char(1 | (20 << 1))), pipe_small(1, char(0 | (6 << 1)));
  std::string s = frames({"hello", "", std::string(100, 'x')});
  put("conn_frame", "three", socket_big + "\x07\x00" + s);
  put("conn_frame", "three-pipe", pipe_small + "\x09\x03" + s);
  std::string big = "\xff\xff\xff\xff" + std::string("\0\0\0\0\0\0\0\x05", 8) + "large";
  put("conn_frame", "long-header", socket_big + "\x05\x01" + big + frames({"after"}));
  put("conn_frame", "too-big", pipe_small + "\x00\x00" + frames({std::string(200, 'y')}));
  put("conn_frame", "malformed", socket_big + "\x02\x00" + "\xff\xff\xff\xfe" + "junk");
  put("conn_frame", "truncated", socket_big + "\x03\x00" + frames({"abcdef"}).substr(0, 7));
}

void handle_env() {
  auto env = [](const char *name, const char *value) {
    return std::string(name) + std::string(1, '\0') + value;
  };
  put("handle_env", "queue", env("jobs", "queue:100"));
  put("handle_env", "conn", env("pipe", "conn:101"));
  put("handle_env", "wrong-kind", env("jobs", "conn:100"));
  put("handle_env", "not-a-queue", env("jobs", "queue:102"));
  put("handle_env", "empty-fd", env("x", "queue:"));
  put("handle_env", "bad-name", env("no-dash", "queue:100"));
  put("handle_env", "huge-fd", env("A_1", "conn:99999999999"));
}

void shm() {
  // queue_shm: kind, fill plan and sizes, corruption steps, operations.
  std::string q;
  q += '\2';                            // joinable
  q += std::string("\x3f\x10\x20\x00\x01", 5);  // fill everything
  q += '\0';                            // no corruption
  q += std::string("\x00\x01\x00\x02\x03\x04\x05\x06\x07\x08\x00\x00", 12);
  put("queue_shm", "fill-and-drain", q);
  std::string t = std::string("\0\x0b\x08\x20\x00\x01", 6) + "\x02" + "\x02\x0c" +
                  std::string("\x08\0\0\0\0\0\0\0", 8) + "\x01\x07" +
                  std::string("\xff\xff\xff\xff\0\0\0\0", 8) + std::string(6, '\0');
  put("queue_shm", "moved-indexes", t);
  // dict_shm: flags, fill count and value sizes, corruption, operations.
  std::string d = std::string("\0\x08", 2) + std::string(8, '\x05') + '\0';
  for (int i = 0; i < 10; ++i) d += std::string(1, char(i)) + std::string(1, char(i));
  put("dict_shm", "fill-and-use", d);
  std::string e = std::string("\x01\x06", 2) + std::string(6, '\x09') + "\x02" + "\x01\x08" +
                  std::string("\x09\0", 2) + "\x02\x03" + std::string("\xff\0\0\0\0\0\0\x80", 8) +
                  std::string("\x00\x00\x04\x01\x08\x02\x05\x03", 8);
  put("dict_shm", "owner-died", e);
}

}  // namespace

// The broker's frames: mode byte (bit 0: a pool channel's limit), piece
// size, then the stream.
void broker() {
  using mp::FrameType;
  auto seed = [](const char *name, char mode, char piece, const std::string &stream) {
    put("broker_request", name, std::string(1, mode) + std::string(1, piece) + stream);
  };
  seed("open-fd", 0, 0x10, mp::encode_frame(FrameType::kOpenFd, "jobs"));
  seed("open-pool", 0, 3, mp::encode_frame(FrameType::kOpenPool, "pool"));
  mp::Reply ok;
  ok.workers = 4;
  seed("reply-ok", 0, char(0xff), mp::encode_frame(FrameType::kReply, mp::encode_reply(ok)));
  mp::Reply no;
  no.status = MP_ENOSPC;
  no.message = "too many clients";
  seed("reply-refused", 0, 5, mp::encode_frame(FrameType::kReply, mp::encode_reply(no)));
  mp::ChunkMsg c;
  c.id = 7;
  c.task = "square";
  c.indexes = {0, 1};
  c.args = {"3", "44"};
  mp::ResultMsg r;
  r.id = 7;
  r.items = {{0, MP_OK, "9"}, {1, MP_ETASKFAILED, "boom"}};
  seed("pool-channel", 1, 0x40,
       mp::encode_frame(FrameType::kTask, mp::encode_chunk(c)) +
           mp::encode_frame(FrameType::kResult, mp::encode_outcome(r)) +
           mp::encode_frame(FrameType::kGone, mp::encode_reply(no)));
  std::string huge = mp::encode_frame(FrameType::kTask, "");
  uint64_t len = uint64_t(1) << 62;
  memcpy(&huge[8], &len, 8);
  seed("huge-length", 1, char(0xff), huge);
  seed("garbage", 0, 7, "GET / HTTP/1.0\r\n\r\n");
  std::string old = mp::encode_frame(FrameType::kOpenFd, "jobs");
  old[4] = 9;
  seed("bad-version", 0, 0x10, old);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s CORPUS-DIR\n", argv[0]);
    return 2;
  }
  root = argv[1];
  bootstrap();
  pool();
  conn();
  handle_env();
  shm();
  broker();
  return 0;
}

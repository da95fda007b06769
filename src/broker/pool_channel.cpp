// The owner's side of an opened pool: each kTask chunk from a client is
// submitted to the published pool as one result whose callback turns the
// outcome into a kResult frame in the channel's outbox. When the client
// goes, its chunks still queued are canceled and the outcomes of running
// ones dropped, so no task stays half-owned.
#include <unistd.h>

#include <algorithm>

#include "broker/broker.hpp"
#include "core/error.hpp"
#include "pool/pool.hpp"

namespace mp {
namespace {

// What a result's callback needs: the channel (which may be closed by
// then) and the client's numbering of the chunk.
struct Pending {
  std::shared_ptr<PoolChannel> channel;
  uint64_t id;
  std::vector<uint64_t> indexes;
};

void wake(PoolChannel &ch) {  // ch.mu held
  if (ch.wake_fd < 0) return;
  uint64_t one = 1;
  ssize_t w = write(ch.wake_fd, &one, sizeof one);
  (void)w;
}

void answer(PoolChannel &ch, const ResultMsg &m) {  // ch.mu held
  --ch.unanswered;
  if (ch.closed) return;
  ch.outbox += encode_frame(FrameType::kResult, encode_outcome(m));
  wake(ch);
}

void on_done(mp_result_t *r, void *payload) {
  std::unique_ptr<Pending> p(static_cast<Pending *>(payload));
  ResultMsg m;
  m.id = p->id;
  {
    std::lock_guard<std::mutex> lock(r->mu);  // complete: items are final
    for (size_t i = 0; i < r->items.size() && i < p->indexes.size(); ++i)
      m.items.push_back(ItemResult{p->indexes[i], r->items[i].status, r->items[i].data});
  }
  PoolChannel &ch = *p->channel;
  std::lock_guard<std::mutex> lock(ch.mu);
  auto it = std::find(ch.results.begin(), ch.results.end(), r);
  if (it != ch.results.end()) {
    ch.results.erase(it);
    result_unref(r);  // the channel's reference; the callback thread holds its own
  }
  answer(ch, m);
}

}  // namespace

bool channel_may_read(PoolChannel &ch) {
  std::lock_guard<std::mutex> lock(ch.mu);
  return ch.unanswered < kMaxChannelChunks && ch.outbox.size() < kMaxChannelOutbox;
}

int channel_submit(const std::shared_ptr<PoolChannel> &ch, const ChunkMsg &chunk) {
  if (chunk.args.empty()) return fail(MP_EINVAL, "pool channel: an empty chunk");
  auto *p = new Pending{ch, chunk.id, chunk.indexes};
  mp_result *r = result_new(chunk.args.size(), on_done, on_done, p);
  {
    std::lock_guard<std::mutex> lock(ch->mu);
    ++ch->unanswered;
    ch->results.push_back(r);  // the reference result_new gave
  }
  size_t n = chunk.args.size();
  int rc = pool_submit(*ch->pool, r, chunk.task, chunk.args, n, nullptr);
  if (rc == MP_OK) return MP_OK;
  std::lock_guard<std::mutex> lock(ch->mu);  // never queued: no callback will run
  --ch->unanswered;
  ch->results.pop_back();
  delete p;
  result_unref(r);
  return rc;
}

void channel_answer_failed(PoolChannel &ch, const ChunkMsg &chunk, int status,
                           const std::string &why) {
  ResultMsg m;
  m.id = chunk.id;
  for (uint64_t index : chunk.indexes) m.items.push_back(ItemResult{index, status, why});
  std::lock_guard<std::mutex> lock(ch.mu);
  ++ch.unanswered;
  answer(ch, m);
}

void channel_close(PoolChannel &ch, const char *withdrawn) {
  std::vector<mp_result *> results;
  mp_pool *pool;
  {
    std::lock_guard<std::mutex> lock(ch.mu);
    pool = ch.pool;
    ch.pool = nullptr;  // no more submissions
    if (withdrawn && !ch.closed) {
      Reply gone;
      gone.status = MP_ECLOSED;
      gone.message = withdrawn;
      ch.outbox += encode_frame(FrameType::kGone, encode_reply(gone));
      wake(ch);
    } else {
      ch.closed = true;
      ch.wake_fd = -1;
    }
    results = ch.results;
    for (mp_result *r : results) r->refs.fetch_add(1);  // kept while canceling
  }
  for (mp_result *r : results) {
    if (pool) pool_cancel_pending(*pool, r, MP_ECANCELED, "the client that submitted it is gone");
    result_unref(r);
  }
}

}  // namespace mp

// Copying hiredis replies and decoding the queue's get script reply
// (reply.hpp). Nothing here trusts the shape of what the server returns:
// our keys may have been overwritten by any client of the server.
#include "redis/reply.hpp"

#include <hiredis/hiredis.h>

#include <cstdlib>

#include "core/error.hpp"

namespace mp::redis {

namespace {

Value copy_at(const redisReply *r, int depth) {
  Value v;
  if (!r || depth > kMaxDepth) return v;
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      v.kind = Value::kInt;
      v.i = r->integer;
      break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      v.kind = r->type == REDIS_REPLY_STRING   ? Value::kStr
               : r->type == REDIS_REPLY_STATUS ? Value::kStatus
                                               : Value::kErr;
      v.s.assign(r->str ? r->str : "", r->str ? r->len : 0);
      break;
    case REDIS_REPLY_ARRAY:
      v.kind = Value::kArr;
      v.a.reserve(r->elements);
      for (size_t k = 0; k < r->elements; ++k) v.a.push_back(copy_at(r->element[k], depth + 1));
      break;
    default:
      break;
  }
  return v;
}

bool is_str(const Value &v) { return v.kind == Value::kStr || v.kind == Value::kStatus; }

// One entry: fields {"d", body} or {"x", length} with the body beside it.
// Returns "" when good, else why not.
const char *decode_entry(Delivery *d, const Value &fields, const Value &beside) {
  if (fields.kind != Value::kArr || fields.a.size() != 2 || !is_str(fields.a[0]) ||
      !is_str(fields.a[1]))
    return "its fields are not {d, body} or {x, length}";
  const std::string &tag = fields.a[0].s;
  if (tag == "d") {
    d->body = fields.a[1].s;
    return "";
  }
  if (tag != "x") return "its field is neither d nor x";
  const std::string &len = fields.a[1].s;
  char *end = nullptr;
  unsigned long long n = len.empty() ? 0 : strtoull(len.c_str(), &end, 10);
  if (len.empty() || *end || len.size() > 12 || n > kMaxRemoteMessage)
    return "its length field is not a number up to the maximum";
  if (beside.kind != Value::kStr) return "its body key is missing";
  if (beside.s.size() != n) return "its body key's length differs from the entry's";
  d->body = beside.s;
  d->beside = true;
  return "";
}

}  // namespace

Value copy_reply(const redisReply *r) { return copy_at(r, 0); }

bool valid_entry_id(const std::string &id) {
  size_t dash = id.find('-');
  if (id.size() > 41 || dash == std::string::npos || dash == 0 || dash + 1 == id.size())
    return false;
  for (size_t k = 0; k < id.size(); ++k)
    if (k != dash && (id[k] < '0' || id[k] > '9')) return false;
  return true;
}

int decode_get(GetOutcome *outcome, std::vector<Delivery> *out, std::vector<std::string> *bad,
               std::string *why, const Value &reply) {
  if (reply.kind != Value::kArr || reply.a.empty() || !is_str(reply.a[0]))
    return fail(MP_EINVAL, "the get script's reply has the wrong shape");
  const std::string &tag = reply.a[0].s;
  if (tag == "empty" || tag == "closed") {
    *outcome = tag == "empty" ? GetOutcome::kEmpty : GetOutcome::kClosed;
    return MP_OK;
  }
  if (tag != "msg" || reply.a.size() < 5 || (reply.a.size() - 1) % 4)
    return fail(MP_EINVAL, "the get script's reply has the wrong shape");
  *outcome = GetOutcome::kMessages;
  for (size_t k = 1; k < reply.a.size(); k += 4) {
    const Value &id = reply.a[k], &count = reply.a[k + 1];
    if (!is_str(id) || !valid_entry_id(id.s) || count.kind != Value::kInt || count.i < 1)
      return fail(MP_EINVAL, "the get script returned an entry without a valid id or count");
    Delivery d;
    d.id = id.s;
    d.count = count.i;
    const char *wrong = decode_entry(&d, reply.a[k + 2], reply.a[k + 3]);
    if (*wrong) {
      if (why->empty()) *why = "entry " + d.id + " is not a multiproc message: " + wrong;
      bad->push_back(d.id);
    } else {
      out->push_back(std::move(d));
    }
  }
  return MP_OK;
}

}  // namespace mp::redis

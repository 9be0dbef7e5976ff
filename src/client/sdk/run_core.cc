// RunCore: options, the logging threads' slots, the drain thread, offline and
// disabled delivery, finish and stats. Online delivery is in
// run_core_online.cc.
#include "client/sdk/run_core.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <random>

#include <fmt/format.h>

#include "client/sdk/json_value.h"
#include "client/sdk/run_dir_format.h"
#include "core/json_writer.h"
#include "core/names.h"

namespace vigil::client {
namespace {

std::atomic<uint64_t> g_next_serial{1};

// The slots this thread logs into, one per run; marks them when the thread
// exits so that the drain thread can retire them once empty.
struct ThreadRegistry {
  std::vector<std::pair<uint64_t, std::shared_ptr<ThreadSlot>>> slots;
  ~ThreadRegistry() {
    for (auto& [serial, slot] : slots) slot->producer_gone.store(true, std::memory_order_release);
  }
};

// The last run this thread logged to: trivially destructible, so reading
// them costs no TLS guard. tl_slot stays valid while tl_registry holds it.
thread_local uint64_t tl_serial = 0;
thread_local ThreadSlot* tl_slot = nullptr;
thread_local ThreadRegistry tl_registry;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// An integer option from the environment, when set: $RANK and friends.
Status EnvInt(const char* name, std::optional<int64_t>* out) {
  if (out->has_value()) return Status::OK();
  const char* v = std::getenv(name);
  if (v == nullptr) return Status::OK();
  char* end = nullptr;
  errno = 0;
  long long n = std::strtoll(v, &end, 10);
  if (*v == '\0' || *end != '\0' || errno != 0) {
    return Status::InvalidArgument(fmt::format("${}: \"{}\" is not an integer", name, v));
  }
  *out = static_cast<int64_t>(n);
  return Status::OK();
}

// Each ring holds at least this many points, so that a quarter of it
// (the interval between fill-level checks) is a useful amount.
constexpr size_t kMinRingCapacity = 64;

}  // namespace

std::string NewRunId() {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device rd;
  std::mt19937_64 rng((static_cast<uint64_t>(rd()) << 32) ^ rd() ^
                      static_cast<uint64_t>(SteadyNanos()));
  std::string id(8, ' ');
  for (char& c : id) c = kAlphabet[rng() % 36];
  return id;
}

Result<ResolvedOptions> ResolveOptions(Options o) {
  ResolvedOptions r;
  if (o.project.empty()) return Status::InvalidArgument("project: required");
  VIGIL_RETURN_IF_ERROR(ValidateProjectName(o.project).WithContext("project"));
  if (o.id.empty()) {
    o.id = NewRunId();
  } else {
    VIGIL_RETURN_IF_ERROR(ValidateRunId(o.id).WithContext("id"));
  }
  for (const auto& t : o.tags) VIGIL_RETURN_IF_ERROR(ValidateTag(t).WithContext("tags"));
  if (o.server.empty()) o.server = Env("VIGIL_SERVER");
  if (o.server.empty()) o.server = "http://127.0.0.1:7070";
  if (o.token.empty()) o.token = Env("VIGIL_TOKEN");
  r.mode = o.mode;
  if (r.mode == Mode::kAuto) {
    std::string m = Env("VIGIL_MODE");
    if (m.empty() || m == "online") {
      r.mode = Mode::kOnline;
    } else if (m == "offline") {
      r.mode = Mode::kOffline;
    } else if (m == "disabled") {
      r.mode = Mode::kDisabled;
    } else {
      return Status::InvalidArgument(
          fmt::format("VIGIL_MODE: \"{}\" is not one of online, offline, disabled", m));
    }
  }
  if (r.mode == Mode::kOnline) {
    VIGIL_RETURN_IF_ERROR(ParseBaseUrl(o.server).status().WithContext("server"));
  }
  if (o.offline_dir.empty()) o.offline_dir = Env("VIGIL_OFFLINE_DIR");
  if (o.offline_dir.empty()) o.offline_dir = kDefaultOfflineRoot;
  if (o.spool_dir.empty()) o.spool_dir = Env("VIGIL_SPOOL_DIR");
  if (o.spool_dir.empty()) {
    std::string home = Env("HOME");
    o.spool_dir = home.empty() ? std::string("/tmp/vigil-spool")
                               : fmt::format("{}/{}", home, kDefaultSpoolRoot);
  }
  VIGIL_RETURN_IF_ERROR(EnvInt("RANK", &o.rank));
  VIGIL_RETURN_IF_ERROR(EnvInt("WORLD_SIZE", &o.world_size));
  VIGIL_RETURN_IF_ERROR(EnvInt("LOCAL_RANK", &o.local_rank));
  if (o.world_size && (*o.world_size < 0 || *o.world_size > kMaxWorldSize)) {
    return Status::InvalidArgument(
        fmt::format("world_size: {} is not in [0, {}]", *o.world_size, kMaxWorldSize));
  }
  if (o.rank && (*o.rank < 0 || (o.world_size && *o.world_size > 0 && *o.rank >= *o.world_size))) {
    return Status::InvalidArgument(
        fmt::format("rank: {} is not in [0, world_size {})", *o.rank, o.world_size.value_or(0)));
  }
  if (o.local_rank && (*o.local_rank < 0 || *o.local_rank > kMaxWorldSize)) {
    return Status::InvalidArgument(
        fmt::format("local_rank: {} is negative or too large", *o.local_rank));
  }
  if (o.node.empty()) o.node = Env("VIGIL_NODE");
  if (o.node.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof(host) - 1);
    o.node = host[0] ? host : "localhost";
  }
  if (o.node.size() > kMaxNodeBytes) {
    return Status::InvalidArgument(fmt::format("node: longer than {} bytes", kMaxNodeBytes));
  }
  VIGIL_RETURN_IF_ERROR(ValidateLabelValue(o.node).WithContext("node"));
  r.distributed = o.rank && o.world_size && *o.world_size > 1;
  o.buffer_capacity = std::max(o.buffer_capacity, kMinRingCapacity);
  if (o.flush_interval.count() <= 0) o.flush_interval = std::chrono::milliseconds(1);
  if (o.heartbeat_interval.count() <= 0) o.heartbeat_interval = std::chrono::milliseconds(5000);
  r.o = std::move(o);
  return r;
}

namespace {

SeriesTable::LabelPairs RunLabels(const ResolvedOptions& r) {
  if (!r.distributed) return {};
  return {{"rank", std::to_string(*r.o.rank)}, {"node", r.o.node}};
}

}  // namespace

std::string RankHeartbeatBody(int64_t rank, int64_t step, std::string_view node) {
  JsonWriter w;
  w.BeginObject().Field("rank", rank);
  if (step >= 0) w.Field("step", step);
  w.Field("node", node).EndObject();
  return w.Take();
}

RunCore::RunCore(ResolvedOptions options)
    : opts_(std::move(options)),
      mode_(opts_.mode),
      id_(opts_.o.id),
      serial_(g_next_serial.fetch_add(1)),
      distributed_(opts_.distributed),
      commands_query_(distributed_ && *opts_.o.rank > 0 ? "?commands=none" : ""),
      table_(RunLabels(opts_)) {}

std::string RunCore::RunDirPath(const std::string& root) const {
  if (distributed_) return fmt::format("{}/{}-rank{}", root, id_, *opts_.o.rank);
  return fmt::format("{}/{}", root, id_);
}

Result<std::shared_ptr<RunCore>> RunCore::Start(ResolvedOptions options) {
  // Config: the JSON object first, then the map (its keys win).
  std::map<std::string, std::string> config;
  if (!options.o.config_json.empty()) {
    auto doc = ParseJson(options.o.config_json);
    if (!doc.ok()) return doc.status().WithContext("config_json");
    if (!doc->is_object()) return Status::InvalidArgument("config_json: not a JSON object");
    for (auto& [k, v] : doc->members) config[k] = v.raw;
  }
  for (const auto& [k, v] : options.o.config) {
    auto doc = ParseJson(v.json());
    if (!doc.ok()) return doc.status().WithContext(fmt::format("config[\"{}\"]", k));
    config[k] = v.json();
  }
  std::shared_ptr<RunCore> core(new RunCore(std::move(options)));
  core->config_ = std::move(config);

  if (core->mode_ == Mode::kOffline) {
    std::string dir = core->RunDirPath(core->opts_.o.offline_dir);
    VIGIL_ASSIGN_OR_RETURN(core->dir_, RunDirWriter::Open(dir));
    VIGIL_RETURN_IF_ERROR(core->dir_->WriteRunJson(core->RunBody()));
    std::lock_guard lock(core->dir_mu_);
    core->dir_path_ = dir;
  } else if (core->mode_ == Mode::kOnline) {
    HttpClientOptions ho;
    ho.timeout = std::chrono::milliseconds(10'000);
    ho.bearer_token = core->opts_.o.token;
    ho.user_agent = "vigil-cpp/0.1";
    core->http_ = std::make_unique<HttpClient>(core->opts_.o.server, ho);
    // Refused (bad project, token): init fails. Unreachable: the delivery
    // thread keeps trying, and spills meanwhile.
    Status created = core->CreateOnServer(/*first=*/true);
    if (created.code() == StatusCode::kFailedPrecondition) return created;
  }
  core->drain_thread_ = std::thread([c = core.get()] { c->DrainLoop(); });
  core->delivery_thread_ = std::thread([c = core.get()] {
    switch (c->mode_) {
      case Mode::kOffline:
        return c->DeliveryLoopOffline();
      case Mode::kOnline:
        return c->DeliveryLoopOnline();
      default:
        return c->DeliveryLoopDisabled();
    }
  });
  return core;
}

RunCore::~RunCore() {
  Finish(std::uncaught_exceptions() > 0 ? "failed" : "finished");
}

int64_t RunCore::NowMillis() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

void RunCore::Notice(const std::string& message) const {
  if (!opts_.o.quiet) fmt::print(stderr, "vigil: {}\n", message);
}

// ---- logging threads ----

ThreadSlot* RunCore::Slot() {
  if (tl_serial == serial_) return tl_slot;
  return SlotSlow();
}

ThreadSlot* RunCore::SlotSlow() {
  auto& reg = tl_registry.slots;
  std::erase_if(reg, [](const auto& e) { return e.second->run_closed.load(); });
  for (auto& [serial, slot] : reg) {
    if (serial == serial_) {
      tl_serial = serial;
      tl_slot = slot.get();
      return tl_slot;
    }
  }
  auto slot = std::make_shared<ThreadSlot>(opts_.o.buffer_capacity);
  {
    std::lock_guard lock(slots_mu_);
    slots_.push_back(slot);
  }
  reg.emplace_back(serial_, slot);
  tl_serial = serial_;
  tl_slot = slot.get();
  return tl_slot;
}

uint32_t RunCore::InternSlow(ThreadSlot* slot, std::string_view cache_key, std::string_view metric,
                             size_t hash, const SeriesTable::LabelView* labels, size_t n) {
  auto id = table_.Intern(metric, labels, n);
  uint32_t series = kInvalidSeries;
  if (id.ok()) {
    series = *id;
  } else if (table_.FirstTimeError(id.status().message())) {
    fmt::print(stderr, "vigil: not logged ({}); counted in stats().invalid\n",
               id.status().message());
  }
  slot->names.Insert(cache_key, hash, series);
  return series;
}

uint32_t RunCore::SeriesId(std::string_view metric, const SeriesTable::LabelView* labels,
                           size_t n) {
  auto id = table_.Intern(metric, labels, n);
  if (id.ok()) return *id;
  if (table_.FirstTimeError(id.status().message())) {
    fmt::print(stderr, "vigil: not logged ({}); counted in stats().invalid\n",
               id.status().message());
  }
  return kInvalidSeries;
}

void RunCore::LogLabelled(std::string_view metric, double value, int64_t step, int64_t time_ms,
                          const SeriesTable::LabelView* labels, size_t n) {
  if (finished_.load(std::memory_order_relaxed)) return LogAfterFinish();
  ThreadSlot* slot = Slot();
  // The cache key: metric \0 name \0 value ... in the caller's order (the
  // table canonicalises; a different order only costs a second cache entry).
  std::string& key = slot->key;
  key.assign(metric);
  for (size_t i = 0; i < n; ++i) {
    key.push_back('\0');
    key.append(labels[i].first);
    key.push_back('\0');
    key.append(labels[i].second);
  }
  size_t h = NameCache::Hash(key);
  const uint32_t* id = slot->names.Find(key, h);
  uint32_t series = id ? *id : InternSlow(slot, key, metric, h, labels, n);
  Push(slot, series, step, time_ms, value);
}

void RunCore::LogAfterFinish() {
  if (invalid_after_finish_.fetch_add(1) == 0) {
    fmt::print(stderr, "vigil: run {}: log() after finish(); counted in stats().invalid\n", id_);
  }
}

void RunCore::PushSlow(ThreadSlot* slot, uint32_t series, int64_t step, int64_t time_ms,
                       double value) {
  const BufferedPoint p{series, step, time_ms, value};
  const int64_t deadline = SteadyNanos() + opts_.o.max_block.count() * 1'000'000;
  for (int i = 0;; ++i) {
    if ((i & 7) == 0) {
      drain_wake_.store(true, std::memory_order_relaxed);
      drain_cv_.notify_one();
    }
    if (slot->ring.TryPush(p)) {
      slot->pushed.store(slot->pushed.load(std::memory_order_relaxed) + 1,
                         std::memory_order_relaxed);
      return;
    }
    if (SteadyNanos() >= deadline || finished_.load(std::memory_order_relaxed)) break;
    if (i < 16) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }
  slot->dropped.store(slot->dropped.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  if (!reported_drop_.exchange(true)) {
    fmt::print(stderr,
               "vigil: run {}: log buffer full for {} ms, dropping points (counted in "
               "stats().dropped)\n",
               id_, opts_.o.max_block.count());
  }
}

// ---- drain thread ----

bool RunCore::DrainOnce() {
  std::vector<std::shared_ptr<ThreadSlot>> slots;
  {
    std::lock_guard lock(slots_mu_);
    slots = slots_;
  }
  size_t moved = 0;
  int64_t max_step = -1;
  for (const auto& slot : slots) {
    // Bounded per slot and pass, so that one busy thread cannot starve the
    // flush timer.
    if (mode_ == Mode::kDisabled) {
      size_t n = slot->ring.Drain([](const BufferedPoint&) {});
      discarded_.fetch_add(n, std::memory_order_relaxed);
      moved += n;
      continue;
    }
    moved += slot->ring.Drain(
        [&](const BufferedPoint& p) {
          if (columns_.points() == 0) first_pending_ms_ = NowMillis();
          max_step = std::max(max_step, p.step);
          columns_.Add(p);
          if (columns_.full()) FlushColumns();
        },
        opts_.o.buffer_capacity);
  }
  if (max_step > last_step_.load(std::memory_order_relaxed)) {
    last_step_.store(max_step, std::memory_order_relaxed);
  }
  // Retire the slots of threads that have exited, once empty.
  std::lock_guard lock(slots_mu_);
  std::erase_if(slots_, [&](const std::shared_ptr<ThreadSlot>& s) {
    if (!s->producer_gone.load(std::memory_order_acquire) || s->ring.SizeApprox() != 0)
      return false;
    retired_pushed_ += s->pushed.load();
    retired_dropped_ += s->dropped.load();
    retired_invalid_ += s->invalid.load();
    return true;
  });
  return moved > 0;
}

void RunCore::FlushColumns() {
  if (columns_.points() == 0) return;
  std::vector<EncodedBatch> batches;
  columns_.Encode(table_, &batches);
  std::unique_lock lock(out_mu_);
  for (EncodedBatch& b : batches) {
    // Back-pressure: a full outbox stops the drain (the rings then fill and
    // log() blocks, then drops, counted).
    out_room_cv_.wait(lock, [&] { return outbox_bytes_ <= kMaxOutboxBytes; });
    outbox_bytes_ += b.body.size();
    outbox_points_ += b.points;
    outbox_.push_back(std::move(b));
  }
  out_cv_.notify_all();
}

void RunCore::DrainLoop() {
  const auto poll =
      std::chrono::milliseconds(std::clamp<int64_t>(opts_.o.flush_interval.count() / 4, 1, 20));
  std::unique_lock lock(drain_mu_);
  while (true) {
    drain_cv_.wait_for(lock, poll, [&] {
      return drain_stop_ || drain_wake_.load(std::memory_order_relaxed) ||
             flush_requests_ > flushes_done_;
    });
    const bool stop = drain_stop_;
    const uint64_t requested = flush_requests_;
    lock.unlock();
    drain_wake_.store(false, std::memory_order_relaxed);
    // When stopping or flushing, empty the rings completely; otherwise a few
    // passes, then look at the clock.
    for (int pass = 0; DrainOnce() && (stop || requested > flushes_done_ || pass < 4); ++pass) {
    }
    if (stop || requested > flushes_done_ ||
        (columns_.points() > 0 &&
         NowMillis() - first_pending_ms_ >= opts_.o.flush_interval.count())) {
      FlushColumns();
    }
    lock.lock();
    if (requested > flushes_done_) {
      flushes_done_ = requested;
      flushed_cv_.notify_all();
    }
    if (stop) break;
  }
}

bool RunCore::Flush(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  {
    std::unique_lock lock(drain_mu_);
    if (drain_stop_) return true;
    uint64_t ticket = ++flush_requests_;
    drain_cv_.notify_all();
    if (!flushed_cv_.wait_until(lock, deadline, [&] { return flushes_done_ >= ticket; })) {
      return false;
    }
  }
  std::unique_lock lock(out_mu_);
  return out_room_cv_.wait_until(lock, deadline, [&] { return outbox_.empty() && !in_flight_; });
}

// ---- delivery: offline and disabled ----

void RunCore::DeliveryLoopOffline() {
  std::unique_lock lock(out_mu_);
  while (true) {
    out_cv_.wait(lock,
                 [&] { return !outbox_.empty() || closed_ || config_patch_ || summary_patch_; });
    if (config_patch_) {
      config_patch_.reset();
      std::string body = RunBody();
      lock.unlock();
      Status s = dir_->WriteRunJson(body);
      if (!s.ok()) fmt::print(stderr, "vigil: {}\n", s.ToString());
      lock.lock();
    }
    summary_patch_.reset();  // the summary goes into finish.json
    if (!outbox_.empty()) {
      EncodedBatch b = std::move(outbox_.front());
      outbox_.pop_front();
      outbox_bytes_ -= b.body.size();
      outbox_points_ -= b.points;
      in_flight_ = true;
      lock.unlock();
      out_room_cv_.notify_all();
      Status s = dir_->AppendBatch(b.body);
      if (s.ok()) {
        delivered_.fetch_add(b.points);
      } else {
        rejected_.fetch_add(b.points);
        if (last_error_ != s.message()) fmt::print(stderr, "vigil: {}\n", s.ToString());
        last_error_ = s.message();
      }
      lock.lock();
      in_flight_ = false;
      out_room_cv_.notify_all();
      continue;
    }
    if (closed_) {
      std::string body = FinishBody(final_state_);
      lock.unlock();
      Status s = dir_->WriteFinishJson(body);
      if (!s.ok()) fmt::print(stderr, "vigil: {}\n", s.ToString());
      return;
    }
  }
}

void RunCore::DeliveryLoopDisabled() {
  std::unique_lock lock(out_mu_);
  out_cv_.wait(lock, [&] { return closed_; });
}

// ---- control ----

void RunCore::SetConfig(std::map<std::string, std::string> entries) {
  MergeEntries(std::move(entries), &config_, &config_patch_);
}

void RunCore::SetSummary(std::map<std::string, std::string> entries) {
  MergeEntries(std::move(entries), &summary_, &summary_patch_);
}

void RunCore::MergeEntries(std::map<std::string, std::string> entries,
                           std::map<std::string, std::string>* into,
                           std::optional<std::string>* patch) {
  if (entries.empty()) return;
  std::lock_guard lock(out_mu_);
  JsonWriter w;
  w.BeginObject();
  for (auto& [k, v] : entries) {
    w.Key(k).Raw(v);
    (*into)[k] = v;
  }
  w.EndObject();
  *patch = w.Take();
  out_cv_.notify_all();
}

void RunCore::OnCommand(std::function<void(const Command&)> cb) {
  std::lock_guard lock(out_mu_);
  on_command_ = std::move(cb);
}

std::string RunCore::RunBody() const {
  // REQUIRES: out_mu_ held, or no other thread running (Start).
  JsonWriter w;
  w.BeginObject().Field("project", opts_.o.project).Field("id", id_);
  if (!opts_.o.name.empty()) w.Field("name", opts_.o.name);
  w.Key("config").BeginObject();
  for (const auto& [k, v] : config_) w.Key(k).Raw(v);
  w.EndObject();
  if (!opts_.o.tags.empty()) {
    w.Key("tags").BeginArray();
    for (const auto& t : opts_.o.tags) w.String(t);
    w.EndArray();
  }
  if (!opts_.o.group.empty()) w.Field("group", opts_.o.group);
  if (!opts_.o.notes.empty()) w.Field("notes", opts_.o.notes);
  if (opts_.o.rank) w.Field("rank", *opts_.o.rank);
  if (opts_.o.world_size) w.Field("world_size", *opts_.o.world_size);
  if (distributed_) {
    w.Field("node", opts_.o.node);
    if (opts_.o.local_rank) w.Field("local_rank", *opts_.o.local_rank);
  }
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  w.Key("host")
      .BeginObject()
      .Field("hostname", host)
      .Field("pid", static_cast<int64_t>(::getpid()));
  w.Field("sdk", "cpp").EndObject();
  w.EndObject();
  return w.Take();
}

std::string RunCore::FinishBody(std::string_view state) const {
  // REQUIRES: out_mu_ held.
  JsonWriter w;
  w.BeginObject().Field("state", state);
  if (distributed_) w.Field("rank", *opts_.o.rank);
  if (!summary_.empty()) {
    w.Key("summary").BeginObject();
    for (const auto& [k, v] : summary_) w.Key(k).Raw(v);
    w.EndObject();
  }
  w.EndObject();
  return w.Take();
}

bool RunCore::Finish(std::string_view state) {
  std::lock_guard finish_lock(finish_mu_);
  if (finish_result_) return *finish_result_;
  finished_.store(true);
  {
    std::lock_guard lock(drain_mu_);
    drain_stop_ = true;
  }
  drain_cv_.notify_all();
  if (drain_thread_.joinable()) drain_thread_.join();
  {
    std::lock_guard lock(out_mu_);
    closed_ = true;
    final_state_ = std::string(state);
  }
  out_cv_.notify_all();
  if (delivery_thread_.joinable()) delivery_thread_.join();
  {
    std::lock_guard lock(slots_mu_);
    for (auto& s : slots_) s->run_closed.store(true);
  }
  Stats s = GetStats();
  if (s.dropped)
    fmt::print(stderr, "vigil: run {}: {} points dropped (log buffer full)\n", id_, s.dropped);
  if (s.invalid)
    fmt::print(stderr, "vigil: run {}: {} points not logged (invalid names, or after finish)\n",
               id_, s.invalid);
  if (s.rejected)
    fmt::print(stderr, "vigil: run {}: {} points refused ({})\n", id_, s.rejected, last_error_);
  std::string local = LocalDir();
  if (s.pending && mode_ == Mode::kOnline && !local.empty()) {
    fmt::print(stderr,
               "vigil: run {}: {} points not delivered; they are in {} — upload them with: "
               "vigil sync {}\n",
               id_, s.pending, local, local);
  }
  finish_result_ = s.dropped == 0 && s.rejected == 0 && s.pending == 0 && s.invalid == 0;
  return *finish_result_;
}

Stats RunCore::GetStats() const {
  Stats s;
  {
    std::lock_guard lock(slots_mu_);
    s.logged = retired_pushed_;
    s.dropped = retired_dropped_;
    s.invalid = retired_invalid_;
    for (const auto& slot : slots_) {
      s.logged += slot->pushed.load(std::memory_order_relaxed);
      s.dropped += slot->dropped.load(std::memory_order_relaxed);
      s.invalid += slot->invalid.load(std::memory_order_relaxed);
    }
  }
  s.invalid += invalid_after_finish_.load();
  s.delivered = delivered_.load();
  s.duplicates = duplicates_.load();
  s.rejected = rejected_.load();
  s.spilled = spilled_.load();
  uint64_t done = s.delivered + s.rejected + discarded_.load();
  s.pending = s.logged > done ? s.logged - done : 0;
  return s;
}

std::string RunCore::LocalDir() const {
  std::lock_guard lock(dir_mu_);
  return dir_path_;
}

}  // namespace vigil::client

// vigil C++ SDK: log training metrics from C++ to a vigil server, or to a
// local directory for a later `vigil sync`.
//
//   #include <vigil/vigil.h>
//   vigil::Run run = vigil::init({.project = "digits", .config = {{"lr", 0.01}}});
//   for (int64_t step = 0; step < steps; ++step) {
//     run.log("train/loss", loss, step);
//     if (run.should_stop()) break;
//   }
//   run.finish();
//
// Threading: every member of Run may be called from any thread, concurrently.
// log() never touches the network or the disk: it stamps the point with the
// wall-clock time and appends it to a bounded buffer owned by the calling
// thread (tens of nanoseconds). A background thread drains the buffers,
// groups the points per series and sends them in batches; a second one
// delivers them (retries with exponential backoff, spills to disk while the
// server is unreachable, replays the spill when it is back, heartbeats, and
// receives the commands the server piggybacks on its answers).
//
// When a thread's buffer is full, log() waits for the drainer up to
// Options::max_block, then drops the point and counts it. Nothing is dropped
// silently: Run::stats() reports every drop, and finish() prints a line to
// stderr when any point was dropped, rejected or left undelivered.
//
// This header depends on the standard library only; see docs/cpp.md.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vigil {

namespace client {
class RunCore;  // the implementation (src/client/sdk/run_core.h)
}

// A config or summary value, held as its JSON text.
class ConfigValue {
 public:
  ConfigValue(bool v);                // NOLINT(google-explicit-constructor)
  ConfigValue(int v);                 // NOLINT
  ConfigValue(long v);                // NOLINT
  ConfigValue(long long v);           // NOLINT
  ConfigValue(unsigned v);            // NOLINT
  ConfigValue(unsigned long v);       // NOLINT
  ConfigValue(unsigned long long v);  // NOLINT
  ConfigValue(float v);               // NOLINT
  ConfigValue(double v);              // NOLINT
  ConfigValue(const char* v);         // NOLINT
  ConfigValue(std::string_view v);    // NOLINT
  ConfigValue(const std::string& v);  // NOLINT
  // A value given as JSON text (an array, an object); checked when used.
  static ConfigValue Json(std::string json);

  const std::string& json() const { return json_; }

 private:
  ConfigValue() = default;
  std::string json_;
};

// Top-level keys of a config or summary object.
using Config = std::map<std::string, ConfigValue>;

// Label name/value pairs for a call: {{"rank", "0"}, {"split", "val"}}.
using LabelList = std::initializer_list<std::pair<std::string_view, std::string_view>>;
// The same, owned.
using LabelPairs = std::vector<std::pair<std::string, std::string>>;

enum class Mode {
  kAuto,      // $VIGIL_MODE ("online", "offline", "disabled"), else online
  kOnline,    // send to the server
  kOffline,   // write <offline_dir>/<run id>/ for `vigil sync`
  kDisabled,  // accept every call, keep nothing
};

struct Options {
  std::string project;        // required: [A-Za-z0-9][A-Za-z0-9_.-]*
  std::string name{};         // default: the run id
  std::string id{};           // an existing run's id resumes it; default: a new id
  std::string config_json{};  // a JSON object, merged with `config`
  Config config{};            // hyperparameters
  std::vector<std::string> tags{};
  std::string group{};
  std::string notes{};
  // Distributed jobs (docs/distributed.md): every rank of a job calls init()
  // with the same `id`. Defaults: $RANK, $WORLD_SIZE, $LOCAL_RANK (each only
  // when set; a value that is not an integer fails init). With a rank and
  // world_size > 1 the run is one rank of a job: the first rank creates the
  // run and the others join it, every series carries the labels
  // rank="<rank>" and node="<node>", heartbeats report the rank's last
  // logged step, ranks > 0 take no commands, and finish() from a rank > 0
  // only records that rank as finished.
  std::optional<int64_t> rank{};
  std::optional<int64_t> world_size{};
  std::optional<int64_t> local_rank{};
  std::string node{};    // default $VIGIL_NODE, else the host name
  std::string server{};  // default $VIGIL_SERVER, else http://127.0.0.1:7070
  std::string token{};   // default $VIGIL_TOKEN
  Mode mode = Mode::kAuto;
  // Points each logging thread may hold before the drainer takes them.
  size_t buffer_capacity = 65536;
  // A batch leaves at the latest this long after its first point was logged.
  std::chrono::milliseconds flush_interval{1000};
  // How long log() waits for room in a full buffer before it drops the
  // point (and counts it); 0 drops at once.
  std::chrono::milliseconds max_block{1000};
  std::chrono::milliseconds heartbeat_interval{5000};
  // After this long without reaching the server, batches go to the spool
  // directory on disk instead of memory; they are replayed when it is back.
  std::chrono::milliseconds spill_after{10000};
  // How long finish() tries to deliver what is left before it spills it.
  std::chrono::milliseconds finish_timeout{30000};
  std::string spool_dir{};    // default $VIGIL_SPOOL_DIR, else ~/.cache/vigil/spool
  std::string offline_dir{};  // default $VIGIL_OFFLINE_DIR, else ./vigil-offline
  bool quiet = false;         // no notices on stderr (errors still go there)
};

// A command from the server (pause, resume, stop, checkpoint, rollback, set).
struct Command {
  std::string id;
  std::string type;
  std::string args_json;  // the "args" object, "{}" when absent

  // An argument of args_json, when present and of that type.
  std::optional<double> number_arg(std::string_view key) const;
  std::optional<std::string> string_arg(std::string_view key) const;
};

enum class CommandStatus { kAcknowledged, kDone, kFailed };

// Counters since init(); points are counted once each.
struct Stats {
  uint64_t logged = 0;      // accepted by log()
  uint64_t delivered = 0;   // acknowledged by the server, or written offline
  uint64_t duplicates = 0;  // of those, dropped by the server as repeats
  uint64_t dropped = 0;     // log() found the buffer full for max_block
  uint64_t invalid = 0;     // bad metric or label names, logged after finish
  uint64_t rejected = 0;    // refused by the server (4xx), not retried
  uint64_t spilled = 0;     // written to the spool directory
  uint64_t pending = 0;     // logged but not yet delivered
};

class Run;

// A handle on one series (metric + labels) of a run: the fastest way to log,
// with no name lookup per point. Copyable; valid while any handle on the run
// exists.
class Series {
 public:
  Series() = default;
  void log(double value, int64_t step) const;

 private:
  friend class Run;
  std::shared_ptr<client::RunCore> core_;
  uint32_t id_ = 0;
};

// A run. Copies are handles on the same run; the last one to go finishes the
// run ("finished", or "failed" while an exception unwinds) unless finish()
// was called.
class Run {
 public:
  Run() = default;  // an inert run: ok() is false, every call does nothing

  // False when init() failed (bad options, the server refused the run);
  // error() says why. A run that cannot reach the server is ok().
  bool ok() const;
  const std::string& error() const;
  const std::string& id() const;
  Mode mode() const;
  // This process's rank when the run is one rank of a distributed job
  // (rank given and world_size > 1), else nullopt.
  std::optional<int64_t> rank() const;

  void log(std::string_view metric, double value, int64_t step);
  void log(std::string_view metric, double value, int64_t step, LabelList labels);
  void log(std::string_view metric, double value, int64_t step, const LabelPairs& labels);
  // Several metrics of one step, one timestamp.
  void log(std::initializer_list<std::pair<std::string_view, double>> values, int64_t step);
  void log(std::initializer_list<std::pair<std::string_view, double>> values, int64_t step,
           LabelList labels);

  // A handle for repeated logging of one series. An invalid name gives a
  // handle that counts every point as invalid.
  Series series(std::string_view metric, LabelList labels = {});
  Series series(std::string_view metric, const LabelPairs& labels);

  // Merged into the run's config / summary (top-level keys replace).
  // Invalid JSON is reported on stderr and ignored.
  void set_config(const Config& config);
  void set_config(std::string_view json_object);
  void set_summary(const Config& summary);
  void set_summary(std::string_view json_object);

  // Delivers every logged point (or spills it), then records the final state
  // ("finished", "failed", "crashed") and summary. Later calls do nothing.
  // Returns false if something was not delivered (see stats()).
  bool finish(std::string_view state = "finished");

  // Commands: a "stop" sets should_stop(), "pause"/"resume" toggle
  // should_pause(). Every command is acknowledged automatically when it
  // arrives; the callback (run on the background thread: keep it short)
  // sees every command, and may report the outcome with ack().
  bool should_stop() const;
  bool should_pause() const;
  void on_command(std::function<void(const Command&)> callback);
  void ack(const Command& command, CommandStatus status, std::string_view message = {});

  Stats stats() const;
  // Offline mode: the run's directory; online: the spool directory in use
  // (empty when nothing was spilled).
  std::string local_dir() const;

 private:
  friend Run init(Options options);
  std::shared_ptr<client::RunCore> core_;
  std::string error_;
};

// Starts (or resumes) a run. Never throws; check ok().
Run init(Options options);

}  // namespace vigil

// MetadataStore: projects, runs (state, config, tags, notes, host info,
// summary, group, world size), and each run's event log, in SQLite in WAL
// mode (metadata.sqlite in the data directory). Points live in the
// time-series engine; this holds everything about a run that is not a point.
//
// Durability: every mutating call has committed when it returns (WAL mode,
// synchronous=NORMAL: survives a crash of the process; `synchronous=FULL`
// via Options survives power loss too).
//
// JSON columns (config, host, summary, event data) hold JSON text that the
// caller has validated; this class stores and returns it unchanged, except
// where a method says it merges.
//
// Schema: metadata_format.h (versioned with PRAGMA user_version; Open
// migrates an older file and refuses a newer one).
//
// Errors: NotFound("run <id> does not exist"), AlreadyExists, InvalidArgument
// for a bad state, limit or filter; SQLite's failures as Corruption (the file
// is not a database or is damaged), IOError, Unavailable (locked by another
// process past the busy timeout) or Internal, with the path and SQLite's
// message.
//
// Thread-safety: all methods may be called from any thread; calls are
// serialised on one connection by an internal mutex.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "core/status.h"

namespace vigil::storage {

namespace sqlite {
class Conn;
}

// Run states. A run is created `running`; SDKs finish it `finished` or
// `failed`; the server marks `crashed` a running run whose heartbeats stop.
inline constexpr std::string_view kRunStates[] = {"running", "finished", "failed", "crashed"};
bool IsValidRunState(std::string_view state);

struct RunRecord {
  std::string id;
  std::string project;
  std::string name;
  std::string state = "running";
  std::string group;
  std::vector<std::string> tags;
  std::string notes;
  std::string config_json = "{}";   // a JSON object
  std::string summary_json = "{}";  // a JSON object the user sets
  std::string host_json = "{}";     // host, pid, versions, command line
  std::string message;              // why it failed, if it did
  int64_t world_size = 0;           // 0: not distributed
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  int64_t heartbeat_ms = 0;  // last sign of life from the SDK
  int64_t finished_ms = 0;   // 0 while running
  int64_t resumed = 0;       // how many times the run was resumed
};

// Changes to a run; unset fields are left alone.
struct RunPatch {
  std::optional<std::string> name;
  std::optional<std::string> state;
  std::optional<std::string> group;
  std::optional<std::vector<std::string>> tags;
  std::optional<std::string> notes;
  std::optional<std::string> config_json;   // replaces the whole object
  std::optional<std::string> summary_json;  // replaces the whole object
  std::optional<std::string> host_json;
  std::optional<std::string> message;
  std::optional<int64_t> world_size;
  std::optional<int64_t> finished_ms;
  std::optional<int64_t> heartbeat_ms;
  bool increment_resumed = false;
};

// Ties are broken by run id, in the same direction, so that the order is
// total and paging neither repeats nor skips a run.
enum class RunSortField { kCreated, kUpdated, kName, kState, kHeartbeat };

struct RunQuery {
  std::string project;  // empty: all projects
  std::string state;    // empty: any
  std::string tag;      // empty: any; else runs carrying this tag
  std::string group;    // empty: any
  std::string text;     // empty: any; else a substring of the id or name,
                        // ignoring ASCII case
  // Each (key, value): the top-level config[key] (any key, dots and quotes
  // included) equals value, given as JSON text, e.g. "0.001" or "\"adam\"".
  // Equal means same JSON type and value: numbers compare by value (1, 1.0
  // and 1e0 are equal), strings by their unescaped text, true/false/null by
  // kind, arrays and objects by their minified text. A value that is not
  // JSON is InvalidArgument.
  std::vector<std::pair<std::string, std::string>> config_equals;
  RunSortField sort = RunSortField::kCreated;
  bool descending = true;
  int64_t limit = 100;  // 1..10000, else InvalidArgument
  int64_t offset = 0;   // >= 0, else InvalidArgument
};

struct RunPage {
  std::vector<RunRecord> runs;
  int64_t total = 0;  // runs matching the query, ignoring limit and offset
};

struct EventRecord {
  int64_t seq = 0;  // assigned on append, increasing across all runs
  std::string run;
  int64_t time_ms = 0;
  std::string kind;     // "state", "annotation", "alert", "command", ...
  std::string message;  // for a person
  std::string data_json = "{}";
};

struct ProjectInfo {
  std::string name;
  int64_t runs = 0;
  int64_t running = 0;
  int64_t last_activity_ms = 0;
};

struct MetadataOptions {
  std::string path;        // the SQLite file
  bool full_sync = false;  // synchronous=FULL instead of NORMAL
};

class MetadataStore {
 public:
  static Result<std::unique_ptr<MetadataStore>> Open(const MetadataOptions& options);
  ~MetadataStore();
  MetadataStore(const MetadataStore&) = delete;
  MetadataStore& operator=(const MetadataStore&) = delete;

  // Inserts `run` (id, project, created_ms set by the caller). AlreadyExists
  // if the id is taken; InvalidArgument if the id or project breaks the
  // names.h grammar or the state is not one of kRunStates.
  Status CreateRun(const RunRecord& run);
  Result<RunRecord> GetRun(const std::string& id);
  Result<RunPage> ListRuns(const RunQuery& query);
  // Applies `patch` and sets updated_ms = now_ms; returns the run after.
  // Nothing else changes implicitly (finishing a run does not set
  // finished_ms: the patch does). InvalidArgument for a bad state.
  Result<RunRecord> UpdateRun(const std::string& id, const RunPatch& patch, int64_t now_ms);
  // Removes the run and its events. NotFound if absent.
  Status DeleteRun(const std::string& id);
  // Sets heartbeat_ms of many runs in one transaction (ids that do not
  // exist are ignored). A heartbeat never moves backwards: beats that arrive
  // out of order keep the newest. Does not touch updated_ms.
  Status SetHeartbeats(const std::vector<std::pair<std::string, int64_t>>& beats);
  // Running runs whose last sign of life, max(heartbeat_ms, created_ms), is
  // before cutoff_ms (for crash detection; a run that has not beaten yet is
  // judged by its creation time). Sorted by id.
  Result<std::vector<std::string>> StaleRunningRuns(int64_t cutoff_ms);

  // Appends an event and returns its seq. NotFound if the run does not exist.
  Result<int64_t> AppendEvent(const EventRecord& event);
  // Events of `run` with seq > after_seq, oldest first, at most `limit`
  // (1..10000, else InvalidArgument). NotFound if the run does not exist.
  Result<std::vector<EventRecord>> ListEvents(const std::string& run, int64_t after_seq,
                                              int64_t limit);

  // Every project that has runs, by name; last_activity_ms is the latest
  // created, updated, heartbeat or finished time of its runs.
  Result<std::vector<ProjectInfo>> ListProjects();

 private:
  explicit MetadataStore(std::unique_ptr<sqlite::Conn> conn);

  // REQUIRES: mu_ held.
  Result<RunRecord> GetRunLocked(const std::string& id);
  Result<bool> RunExistsLocked(const std::string& id);

  std::mutex mu_;
  // The one connection. Every statement, and every Stmt checked out of it,
  // is used with mu_ held.
  std::unique_ptr<sqlite::Conn> conn_;  // GUARDED_BY(mu_)
};

}  // namespace vigil::storage

// Run endpoints: create/resume, list, get, patch, delete, events, projects.
#include <algorithm>
#include <charconv>
#include <random>

#include <fmt/format.h>

#include "alerting/alerting_service.h"
#include "core/json_writer.h"
#include "core/names.h"
#include "server/api.h"
#include "server/json_body.h"
#include "server/run_json.h"

namespace vigil::server {
namespace {

namespace dom = simdjson::dom;
using storage::RunPatch;
using storage::RunRecord;

constexpr size_t kMaxNameBytes = 256;
constexpr size_t kMaxGroupBytes = 128;
constexpr size_t kMaxNotesBytes = 64 * 1024;
constexpr size_t kMaxObjectBytes = 1 << 20;  // config, summary, host
constexpr size_t kMaxTags = 64;

std::string NewRunId() {
  // 8 characters of [a-z0-9]: 2.8e12 ids, so collisions (checked on insert)
  // are rare even with millions of runs.
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string id(8, ' ');
  for (char& c : id) c = kAlphabet[rng() % 36];
  return id;
}

Status CheckLength(std::string_view field, const std::string& s, size_t max) {
  if (s.size() > max) {
    return Status::InvalidArgument(
        fmt::format("{}: {} bytes, more than the limit of {}", field, s.size(), max));
  }
  return Status::OK();
}

Result<std::optional<std::vector<std::string>>> ParseTags(dom::object obj) {
  VIGIL_ASSIGN_OR_RETURN(auto tags, OptionalStringArray(obj, "tags"));
  if (!tags) return tags;
  if (tags->size() > kMaxTags) {
    return Status::InvalidArgument(
        fmt::format("tags: {} tags, more than the limit of {}", tags->size(), kMaxTags));
  }
  std::vector<std::string> unique;
  for (size_t i = 0; i < tags->size(); ++i) {
    Status s = ValidateTag((*tags)[i]);
    if (!s.ok()) return s.WithContext(fmt::format("tags[{}]", i));
    if (std::find(unique.begin(), unique.end(), (*tags)[i]) == unique.end()) {
      unique.push_back((*tags)[i]);
    }
  }
  return std::optional<std::vector<std::string>>(std::move(unique));
}

Result<std::optional<std::string>> ParseObject(dom::object obj, std::string_view key) {
  VIGIL_ASSIGN_OR_RETURN(auto json, OptionalObjectJson(obj, key));
  if (json) VIGIL_RETURN_IF_ERROR(CheckLength(key, *json, kMaxObjectBytes));
  return json;
}

void AppendStateEvent(ApiContext* ctx, const std::string& run, int64_t now, std::string_view state,
                      std::string_view previous, std::string message) {
  storage::EventRecord ev;
  ev.run = run;
  ev.time_ms = now;
  ev.kind = "state";
  ev.message = std::move(message);
  JsonWriter w;
  w.BeginObject().Field("state", state);
  if (!previous.empty()) w.Field("previous", previous);
  w.EndObject();
  ev.data_json = w.Take();
  // The run change is committed already; a lost event is not worth failing
  // the request for.
  (void)ctx->metadata->AppendEvent(ev);
}

HttpResponse RunResponse(int status, const RunRecord& run, std::optional<bool> resumed = {},
                         bool joined = false) {
  JsonWriter w;
  BeginRunObject(&w, run);
  if (resumed) w.FieldBool("resumed_now", *resumed);
  if (joined) w.FieldBool("joined", true);
  w.EndObject();
  return HttpResponse::Json(status, w.Take());
}

// POST /api/v1/runs
void CreateRun(ApiContext* ctx, HttpRequest& req, Responder res) {
  Reply(std::move(res), [&]() -> Result<HttpResponse> {
    VIGIL_ASSIGN_OR_RETURN(auto doc, JsonDocument::Parse(req.body));
    VIGIL_ASSIGN_OR_RETURN(dom::object obj, AsObject(doc->root(), "body"));
    VIGIL_RETURN_IF_ERROR(CheckKeys(obj,
                                    {"project", "name", "id", "config", "tags", "group", "notes",
                                     "rank", "world_size", "host", "resume", "node", "local_rank"},
                                    ""));
    VIGIL_ASSIGN_OR_RETURN(auto project, OptionalString(obj, "project"));
    if (!project) return Status::InvalidArgument("project: required");
    VIGIL_RETURN_IF_ERROR(ValidateProjectName(*project).WithContext("project"));
    VIGIL_ASSIGN_OR_RETURN(auto id, OptionalString(obj, "id"));
    if (id) VIGIL_RETURN_IF_ERROR(ValidateRunId(*id).WithContext("id"));
    VIGIL_ASSIGN_OR_RETURN(auto name, OptionalString(obj, "name"));
    if (name) VIGIL_RETURN_IF_ERROR(CheckLength("name", *name, kMaxNameBytes));
    VIGIL_ASSIGN_OR_RETURN(auto group, OptionalString(obj, "group"));
    if (group) VIGIL_RETURN_IF_ERROR(CheckLength("group", *group, kMaxGroupBytes));
    VIGIL_ASSIGN_OR_RETURN(auto notes, OptionalString(obj, "notes"));
    if (notes) VIGIL_RETURN_IF_ERROR(CheckLength("notes", *notes, kMaxNotesBytes));
    VIGIL_ASSIGN_OR_RETURN(auto config, ParseObject(obj, "config"));
    VIGIL_ASSIGN_OR_RETURN(auto host, ParseObject(obj, "host"));
    VIGIL_ASSIGN_OR_RETURN(auto tags, ParseTags(obj));
    VIGIL_ASSIGN_OR_RETURN(auto world_size, OptionalInt(obj, "world_size"));
    VIGIL_ASSIGN_OR_RETURN(auto rank, OptionalInt(obj, "rank"));
    if (world_size && (*world_size < 0 || *world_size > 1'000'000)) {
      return Status::InvalidArgument("world_size: must be between 0 and 1000000");
    }
    if (rank && (*rank < 0 || (world_size && *world_size > 0 && *rank >= *world_size))) {
      return Status::InvalidArgument("rank: must be >= 0 and less than world_size");
    }
    VIGIL_ASSIGN_OR_RETURN(auto node, OptionalString(obj, "node"));
    if (node) VIGIL_RETURN_IF_ERROR(CheckLength("node", *node, kMaxNameBytes));
    VIGIL_ASSIGN_OR_RETURN(auto local_rank, OptionalInt(obj, "local_rank"));
    if (local_rank && (*local_rank < 0 || *local_rank > 1'000'000)) {
      return Status::InvalidArgument("local_rank: must be between 0 and 1000000");
    }
    VIGIL_ASSIGN_OR_RETURN(auto resume, OptionalString(obj, "resume"));
    if (resume && *resume != "allow" && *resume != "must" && *resume != "never") {
      return Status::InvalidArgument(
          fmt::format("resume: \"{}\" is not one of allow, must, never", *resume));
    }
    VIGIL_RETURN_IF_ERROR(Authorize(*ctx, req, *project, auth::Access::kWrite));
    const int64_t now = ctx->clock->NowMillis();

    // A rank of a distributed job (rank given, world_size > 1 here or on the
    // stored run) attaches to the run the other ranks use.
    auto joined = [&](int64_t ws) {
      if (rank && ctx->alerting != nullptr) {
        ctx->alerting->OnRankJoined(*id, *project, *rank, ws, node.value_or(""));
      }
    };
    for (int attempt = 0;; ++attempt) {
      if (id) {
        auto existing = ctx->metadata->GetRun(*id);
        if (existing.ok()) {
          if (resume && *resume == "never") {
            return Status::AlreadyExists(fmt::format("run {} already exists", *id));
          }
          if (existing->project != *project) {
            return Status::FailedPrecondition(fmt::format("run {} belongs to project {}, not {}",
                                                          *id, existing->project, *project));
          }
          const int64_t ws = world_size.value_or(existing->world_size);
          // Only rank 0 resumes an ended run (as only rank 0 ends it): a rank
          // that arrives at an ended run before rank 0 (a restarted job, or
          // `vigil sync` of per-rank directories) joins it as it is.
          if (rank && ws > 1 && (existing->state == "running" || *rank != 0)) {
            // Join: the run stays as it is but for config keys and tags this
            // rank adds; no resume, no state event.
            RunPatch patch;
            bool change = false;
            if (config) {
              VIGIL_ASSIGN_OR_RETURN(auto cdoc, JsonDocument::Parse(*config, "config"));
              VIGIL_ASSIGN_OR_RETURN(dom::object cobj, AsObject(cdoc->root(), "config"));
              VIGIL_ASSIGN_OR_RETURN(std::string merged,
                                     MergeJsonObjects(existing->config_json, cobj));
              if (merged != existing->config_json) {
                patch.config_json = std::move(merged);
                change = true;
              }
            }
            if (tags) {
              std::vector<std::string> merged = existing->tags;
              for (const auto& t : *tags) {
                if (std::find(merged.begin(), merged.end(), t) == merged.end()) merged.push_back(t);
              }
              if (merged.size() != existing->tags.size()) {
                patch.tags = std::move(merged);
                change = true;
              }
            }
            if (world_size && *world_size != existing->world_size) {
              patch.world_size = *world_size;
              change = true;
            }
            RunRecord out = *existing;
            if (change) {
              VIGIL_ASSIGN_OR_RETURN(out, ctx->metadata->UpdateRun(*id, patch, now));
              ctx->runs->Invalidate(*id);
            }
            ctx->runs->Touch(*id, now);
            joined(ws);
            return RunResponse(200, out, false, true);
          }
          // Resume: running again, config merged, tags added, host replaced.
          RunPatch patch;
          patch.state = "running";
          patch.finished_ms = 0;
          patch.message = "";
          patch.heartbeat_ms = now;
          patch.increment_resumed = true;
          if (config) {
            VIGIL_ASSIGN_OR_RETURN(auto cdoc, JsonDocument::Parse(*config, "config"));
            VIGIL_ASSIGN_OR_RETURN(dom::object cobj, AsObject(cdoc->root(), "config"));
            VIGIL_ASSIGN_OR_RETURN(patch.config_json,
                                   MergeJsonObjects(existing->config_json, cobj));
          }
          if (tags) {
            std::vector<std::string> merged = existing->tags;
            for (const auto& t : *tags) {
              if (std::find(merged.begin(), merged.end(), t) == merged.end()) merged.push_back(t);
            }
            patch.tags = std::move(merged);
          }
          if (host) patch.host_json = *host;
          if (world_size) patch.world_size = *world_size;
          VIGIL_ASSIGN_OR_RETURN(RunRecord updated, ctx->metadata->UpdateRun(*id, patch, now));
          ctx->runs->Invalidate(*id);
          ctx->runs->Touch(*id, now);
          AppendStateEvent(ctx, *id, now, "running", existing->state,
                           fmt::format("resumed (from {})", existing->state));
          joined(ws);
          return RunResponse(200, updated, true);
        }
        if (!existing.status().IsNotFound()) return existing.status();
        if (resume && *resume == "must") {
          return Status::NotFound(
              fmt::format("run {} does not exist, and resume is \"must\"", *id));
        }
      }

      RunRecord r;
      r.project = *project;
      r.state = "running";
      r.group = group.value_or("");
      r.tags = tags.value_or(std::vector<std::string>{});
      r.notes = notes.value_or("");
      r.config_json = config.value_or("{}");
      r.host_json = host.value_or("{}");
      r.world_size = world_size.value_or(0);
      r.created_ms = r.updated_ms = r.heartbeat_ms = now;
      bool raced = false;
      for (int tries = 0;; ++tries) {
        r.id = id ? *id : NewRunId();
        r.name = name.value_or(r.id);
        Status s = ctx->metadata->CreateRun(r);
        if (s.ok()) break;
        // A concurrent create of the same explicit id lost the race: the
        // ranks of one job do that at start; they join the winner's run.
        if (s.code() == StatusCode::kAlreadyExists && id && rank && attempt == 0) {
          raced = true;
          break;
        }
        // Otherwise resume semantics would need the other's config; report
        // the conflict.
        if (s.code() != StatusCode::kAlreadyExists || id || tries >= 5) return s;
      }
      if (raced) continue;
      AppendStateEvent(ctx, r.id, now, "running", "", "created");
      if (rank) {
        id = r.id;
        joined(r.world_size);
      }
      return RunResponse(201, r, false);
    }
  }());
}

// GET /api/v1/runs
void ListRuns(ApiContext* ctx, HttpRequest& req, Responder res) {
  Reply(std::move(res), [&]() -> Result<HttpResponse> {
    storage::RunQuery q;
    if (auto p = req.Query("project")) {
      q.project = std::string(*p);
      VIGIL_RETURN_IF_ERROR(ValidateProjectName(q.project).WithContext("project"));
    }
    VIGIL_RETURN_IF_ERROR(Authorize(*ctx, req, q.project, auth::Access::kRead));
    if (auto s = req.Query("state")) {
      q.state = std::string(*s);
      if (!storage::IsValidRunState(q.state)) {
        return Status::InvalidArgument(
            fmt::format("state: \"{}\" is not one of running, finished, failed, crashed", q.state));
      }
    }
    if (auto t = req.Query("tag")) q.tag = std::string(*t);
    if (auto g = req.Query("group")) q.group = std::string(*g);
    if (auto t = req.Query("q")) q.text = std::string(*t);
    if (auto s = req.Query("sort")) {
      static const std::pair<std::string_view, storage::RunSortField> kSorts[] = {
          {"created", storage::RunSortField::kCreated},
          {"updated", storage::RunSortField::kUpdated},
          {"name", storage::RunSortField::kName},
          {"state", storage::RunSortField::kState},
          {"heartbeat", storage::RunSortField::kHeartbeat}};
      auto it = std::find_if(std::begin(kSorts), std::end(kSorts),
                             [&](const auto& p) { return p.first == *s; });
      if (it == std::end(kSorts)) {
        return Status::InvalidArgument(
            fmt::format("sort: \"{}\" is not one of created, updated, name, state, heartbeat", *s));
      }
      q.sort = it->second;
    }
    if (auto o = req.Query("order")) {
      if (*o != "asc" && *o != "desc") {
        return Status::InvalidArgument(fmt::format("order: \"{}\" is not asc or desc", *o));
      }
      q.descending = *o == "desc";
    }
    VIGIL_ASSIGN_OR_RETURN(q.limit, IntQueryParam(req, "limit", 100, 1, 10'000));
    VIGIL_ASSIGN_OR_RETURN(q.offset, IntQueryParam(req, "offset", 0, 0, INT64_MAX));
    for (const auto& [k, v] : req.query) {
      if (!k.starts_with("config.")) continue;
      std::string key = k.substr(7);
      if (key.empty()) return Status::InvalidArgument("config.: a config key is required");
      // The value is JSON (0.001, "adam", true); bare text means a string.
      auto doc = JsonDocument::Parse(v, k);
      std::string json;
      if (doc.ok()) {
        json = ToJson((*doc)->root());
      } else {
        std::string quoted;
        AppendJsonString(&quoted, v);
        json = std::move(quoted);
      }
      q.config_equals.emplace_back(std::move(key), std::move(json));
    }
    std::vector<std::string> metric_names;
    if (auto m = req.Query("metrics")) {
      std::string_view rest = *m;
      while (!rest.empty()) {
        size_t comma = rest.find(',');
        std::string_view name = rest.substr(0, comma);
        if (!name.empty()) {
          VIGIL_RETURN_IF_ERROR(ValidateMetricName(name).WithContext("metrics"));
          metric_names.emplace_back(name);
        }
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    }
    VIGIL_ASSIGN_OR_RETURN(storage::RunPage page, ctx->metadata->ListRuns(q));
    JsonWriter w;
    w.BeginObject().Key("runs").BeginArray();
    for (const RunRecord& r : page.runs) {
      BeginRunObject(&w, r);
      if (!metric_names.empty()) {
        // For each requested metric: its label-less series, else its first.
        auto series = ctx->engine->ListSeries(r.id);
        w.Key("metrics").BeginObject();
        for (const std::string& name : metric_names) {
          const storage::SeriesInfo* pick = nullptr;
          for (const auto& s : series) {
            if (s.key.metric != name) continue;
            if (!pick || (s.key.labels.empty() && !pick->key.labels.empty())) pick = &s;
          }
          if (pick) {
            w.Key(name);
            WriteSeriesInfo(&w, *pick);
          }
        }
        w.EndObject();
      }
      w.EndObject();
    }
    w.EndArray().Field("total", page.total).Field("limit", q.limit).Field("offset", q.offset);
    w.EndObject();
    return HttpResponse::Json(200, w.Take());
  }());
}

// GET /api/v1/runs/{id}
void GetRun(ApiContext* ctx, HttpRequest& req, Responder res) {
  Reply(std::move(res), [&]() -> Result<HttpResponse> {
    std::string id(req.PathParam("id"));
    VIGIL_ASSIGN_OR_RETURN(RunRecord r, ctx->metadata->GetRun(id));
    VIGIL_RETURN_IF_ERROR(Authorize(*ctx, req, r.project, auth::Access::kRead));
    JsonWriter w;
    BeginRunObject(&w, r);
    w.Key("metrics").BeginArray();
    for (const auto& s : ctx->engine->ListSeries(id)) WriteSeriesInfo(&w, s);
    w.EndArray().EndObject();
    return HttpResponse::Json(200, w.Take());
  }());
}

// PATCH /api/v1/runs/{id}
void PatchRun(ApiContext* ctx, HttpRequest& req, Responder res) {
  Reply(std::move(res), [&]() -> Result<HttpResponse> {
    std::string id(req.PathParam("id"));
    VIGIL_ASSIGN_OR_RETURN(RunRecord before, ctx->metadata->GetRun(id));
    VIGIL_RETURN_IF_ERROR(Authorize(*ctx, req, before.project, auth::Access::kWrite));
    VIGIL_ASSIGN_OR_RETURN(auto doc, JsonDocument::Parse(req.body));
    VIGIL_ASSIGN_OR_RETURN(dom::object obj, AsObject(doc->root(), "body"));
    VIGIL_RETURN_IF_ERROR(CheckKeys(
        obj, {"name", "state", "tags", "notes", "config", "summary", "group", "message", "rank"},
        ""));
    VIGIL_ASSIGN_OR_RETURN(auto rank, OptionalInt(obj, "rank"));
    if (rank && (*rank < 0 || (before.world_size > 0 && *rank >= before.world_size))) {
      return Status::InvalidArgument("rank: must be >= 0 and less than the run's world_size");
    }
    RunPatch patch;
    VIGIL_ASSIGN_OR_RETURN(patch.name, OptionalString(obj, "name"));
    if (patch.name) VIGIL_RETURN_IF_ERROR(CheckLength("name", *patch.name, kMaxNameBytes));
    VIGIL_ASSIGN_OR_RETURN(patch.state, OptionalString(obj, "state"));
    if (patch.state && !storage::IsValidRunState(*patch.state)) {
      return Status::InvalidArgument(fmt::format(
          "state: \"{}\" is not one of running, finished, failed, crashed", *patch.state));
    }
    VIGIL_ASSIGN_OR_RETURN(patch.tags, ParseTags(obj));
    VIGIL_ASSIGN_OR_RETURN(patch.notes, OptionalString(obj, "notes"));
    if (patch.notes) VIGIL_RETURN_IF_ERROR(CheckLength("notes", *patch.notes, kMaxNotesBytes));
    VIGIL_ASSIGN_OR_RETURN(patch.group, OptionalString(obj, "group"));
    if (patch.group) VIGIL_RETURN_IF_ERROR(CheckLength("group", *patch.group, kMaxGroupBytes));
    VIGIL_ASSIGN_OR_RETURN(patch.message, OptionalString(obj, "message"));
    if (patch.message)
      VIGIL_RETURN_IF_ERROR(CheckLength("message", *patch.message, kMaxNotesBytes));
    for (std::string_view key : {"config", "summary"}) {
      dom::element e;
      if (obj.at_key(key).get(e)) continue;
      VIGIL_ASSIGN_OR_RETURN(dom::object p, AsObject(e, key));
      const std::string& base = key == "config" ? before.config_json : before.summary_json;
      VIGIL_ASSIGN_OR_RETURN(std::string merged, MergeJsonObjects(base, p));
      VIGIL_RETURN_IF_ERROR(CheckLength(key, merged, kMaxObjectBytes));
      (key == "config" ? patch.config_json : patch.summary_json) = std::move(merged);
    }
    const int64_t now = ctx->clock->NowMillis();
    // In a distributed run, a rank other than 0 finishing only records that
    // rank as done (the run goes on until rank 0 finishes), and run-level
    // fields come from rank 0; a failing rank fails the run, naming itself.
    if (rank && before.world_size > 1 && patch.state) {
      if (ctx->alerting != nullptr && *patch.state != "running") {
        ctx->alerting->OnRankFinished(id, *rank);
      }
      if (*patch.state == "failed" || *patch.state == "crashed") {
        patch.message = fmt::format("rank {}: {}", *rank, patch.message.value_or(*patch.state));
        patch.state = "failed";
      } else if (*rank != 0) {
        return RunResponse(200, before);
      }
    }
    if (patch.state && *patch.state != before.state) {
      patch.finished_ms = *patch.state == "running" ? 0 : now;
    }
    VIGIL_ASSIGN_OR_RETURN(RunRecord after, ctx->metadata->UpdateRun(id, patch, now));
    ctx->runs->Invalidate(id);
    if (patch.state && *patch.state != before.state) {
      std::string msg = *patch.state;
      if (!after.message.empty()) msg += ": " + after.message;
      AppendStateEvent(ctx, id, now, *patch.state, before.state, std::move(msg));
      if (ctx->alerting != nullptr && *patch.state != "running") ctx->alerting->OnRunEnded(id);
    }
    return RunResponse(200, after);
  }());
}

// DELETE /api/v1/runs/{id}
void DeleteRun(ApiContext* ctx, HttpRequest& req, Responder res) {
  Reply(std::move(res), [&]() -> Result<HttpResponse> {
    std::string id(req.PathParam("id"));
    VIGIL_ASSIGN_OR_RETURN(RunRecord r, ctx->metadata->GetRun(id));
    VIGIL_RETURN_IF_ERROR(Authorize(*ctx, req, r.project, auth::Access::kWrite));
    // Points first: if the metadata delete then fails, the run is still
    // listed and a retry finishes the job.
    VIGIL_RETURN_IF_ERROR(ctx->engine->DeleteRun(id));
    VIGIL_RETURN_IF_ERROR(ctx->metadata->DeleteRun(id));
    ctx->runs->Invalidate(id);
    JsonWriter w;
    w.BeginObject().Field("deleted", id).EndObject();
    return HttpResponse::Json(200, w.Take());
  }());
}

// GET /api/v1/runs/{id}/events
void ListEvents(ApiContext* ctx, HttpRequest& req, Responder res) {
  Reply(std::move(res), [&]() -> Result<HttpResponse> {
    std::string id(req.PathParam("id"));
    VIGIL_ASSIGN_OR_RETURN(RunBrief r, ctx->runs->Get(id));
    VIGIL_RETURN_IF_ERROR(Authorize(*ctx, req, r.project, auth::Access::kRead));
    VIGIL_ASSIGN_OR_RETURN(int64_t after, IntQueryParam(req, "after", 0, 0, INT64_MAX));
    VIGIL_ASSIGN_OR_RETURN(int64_t limit, IntQueryParam(req, "limit", 1000, 1, 10'000));
    VIGIL_ASSIGN_OR_RETURN(auto events, ctx->metadata->ListEvents(id, after, limit));
    JsonWriter w;
    w.BeginObject().Key("events").BeginArray();
    for (const auto& e : events) {
      w.BeginObject()
          .Field("seq", e.seq)
          .Field("time_ms", e.time_ms)
          .Field("kind", e.kind)
          .Field("message", e.message);
      w.Key("data").Raw(e.data_json);
      w.EndObject();
    }
    w.EndArray().EndObject();
    return HttpResponse::Json(200, w.Take());
  }());
}

// GET /api/v1/projects
void ListProjects(ApiContext* ctx, HttpRequest& req, Responder res) {
  Reply(std::move(res), [&]() -> Result<HttpResponse> {
    VIGIL_RETURN_IF_ERROR(Authorize(*ctx, req, "", auth::Access::kRead));
    VIGIL_ASSIGN_OR_RETURN(auto projects, ctx->metadata->ListProjects());
    JsonWriter w;
    w.BeginObject().Key("projects").BeginArray();
    for (const auto& p : projects) {
      w.BeginObject()
          .Field("name", p.name)
          .Field("runs", p.runs)
          .Field("running", p.running)
          .Field("last_activity_ms", p.last_activity_ms)
          .EndObject();
    }
    w.EndArray().EndObject();
    return HttpResponse::Json(200, w.Take());
  }());
}

}  // namespace

void RegisterRunRoutes(Router* router, ApiContext* ctx) {
  auto bind = [ctx](void (*fn)(ApiContext*, HttpRequest&, Responder)) {
    return [ctx, fn](HttpRequest& req, Responder res) { fn(ctx, req, std::move(res)); };
  };
  AddRoute(router, ctx, "POST", "/api/v1/runs", bind(CreateRun));
  AddRoute(router, ctx, "GET", "/api/v1/runs", bind(ListRuns));
  AddRoute(router, ctx, "GET", "/api/v1/runs/{id}", bind(GetRun));
  AddRoute(router, ctx, "PATCH", "/api/v1/runs/{id}", bind(PatchRun));
  AddRoute(router, ctx, "DELETE", "/api/v1/runs/{id}", bind(DeleteRun));
  AddRoute(router, ctx, "GET", "/api/v1/runs/{id}/events", bind(ListEvents));
  AddRoute(router, ctx, "GET", "/api/v1/projects", bind(ListProjects));
}

}  // namespace vigil::server

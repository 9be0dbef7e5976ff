#include "server/run_json.h"

namespace vigil::server {

void BeginRunObject(JsonWriter* w, const storage::RunRecord& r) {
  w->BeginObject()
      .Field("id", r.id)
      .Field("project", r.project)
      .Field("name", r.name)
      .Field("state", r.state)
      .Field("group", r.group);
  w->Key("tags").BeginArray();
  for (const auto& t : r.tags) w->String(t);
  w->EndArray();
  w->Field("notes", r.notes);
  w->Key("config").Raw(r.config_json);
  w->Key("summary").Raw(r.summary_json);
  w->Key("host").Raw(r.host_json);
  w->Field("message", r.message)
      .Field("world_size", r.world_size)
      .Field("created_ms", r.created_ms)
      .Field("updated_ms", r.updated_ms)
      .Field("heartbeat_ms", r.heartbeat_ms);
  w->Key("finished_ms");
  if (r.finished_ms) {
    w->Int(r.finished_ms);
  } else {
    w->Null();
  }
  w->Field("resumed", r.resumed);
}

void WriteLabels(JsonWriter* w, const Labels& labels) {
  w->BeginObject();
  for (const Label& l : labels) w->Field(l.name, l.value);
  w->EndObject();
}

void WriteSeriesInfo(JsonWriter* w, const storage::SeriesInfo& s) {
  const auto& st = s.stats;
  w->BeginObject().Field("metric", s.key.metric);
  w->Key("labels");
  WriteLabels(w, s.key.labels);
  w->Field("count", st.count)
      .Field("nan_count", st.nan_count)
      .Field("first_step", st.first_step)
      .Field("last_step", st.last_step)
      .Field("first_time_ms", st.first_time)
      .Field("last_time_ms", st.last_time)
      .FieldDouble("last", st.last_value)
      .FieldDouble("min", st.min_value)
      .FieldDouble("max", st.max_value)
      .EndObject();
}

}  // namespace vigil::server

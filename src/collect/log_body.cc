#include "collect/log_body.h"

#include "core/json_writer.h"
#include "core/names.h"

namespace vigil::collect {

std::string EncodeLogBody(const SampleSet& set) {
  JsonWriter w;
  w.BeginObject().Key("series").BeginArray();
  for (const Sample& s : set.samples) {
    w.BeginObject().Field("metric", s.metric).Key("labels").BeginObject();
    for (const auto& [k, v] : s.labels) w.Field(k, v);
    w.EndObject();
    w.Key("steps").BeginArray().Int(set.time_ms).EndArray();
    w.Key("times").BeginArray().Int(set.time_ms).EndArray();
    w.Key("values").BeginArray().Double(s.value).EndArray();
    w.EndObject();
  }
  w.EndArray().EndObject();
  return w.Take();
}

std::string NodeRunId(std::string_view hostname) {
  std::string id = "node-";
  for (char c : hostname) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    id += ok ? c : '-';
  }
  if (id == "node-") id += "unknown";
  if (id.size() > kMaxRunIdBytes) id.resize(kMaxRunIdBytes);
  return id;
}

}  // namespace vigil::collect

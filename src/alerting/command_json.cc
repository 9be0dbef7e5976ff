#include "alerting/command_json.h"

#include <fmt/format.h>

namespace vigil::alerting {

void WriteCommandJson(JsonWriter* w, const CommandRecord& c) {
  w->BeginObject()
      .Field("id", fmt::format("{}", c.seq))
      .Field("run", c.run)
      .Field("type", c.type)
      .Key("args")
      .Raw(c.args_json)
      .Field("state", CommandStateName(c.state))
      .Field("source", c.source);
  if (c.alert_id != 0) w->Field("alert", fmt::format("{}", c.alert_id));
  w->Field("message", c.message)
      .Field("created", c.created_ms)
      .Field("delivered", c.delivered_ms)
      .Field("acknowledged", c.acked_ms)
      .Field("finished", c.finished_ms)
      .EndObject();
}

void WriteDeliveredCommandJson(JsonWriter* w, const CommandRecord& c) {
  w->BeginObject()
      .Field("id", fmt::format("{}", c.seq))
      .Field("type", c.type)
      .Key("args")
      .Raw(c.args_json)
      .EndObject();
}

}  // namespace vigil::alerting

#include "client/sdk/commands.h"

#include "core/json_writer.h"

namespace vigil::client {

std::vector<Command> ParseCommands(const JsonValue& answer) {
  std::vector<Command> out;
  const JsonValue* list = answer.Find("commands");
  if (!list || !list->is_array()) return out;
  for (const JsonValue& c : list->items) {
    auto id = c.GetString("id");
    auto type = c.GetString("type");
    if (!id || !type) continue;
    Command cmd;
    cmd.id = std::move(*id);
    cmd.type = std::move(*type);
    const JsonValue* args = c.Find("args");
    cmd.args_json = args && args->is_object() ? args->raw : "{}";
    out.push_back(std::move(cmd));
  }
  return out;
}

std::string AckBody(CommandStatus status, std::string_view message) {
  JsonWriter w;
  w.BeginObject().Field("status", status == CommandStatus::kDone     ? "done"
                                  : status == CommandStatus::kFailed ? "failed"
                                                                     : "acknowledged");
  if (!message.empty()) w.Field("message", message);
  w.EndObject();
  return w.Take();
}

}  // namespace vigil::client

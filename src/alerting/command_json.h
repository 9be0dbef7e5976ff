// The JSON forms of a command: the full record (the commands API) and the
// short form piggybacked on log and heartbeat answers
// ({"id", "type", "args"}, docs/api.md). Thread-safety: pure functions.
#pragma once

#include "alerting/alert_store.h"
#include "core/json_writer.h"

namespace vigil::alerting {

// {"id":"12","run":..,"type":..,"args":{..},"state":..,"source":..,"alert":..,
//  "message":..,"created":..,"delivered":..,"acknowledged":..,"finished":..}
void WriteCommandJson(JsonWriter* w, const CommandRecord& c);
// {"id":"12","type":"rollback","args":{...}}
void WriteDeliveredCommandJson(JsonWriter* w, const CommandRecord& c);

}  // namespace vigil::alerting

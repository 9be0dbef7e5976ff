// The life of a command sent to a run, and the rules for moving it along:
//
//   queued ──(put in a log / heartbeat answer)──► delivered
//   delivered ──ack──► acknowledged | done | failed
//   acknowledged ──ack──► done | failed
//
// done and failed are final. Delivery happens once: only the server moves a
// command out of `queued`, when it hands it to the SDK. Acks come from the
// SDK, which may retry an ack; repeating the state a command is already in
// is accepted and changes nothing.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string_view>

#include "core/status.h"

namespace vigil::alerting {

enum class CommandState : uint8_t { kQueued = 0, kDelivered, kAcknowledged, kDone, kFailed };

std::string_view CommandStateName(CommandState s);  // "queued", ...
std::optional<CommandState> ParseCommandState(std::string_view name);

// The command types the SDKs understand.
inline constexpr std::string_view kCommandTypes[] = {"pause",      "resume",   "stop",
                                                     "checkpoint", "rollback", "set"};
bool IsValidCommandType(std::string_view type);

// Whether an ack may move a command from `from` to `to`. OK also when
// from == to and the state is one an ack can set (an idempotent retry).
// FailedPrecondition, naming both states, otherwise; InvalidArgument if `to`
// is not a state an ack may set (acknowledged, done, failed).
Status CheckAckTransition(CommandState from, CommandState to);

bool IsFinalCommandState(CommandState s);

}  // namespace vigil::alerting

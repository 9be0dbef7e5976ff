#include "alerting/command_state.h"

#include <algorithm>
#include <iterator>

#include <fmt/format.h>

namespace vigil::alerting {
namespace {

constexpr std::string_view kStateNames[] = {"queued", "delivered", "acknowledged", "done",
                                            "failed"};

}  // namespace

std::string_view CommandStateName(CommandState s) {
  return kStateNames[static_cast<size_t>(s)];
}

std::optional<CommandState> ParseCommandState(std::string_view name) {
  for (size_t i = 0; i < std::size(kStateNames); ++i) {
    if (kStateNames[i] == name) return static_cast<CommandState>(i);
  }
  return std::nullopt;
}

bool IsValidCommandType(std::string_view type) {
  return std::find(std::begin(kCommandTypes), std::end(kCommandTypes), type) !=
         std::end(kCommandTypes);
}

bool IsFinalCommandState(CommandState s) {
  return s == CommandState::kDone || s == CommandState::kFailed;
}

Status CheckAckTransition(CommandState from, CommandState to) {
  if (to != CommandState::kAcknowledged && to != CommandState::kDone &&
      to != CommandState::kFailed) {
    return Status::InvalidArgument(fmt::format(
        "status must be acknowledged, done or failed, got \"{}\"", CommandStateName(to)));
  }
  if (from == to) return Status::OK();
  bool allowed = (from == CommandState::kDelivered) ||
                 (from == CommandState::kAcknowledged && to != CommandState::kAcknowledged);
  if (allowed) return Status::OK();
  if (from == CommandState::kQueued) {
    return Status::FailedPrecondition(fmt::format(
        "command is queued and was never delivered; it cannot be {}", CommandStateName(to)));
  }
  return Status::FailedPrecondition(fmt::format("command is already {}; it cannot become {}",
                                                CommandStateName(from), CommandStateName(to)));
}

}  // namespace vigil::alerting

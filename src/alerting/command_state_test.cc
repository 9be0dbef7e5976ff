#include "alerting/command_state.h"

#include <gtest/gtest.h>

namespace vigil::alerting {
namespace {

using S = CommandState;

TEST(CommandState, NamesRoundTrip) {
  for (S s : {S::kQueued, S::kDelivered, S::kAcknowledged, S::kDone, S::kFailed}) {
    auto parsed = ParseCommandState(CommandStateName(s));
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(*parsed, s);
  }
  EXPECT_FALSE(ParseCommandState("Done").has_value());
  EXPECT_FALSE(ParseCommandState("").has_value());
}

TEST(CommandState, DeliveredMayGoToAnyAckState) {
  EXPECT_TRUE(CheckAckTransition(S::kDelivered, S::kAcknowledged).ok());
  EXPECT_TRUE(CheckAckTransition(S::kDelivered, S::kDone).ok());
  EXPECT_TRUE(CheckAckTransition(S::kDelivered, S::kFailed).ok());
}

TEST(CommandState, AcknowledgedMayFinish) {
  EXPECT_TRUE(CheckAckTransition(S::kAcknowledged, S::kDone).ok());
  EXPECT_TRUE(CheckAckTransition(S::kAcknowledged, S::kFailed).ok());
}

TEST(CommandState, QueuedCannotBeAcked) {
  Status s = CheckAckTransition(S::kQueued, S::kDone);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("never delivered"), std::string::npos);
}

TEST(CommandState, FinalStatesAreFinal) {
  EXPECT_EQ(CheckAckTransition(S::kDone, S::kFailed).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(CheckAckTransition(S::kFailed, S::kDone).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(CheckAckTransition(S::kDone, S::kAcknowledged).code(), StatusCode::kFailedPrecondition);
}

TEST(CommandState, RepeatedAckIsIdempotent) {
  EXPECT_TRUE(CheckAckTransition(S::kDone, S::kDone).ok());
  EXPECT_TRUE(CheckAckTransition(S::kAcknowledged, S::kAcknowledged).ok());
}

TEST(CommandState, AckCannotSetQueuedOrDelivered) {
  EXPECT_EQ(CheckAckTransition(S::kDelivered, S::kQueued).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckAckTransition(S::kDelivered, S::kDelivered).code(), StatusCode::kInvalidArgument);
}

TEST(CommandState, Types) {
  for (auto t : kCommandTypes) EXPECT_TRUE(IsValidCommandType(t));
  EXPECT_FALSE(IsValidCommandType("reboot"));
  EXPECT_FALSE(IsValidCommandType("PAUSE"));
}

}  // namespace
}  // namespace vigil::alerting

#include "client/sdk/commands.h"

#include <gtest/gtest.h>

namespace vigil::client {
namespace {

TEST(CommandsTest, ParsesTheAnswersList) {
  auto doc = ParseJson(R"({"accepted": 3, "commands": [
      {"id": "c1", "type": "pause", "args": {}},
      {"id": "c2", "type": "rollback", "args": {"steps_back": 100, "skip_batches": 2}},
      {"id": "c3", "type": "stop"},
      {"type": "no id"}]})");
  ASSERT_TRUE(doc.ok());
  auto cmds = ParseCommands(*doc);
  ASSERT_EQ(cmds.size(), 3u);
  EXPECT_EQ(cmds[0].id, "c1");
  EXPECT_EQ(cmds[0].type, "pause");
  EXPECT_EQ(cmds[1].number_arg("steps_back"), 100);
  EXPECT_EQ(cmds[2].args_json, "{}");
}

TEST(CommandsTest, NoCommands) {
  auto doc = ParseJson(R"({"accepted": 3})");
  ASSERT_TRUE(doc.ok());
  EXPECT_TRUE(ParseCommands(*doc).empty());
}

TEST(CommandsTest, AckBodies) {
  EXPECT_EQ(AckBody(CommandStatus::kAcknowledged, ""), R"({"status":"acknowledged"})");
  EXPECT_EQ(AckBody(CommandStatus::kDone, "saved"), R"({"status":"done","message":"saved"})");
  EXPECT_EQ(AckBody(CommandStatus::kFailed, "x"), R"({"status":"failed","message":"x"})");
}

}  // namespace
}  // namespace vigil::client

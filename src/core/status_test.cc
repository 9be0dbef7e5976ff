#include "core/status.h"

#include <gtest/gtest.h>

#include "core/result.h"

namespace vigil {
namespace {

TEST(Status, OkAndErrors) {
  EXPECT_TRUE(Status::OK().ok());
  Status s = Status::NotFound("run abc");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(s.IsNotFound());
  EXPECT_EQ("not_found: run abc", s.ToString());
  EXPECT_EQ("open: run abc", s.WithContext("open").message());
}

Result<int> Half(int x) {
  if (x % 2) return Status::InvalidArgument("odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  VIGIL_ASSIGN_OR_RETURN(int h, Half(x));
  VIGIL_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

TEST(Result, PropagatesErrors) {
  EXPECT_EQ(2, *Quarter(8));
  EXPECT_EQ("odd", Quarter(6).status().message());
  EXPECT_FALSE(Quarter(3).ok());
}

}  // namespace
}  // namespace vigil

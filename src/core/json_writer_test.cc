#include "core/json_writer.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include <gtest/gtest.h>

#include "testing/testing.h"

namespace vigil {
namespace {

TEST(JsonWriter, NestedContainersGetCommas) {
  JsonWriter w;
  w.BeginObject()
      .Field("a", int64_t{1})
      .Key("b")
      .BeginArray()
      .Int(1)
      .Int(2)
      .BeginObject()
      .EndObject()
      .EndArray()
      .Field("c", "x")
      .EndObject();
  EXPECT_EQ(R"({"a":1,"b":[1,2,{}],"c":"x"})", w.str());
}

TEST(JsonWriter, EscapesStrings) {
  JsonWriter w;
  w.String(std::string("q\"\\\n\x01\xc3\xa9", 7));
  EXPECT_EQ("\"q\\\"\\\\\\n\\u0001\xc3\xa9\"", w.str());
}

TEST(JsonWriter, OptionalDoubleIsNullWhenAbsentOrNotFinite) {
  JsonWriter w;
  w.BeginArray()
      .OptionalDouble(std::nullopt)
      .OptionalDouble(0.5)
      .OptionalDouble(std::numeric_limits<double>::quiet_NaN())
      .EndArray();
  EXPECT_EQ(w.str(), "[null,0.5,null]");
  JsonWriter o;
  o.BeginObject().FieldOptionalDouble("x", std::nullopt).FieldOptionalDouble("y", 2.0).EndObject();
  EXPECT_EQ(o.str(), R"({"x":null,"y":2})");
}

TEST(JsonWriter, NonFiniteDoublesAreStrings) {
  JsonWriter w;
  w.BeginArray()
      .Double(std::numeric_limits<double>::quiet_NaN())
      .Double(std::numeric_limits<double>::infinity())
      .Double(-std::numeric_limits<double>::infinity())
      .Double(-0.0)
      .Double(0.1)
      .EndArray();
  EXPECT_EQ(R"(["NaN","Infinity","-Infinity",-0.0,0.1])", w.str());
}

TEST(JsonWriter, DoublesRoundTripBitExact) {
  auto rng = testing::SeededRng();
  for (int i = 0; i < 100000; ++i) {
    uint64_t bits = rng();
    double v;
    std::memcpy(&v, &bits, 8);
    if (!std::isfinite(v)) continue;
    std::string s;
    AppendJsonDouble(&s, v);
    double back = std::strtod(s.c_str(), nullptr);
    uint64_t back_bits;
    std::memcpy(&back_bits, &back, 8);
    ASSERT_EQ(bits, back_bits) << s;
  }
}

}  // namespace
}  // namespace vigil

#include "server/http_types.h"

#include <gtest/gtest.h>

#include "server/http_test_support.h"

namespace vigil::server {
namespace {

using testing::CapturingSink;

TEST(HttpRequestTest, QueryReturnsFirstValue) {
  HttpRequest r;
  r.query = {{"a", "1"}, {"b", ""}, {"a", "2"}};
  EXPECT_EQ(r.Query("a"), "1");
  EXPECT_EQ(r.Query("b"), "");
  EXPECT_FALSE(r.Query("c").has_value());
}

TEST(HttpRequestTest, HeaderLooksUpLowerCaseName) {
  HttpRequest r;
  r.headers = {{"authorization", "Bearer x"}, {"content-type", "application/json"}};
  EXPECT_EQ(r.Header("authorization"), "Bearer x");
  EXPECT_EQ(r.Header("content-type"), "application/json");
  EXPECT_FALSE(r.Header("accept").has_value());
}

TEST(HttpRequestTest, PathParam) {
  HttpRequest r;
  r.path_params = {{"id", "r-1"}, {"name", "x y"}};
  EXPECT_EQ(r.PathParam("id"), "r-1");
  EXPECT_EQ(r.PathParam("name"), "x y");
}

TEST(HttpResponseTest, JsonAndText) {
  HttpResponse j = HttpResponse::Json(201, "{}");
  EXPECT_EQ(j.status, 201);
  EXPECT_EQ(j.content_type, "application/json");
  EXPECT_EQ(j.body, "{}");
  HttpResponse t = HttpResponse::Text(200, "a,b\n", "text/csv");
  EXPECT_EQ(t.content_type, "text/csv");
  EXPECT_EQ(t.body, "a,b\n");
  EXPECT_EQ(HttpResponse::Text(200, "x").content_type, "text/plain; charset=utf-8");
}

TEST(HttpStatusForTest, EveryCode) {
  EXPECT_EQ(HttpStatusFor(Status::OK()), 200);
  EXPECT_EQ(HttpStatusFor(Status::InvalidArgument("")), 400);
  EXPECT_EQ(HttpStatusFor(Status::Unauthenticated("")), 401);
  EXPECT_EQ(HttpStatusFor(Status::PermissionDenied("")), 403);
  EXPECT_EQ(HttpStatusFor(Status::NotFound("")), 404);
  EXPECT_EQ(HttpStatusFor(Status::AlreadyExists("")), 409);
  EXPECT_EQ(HttpStatusFor(Status::FailedPrecondition("")), 409);
  EXPECT_EQ(HttpStatusFor(Status::ResourceExhausted("")), 413);
  EXPECT_EQ(HttpStatusFor(Status::NotSupported("")), 501);
  EXPECT_EQ(HttpStatusFor(Status::Unavailable("")), 503);
  EXPECT_EQ(HttpStatusFor(Status::Corruption("")), 500);
  EXPECT_EQ(HttpStatusFor(Status::IOError("")), 500);
  EXPECT_EQ(HttpStatusFor(Status::Internal("")), 500);
}

TEST(ErrorResponseTest, JsonShapeAndStatus) {
  HttpResponse r = ErrorResponse(Status::NotFound("run r1 does not exist"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"error":{"code":"not_found","message":"run r1 does not exist"}})");
}

TEST(ErrorResponseTest, MessageIsEscaped) {
  HttpResponse r = ErrorResponse(Status::InvalidArgument("bad \"name\"\n"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, R"({"error":{"code":"invalid_argument","message":"bad \"name\"\n"}})");
}

TEST(ResponderTest, SendReachesSink) {
  auto sink = std::make_shared<CapturingSink>();
  {
    Responder responder(sink);
    responder.Send(HttpResponse::Json(200, "[]"));
  }
  ASSERT_EQ(sink->count(), 1u);
  EXPECT_EQ(sink->Wait()->body, "[]");
}

TEST(ResponderTest, SendErrorMapsStatus) {
  auto sink = std::make_shared<CapturingSink>();
  Responder(sink).SendError(Status::Unauthenticated("no token"));
  auto r = sink->Wait();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->body, R"({"error":{"code":"unauthenticated","message":"no token"}})");
}

TEST(ResponderTest, DroppedUnusedAnswers500) {
  auto sink = std::make_shared<CapturingSink>();
  { Responder responder(sink); }
  auto r = sink->Wait();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body, R"({"error":{"code":"internal","message":"handler did not answer"}})");
  EXPECT_EQ(sink->count(), 1u);
}

TEST(ResponderTest, MovedFromDoesNotAnswer) {
  auto sink = std::make_shared<CapturingSink>();
  {
    Responder a(sink);
    Responder b(std::move(a));
    b.Send(HttpResponse::Json(204, ""));
  }
  EXPECT_EQ(sink->count(), 1u);
  EXPECT_EQ(sink->Wait()->status, 204);
}

TEST(ResponderTest, StartStreamReachesSinkAndCountsAsAnswer) {
  auto sink = std::make_shared<CapturingSink>();
  {
    Responder responder(sink);
    HttpResponse head;
    head.content_type = "text/event-stream";
    (void)responder.StartStream(std::move(head));
  }
  // One stream head, and no 500 from the destructor.
  EXPECT_EQ(sink->count(), 1u);
  EXPECT_FALSE(sink->Wait(std::chrono::milliseconds(0)).has_value());
}

}  // namespace
}  // namespace vigil::server

#include "server/router.h"

#include <gtest/gtest.h>

#include "server/http_test_support.h"

namespace vigil::server {
namespace {

using testing::CapturingSink;

// A handler that answers with its name and the path parameters it saw.
Handler Named(std::string name) {
  return [name](HttpRequest& req, Responder responder) {
    std::string body = name;
    for (const auto& [k, v] : req.path_params) body += " " + k + "=" + v;
    responder.Send(HttpResponse::Text(200, body));
  };
}

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() {
    router_.Add("GET", "/healthz", Named("health"));
    router_.Add("GET", "/api/v1/runs", Named("list"));
    router_.Add("POST", "/api/v1/runs", Named("create"));
    router_.Add("GET", "/api/v1/runs/{id}", Named("get"));
    router_.Add("PATCH", "/api/v1/runs/{id}", Named("patch"));
    router_.Add("POST", "/api/v1/runs/{id}/log", Named("log"));
    router_.Add("GET", "/api/v1/runs/{id}/series/{metric}", Named("series"));
    router_.Add("GET", "/api/v1/runs/latest", Named("latest"));
  }

  // Dispatches a request as the transport builds it (raw target).
  HttpResponse Call(std::string method, std::string target) {
    HttpRequest req;
    req.method = std::move(method);
    req.target = target;
    req.path = target.substr(0, target.find('?'));
    auto sink = std::make_shared<CapturingSink>();
    router_.Dispatch(req, Responder(sink));
    auto r = sink->Wait(std::chrono::milliseconds(0));
    EXPECT_TRUE(r.has_value());
    return r.value_or(HttpResponse{});
  }

  Router router_;
};

TEST_F(RouterTest, LiteralRoute) {
  HttpResponse r = Call("GET", "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "health");
}

TEST_F(RouterTest, MethodSelectsRoute) {
  EXPECT_EQ(Call("GET", "/api/v1/runs").body, "list");
  EXPECT_EQ(Call("POST", "/api/v1/runs").body, "create");
}

TEST_F(RouterTest, ParameterSegment) {
  EXPECT_EQ(Call("GET", "/api/v1/runs/abc123").body, "get id=abc123");
  EXPECT_EQ(Call("POST", "/api/v1/runs/abc123/log").body, "log id=abc123");
}

TEST_F(RouterTest, TwoParameters) {
  EXPECT_EQ(Call("GET", "/api/v1/runs/r1/series/loss").body, "series id=r1 metric=loss");
}

TEST_F(RouterTest, QueryStringIgnoredForMatching) {
  EXPECT_EQ(Call("GET", "/api/v1/runs/r1?x=1&y=/z").body, "get id=r1");
}

TEST_F(RouterTest, LiteralBeatsParameter) {
  EXPECT_EQ(Call("GET", "/api/v1/runs/latest").body, "latest");
  // The parameter route still serves the other methods on that path.
  EXPECT_EQ(Call("PATCH", "/api/v1/runs/latest").body, "patch id=latest");
}

TEST_F(RouterTest, TrailingSlashMatches) {
  EXPECT_EQ(Call("GET", "/api/v1/runs/").body, "list");
  EXPECT_EQ(Call("GET", "/api/v1/runs/r9/").body, "get id=r9");
  EXPECT_EQ(Call("GET", "/healthz/").body, "health");
}

TEST_F(RouterTest, PercentEncodedSegmentDecoded) {
  EXPECT_EQ(Call("GET", "/api/v1/runs/my%20run").body, "get id=my run");
}

TEST_F(RouterTest, EncodedSlashStaysInsideSegment) {
  EXPECT_EQ(Call("GET", "/api/v1/runs/r1/series/train%2Floss").body,
            "series id=r1 metric=train/loss");
}

TEST_F(RouterTest, EncodedLiteralSegmentMatches) {
  EXPECT_EQ(Call("GET", "/api/v1/%72uns").body, "list");
}

TEST_F(RouterTest, UnknownPathIs404NamingThePath) {
  HttpResponse r = Call("GET", "/api/v1/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"error":{"code":"not_found","message":"no route for GET /api/v1/nope"}})");
}

TEST_F(RouterTest, ParameterNeedsNonEmptySegment) {
  // "/api/v1/runs//log" has no id: it is not the log route.
  EXPECT_EQ(Call("POST", "/api/v1/runs//log").status, 404);
}

TEST_F(RouterTest, TooManySegmentsIs404) {
  EXPECT_EQ(Call("GET", "/api/v1/runs/r1/log/extra").status, 404);
}

TEST_F(RouterTest, WrongMethodIs405WithAllow) {
  HttpResponse r = Call("DELETE", "/api/v1/runs/r1");
  EXPECT_EQ(r.status, 405);
  std::optional<std::string> allow;
  for (const auto& [k, v] : r.headers) {
    if (k == "Allow") allow = v;
  }
  EXPECT_EQ(allow, "GET, PATCH");
  EXPECT_NE(r.body.find("\"code\":\"invalid_argument\""), std::string::npos);
  EXPECT_NE(r.body.find("DELETE"), std::string::npos);
  EXPECT_NE(r.body.find("/api/v1/runs/r1"), std::string::npos);
}

TEST_F(RouterTest, HeadServedByGetRoute) {
  EXPECT_EQ(Call("HEAD", "/healthz").body, "health");
}

TEST_F(RouterTest, PathParamsResetBetweenDispatches) {
  HttpRequest req;
  req.method = "GET";
  req.target = "/api/v1/runs/r1";
  req.path_params = {{"stale", "x"}};
  auto sink = std::make_shared<CapturingSink>();
  router_.Dispatch(req, Responder(sink));
  EXPECT_EQ(req.path_params, (std::vector<std::pair<std::string, std::string>>{{"id", "r1"}}));
}

TEST(RouterNoTargetTest, UsesDecodedPathWhenTargetEmpty) {
  Router router;
  router.Add("GET", "/runs/{id}", Named("get"));
  HttpRequest req;
  req.method = "GET";
  req.path = "/runs/a b";
  auto sink = std::make_shared<CapturingSink>();
  router.Dispatch(req, Responder(sink));
  EXPECT_EQ(sink->Wait()->body, "get id=a b");
}

TEST(RouterNoTargetTest, EmptyRouterAnswers404) {
  Router router;
  HttpRequest req;
  req.method = "GET";
  req.path = "/";
  auto sink = std::make_shared<CapturingSink>();
  router.Dispatch(req, Responder(sink));
  EXPECT_EQ(sink->Wait()->status, 404);
}

}  // namespace
}  // namespace vigil::server

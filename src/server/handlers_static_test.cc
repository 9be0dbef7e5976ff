#include <gtest/gtest.h>

#include "server/api.h"
#include "server/http_test_support.h"
#include "server/static_assets.h"

namespace vigil::server {
namespace {

std::optional<std::string_view> HeaderOf(const HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return std::nullopt;
}

class StaticRoutes : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    static const StaticAsset kAssets[] = {
        {"/index.html", "<html>dashboard</html>", ""},
        {"/assets/app-1234.js", "console.log(1)", "GZIPPED"},
    };
    if (EmbeddedStaticAssets().empty()) RegisterStaticAssets(kAssets, 2);
  }
  void SetUp() override {
    ctx_.metrics = &metrics_;
    RegisterStaticRoutes(&router_, &ctx_);
  }
  HttpResponse Get(std::string path, std::string accept_encoding = "") {
    HttpRequest req;
    req.method = "GET";
    req.target = path;
    req.path = path;
    if (!accept_encoding.empty()) req.headers.emplace_back("accept-encoding", accept_encoding);
    auto sink = std::make_shared<testing::CapturingSink>();
    router_.Dispatch(req, Responder(sink));
    auto r = sink->Wait();
    EXPECT_TRUE(r.has_value());
    return r ? *r : HttpResponse{};
  }
  ServerMetrics metrics_;
  ApiContext ctx_;
  Router router_;
};

TEST_F(StaticRoutes, RootServesIndexRevalidated) {
  HttpResponse r = Get("/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "<html>dashboard</html>");
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(HeaderOf(r, "Cache-Control"), "no-cache");
}

TEST_F(StaticRoutes, HashedAssetIsImmutable) {
  HttpResponse r = Get("/assets/app-1234.js");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "console.log(1)");
  EXPECT_EQ(r.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(HeaderOf(r, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_FALSE(HeaderOf(r, "Content-Encoding").has_value());
  EXPECT_EQ(HeaderOf(r, "Vary"), "Accept-Encoding");
}

TEST_F(StaticRoutes, GzipSentOnlyWhenAccepted) {
  HttpResponse r = Get("/assets/app-1234.js", "gzip, deflate, br");
  EXPECT_EQ(r.body, "GZIPPED");
  EXPECT_EQ(HeaderOf(r, "Content-Encoding"), "gzip");
}

TEST_F(StaticRoutes, UnknownAssetIs404) {
  EXPECT_EQ(Get("/assets/nope.js").status, 404);
}

TEST(ContentType, ByExtension) {
  EXPECT_EQ(ContentTypeForPath("/a/b.css"), "text/css; charset=utf-8");
  EXPECT_EQ(ContentTypeForPath("/x.svg"), "image/svg+xml");
  EXPECT_EQ(ContentTypeForPath("/x.bin"), "application/octet-stream");
}

}  // namespace
}  // namespace vigil::server

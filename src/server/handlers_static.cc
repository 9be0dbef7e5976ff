// The dashboard's files: GET / (index.html) and GET /assets/{file} (Vite's
// content-hashed bundles), from the table the `vigil` binary embeds
// (static_assets.h). Hashed assets are cached for a year; index.html is
// revalidated on every load so a new server version is picked up at once.
// A precompressed gzip copy is sent to clients that accept gzip.
#include <fmt/format.h>

#include "server/api.h"
#include "server/static_assets.h"

namespace vigil::server {
namespace {

std::vector<StaticAsset>& Table() {
  static std::vector<StaticAsset> table;
  return table;
}

const StaticAsset* FindAsset(std::string_view path) {
  for (const StaticAsset& a : EmbeddedStaticAssets()) {
    if (a.path == path) return &a;
  }
  return nullptr;
}

bool AcceptsGzip(const HttpRequest& req) {
  auto ae = req.Header("accept-encoding");
  return ae && ae->find("gzip") != std::string_view::npos;
}

constexpr std::string_view kNotBuiltPage = R"(<!doctype html>
<html><head><meta charset="utf-8"><title>vigil</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>vigil</h1>
<p>The server is running, but this binary was built without the web dashboard
(Node.js and npm were not found when it was built).</p>
<p>Install them with <code>scripts/install-deps</code>, then rebuild the
<code>vigil</code> target. The HTTP API is available at <code>/api/v1/</code>.</p>
</body></html>
)";

HttpResponse AssetResponse(const HttpRequest& req, const StaticAsset& a, bool immutable) {
  HttpResponse r;
  r.status = 200;
  r.content_type = std::string(ContentTypeForPath(a.path));
  if (!a.gzip.empty() && AcceptsGzip(req)) {
    r.body.assign(a.gzip);
    r.headers.emplace_back("Content-Encoding", "gzip");
  } else {
    r.body.assign(a.data);
  }
  if (!a.gzip.empty()) r.headers.emplace_back("Vary", "Accept-Encoding");
  r.headers.emplace_back("Cache-Control",
                         immutable ? "public, max-age=31536000, immutable" : "no-cache");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return r;
}

void ServeIndex(HttpRequest& req, Responder res) {
  const StaticAsset* index = FindAsset("/index.html");
  if (index == nullptr) {
    HttpResponse r =
        HttpResponse::Text(200, std::string(kNotBuiltPage), "text/html; charset=utf-8");
    r.headers.emplace_back("Cache-Control", "no-cache");
    res.Send(std::move(r));
    return;
  }
  res.Send(AssetResponse(req, *index, /*immutable=*/false));
}

void ServeFile(HttpRequest& req, Responder res, std::string_view dir) {
  std::string path = fmt::format("{}/{}", dir, req.PathParam("file"));
  const StaticAsset* a = FindAsset(path);
  if (a == nullptr) {
    res.SendError(Status::NotFound(fmt::format("no file {}", path)));
    return;
  }
  // Files under /assets/ carry a content hash in their names.
  res.Send(AssetResponse(req, *a, /*immutable=*/dir == "/assets"));
}

}  // namespace

void RegisterStaticAssets(const StaticAsset* assets, size_t n) {
  auto& t = Table();
  t.insert(t.end(), assets, assets + n);
}

const std::vector<StaticAsset>& EmbeddedStaticAssets() {
  return Table();
}

std::string_view ContentTypeForPath(std::string_view path) {
  static const std::pair<std::string_view, std::string_view> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
      {".map", "application/json"},
  };
  for (const auto& [ext, type] : kTypes) {
    if (path.ends_with(ext)) return type;
  }
  return "application/octet-stream";
}

void RegisterStaticRoutes(Router* router, ApiContext* ctx) {
  AddRoute(router, ctx, "GET", "/",
           [](HttpRequest& req, Responder res) { ServeIndex(req, std::move(res)); });
  AddRoute(router, ctx, "GET", "/index.html",
           [](HttpRequest& req, Responder res) { ServeIndex(req, std::move(res)); });
  AddRoute(router, ctx, "GET", "/assets/{file}",
           [](HttpRequest& req, Responder res) { ServeFile(req, std::move(res), "/assets"); });
  AddRoute(router, ctx, "GET", "/static/{file}",
           [](HttpRequest& req, Responder res) { ServeFile(req, std::move(res), "/static"); });
}

}  // namespace vigil::server

// The dashboard's built files (web/, built by Vite) as the server serves
// them at `/`: a process-wide table of embedded assets that the generated
// source file (build/<dir>/web/web_assets.cc, linked into the `vigil`
// binary) fills in before main() runs, and the static handler reads.
// Binaries without the generated file (unit tests, a build without npm) have
// an empty table; the handler then answers with a page that says how to
// build the dashboard.
//
// Thread-safety: RegisterStaticAssets runs only during static
// initialisation; EmbeddedStaticAssets may be called from any thread after
// main() started.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace vigil::server {

struct StaticAsset {
  std::string_view path;  // "/index.html", "/assets/index-3f2a.js"
  std::string_view data;  // the file's bytes
  std::string_view gzip;  // the same bytes gzip-compressed; empty if none
};

// Adds `n` assets to the table. The bytes must outlive the process (they are
// static arrays of the generated file).
void RegisterStaticAssets(const StaticAsset* assets, size_t n);

const std::vector<StaticAsset>& EmbeddedStaticAssets();

// The Content-Type for a file name by its extension ("application/octet-
// stream" when unknown).
std::string_view ContentTypeForPath(std::string_view path);

}  // namespace vigil::server

// vigil_sdk_driver: logs a known pattern through the C++ SDK, for the
// integration tests (tests/integration/test_cpp_sdk.py, test_sync.py).
//
//   vigil_sdk_driver --project P --threads 8 --points 20000 [--mode online|offline]
//                    [--server URL] [--offline-dir DIR] [--spool-dir DIR] [--id ID]
//                    [--buffer N] [--spill-after-ms MS] [--finish-timeout-ms MS]
//
// Thread t logs, for step i in [0, points):
//   drv/value{thread="t"} = t * 1e6 + i      (labelled call)
//   drv/t<t>              = i * 0.5          (plain call)
//   drv/handle{thread="t"} = -i             (Series handle)
// and prints the final Stats as one JSON line on stdout. Exit code 0 when
// finish() reports everything delivered.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <vigil/vigil.h>

int main(int argc, char** argv) {
  vigil::Options o;
  o.project = "sdk-driver";
  o.quiet = false;
  int threads = 8;
  long points = 10000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--project")
      o.project = v;
    else if (k == "--threads")
      threads = std::atoi(v.c_str());
    else if (k == "--points")
      points = std::atol(v.c_str());
    else if (k == "--server")
      o.server = v;
    else if (k == "--offline-dir")
      o.offline_dir = v;
    else if (k == "--spool-dir")
      o.spool_dir = v;
    else if (k == "--id")
      o.id = v;
    else if (k == "--buffer")
      o.buffer_capacity = std::strtoul(v.c_str(), nullptr, 10);
    else if (k == "--spill-after-ms")
      o.spill_after = std::chrono::milliseconds(std::atol(v.c_str()));
    else if (k == "--finish-timeout-ms")
      o.finish_timeout = std::chrono::milliseconds(std::atol(v.c_str()));
    else if (k == "--mode")
      o.mode = v == "offline" ? vigil::Mode::kOffline : vigil::Mode::kOnline;
    else {
      std::fprintf(stderr, "unknown flag %s\n", k.c_str());
      return 2;
    }
  }
  o.config = {{"threads", threads}, {"points", points}, {"driver", "cpp"}};
  o.max_block = std::chrono::milliseconds(60'000);  // the tests want no drops
  vigil::Run run = vigil::init(o);
  if (!run.ok()) return 1;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&run, t, points] {
      std::string ts = std::to_string(t);
      std::string plain = "drv/t" + ts;
      vigil::Series handle = run.series("drv/handle", {{"thread", ts}});
      for (long i = 0; i < points; ++i) {
        run.log("drv/value", t * 1e6 + static_cast<double>(i), i, {{"thread", ts}});
        run.log(plain, static_cast<double>(i) * 0.5, i);
        handle.log(-static_cast<double>(i), i);
      }
    });
  }
  for (auto& th : pool) th.join();
  run.set_summary({{"done", true}});
  bool ok = run.finish();
  vigil::Stats s = run.stats();
  std::printf(
      "{\"id\":\"%s\",\"logged\":%llu,\"delivered\":%llu,\"duplicates\":%llu,\"dropped\":%llu,"
      "\"rejected\":%llu,\"pending\":%llu,\"local_dir\":\"%s\"}\n",
      run.id().c_str(), static_cast<unsigned long long>(s.logged),
      static_cast<unsigned long long>(s.delivered), static_cast<unsigned long long>(s.duplicates),
      static_cast<unsigned long long>(s.dropped), static_cast<unsigned long long>(s.rejected),
      static_cast<unsigned long long>(s.pending), run.local_dir().c_str());
  return ok ? 0 : 1;
}

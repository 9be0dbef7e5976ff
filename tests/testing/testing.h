// Helpers shared by the unit tests of every layer. Test-only.
#pragma once

#include <cstdint>
#include <random>
#include <string>

namespace vigil::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents when
// the object is destroyed. Not thread-safe.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name
  std::string Join(const std::string& name) const;

 private:
  std::string path_;
};

// A deterministic random generator for a test, seeded from the test's name
// unless VIGIL_TEST_SEED is set; the seed is printed so a failure reproduces.
std::mt19937_64 SeededRng();

// Reads a whole file; fails the test (and returns "") if it cannot.
std::string ReadFileOrDie(const std::string& path);
void WriteFileOrDie(const std::string& path, const std::string& data);

// A listening TCP socket on 127.0.0.1 with a free port (written to *port),
// for test servers; the caller closes it. Fails the test on error.
int ListenOnLoopback(uint16_t* port);

}  // namespace vigil::testing

#include <atomic>

#include "core/clock.h"

namespace vigil::testing {

// A clock that tests move by hand. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now_ms) : now_ms_(now_ms) {}
  int64_t NowMillis() const override { return now_ms_.load(); }
  int64_t MonotonicNanos() const override { return now_ms_.load() * 1'000'000; }
  void Set(int64_t now_ms) { now_ms_.store(now_ms); }
  void Advance(int64_t ms) { now_ms_.fetch_add(ms); }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace vigil::testing

// Wall and monotonic time, behind an interface so that tests and the
// retention logic can be driven by a fake clock. SystemClock is thread-safe.
#pragma once

#include <cstdint>

namespace vigil {

class Clock {
 public:
  virtual ~Clock() = default;
  // Unix time in milliseconds.
  virtual int64_t NowMillis() const = 0;
  // Monotonic nanoseconds since an arbitrary origin (for durations only).
  virtual int64_t MonotonicNanos() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowMillis() const override;
  int64_t MonotonicNanos() const override;
  // The process-wide instance.
  static const SystemClock& Get();
};

// Convenience for code that does not take a Clock: SystemClock::Get().
int64_t UnixMillis();
int64_t MonotonicNanos();

}  // namespace vigil

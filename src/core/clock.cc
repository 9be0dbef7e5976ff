#include "core/clock.h"

#include <chrono>

namespace vigil {

int64_t SystemClock::NowMillis() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

int64_t SystemClock::MonotonicNanos() const {
  using namespace std::chrono;
  return duration_cast<nanoseconds>(steady_clock::now().time_since_epoch()).count();
}

const SystemClock& SystemClock::Get() {
  static const SystemClock clock;
  return clock;
}

int64_t UnixMillis() {
  return SystemClock::Get().NowMillis();
}
int64_t MonotonicNanos() {
  return SystemClock::Get().MonotonicNanos();
}

}  // namespace vigil

// PointRing: a bounded single-producer single-consumer queue of points, one
// per logging thread and run. The producer is the thread that logs (log()
// pushes without locks or allocation); the consumer is the run's drain
// thread. Capacity is a power of two.
//
// Invariants:
//   1. 0 <= head_ - tail_ <= capacity. head_ is written only by the
//      producer, tail_ only by the consumer; both only grow.
//   2. Slots [tail_, head_) hold points not yet consumed; the producer
//      publishes a slot with a release store of head_ after writing it, the
//      consumer frees it with a release store of tail_ after reading it.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace vigil::client {

// One logged point as it waits in a ring: 32 bytes.
struct BufferedPoint {
  uint32_t series = 0;  // id in the run's SeriesTable
  int64_t step = 0;
  int64_t time_ms = 0;
  double value = 0;
};

class PointRing {
 public:
  explicit PointRing(size_t capacity)
      : capacity_(std::bit_ceil(capacity < 2 ? size_t{2} : capacity)),
        mask_(capacity_ - 1),
        slots_(new BufferedPoint[capacity_]) {}
  PointRing(const PointRing&) = delete;
  PointRing& operator=(const PointRing&) = delete;

  size_t capacity() const { return capacity_; }

  // Producer only. False when full.
  bool TryPush(const BufferedPoint& p) {
    uint64_t head = head_.load(std::memory_order_relaxed);
    if (head - cached_tail_ >= capacity_) {
      cached_tail_ = tail_.load(std::memory_order_acquire);
      if (head - cached_tail_ >= capacity_) return false;
    }
    slots_[head & mask_] = p;
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  // Producer only: true when the ring was at least half full at the last
  // look at the consumer's position (a hint to wake the drainer).
  bool ProducerSeesHalfFull() const {
    return head_.load(std::memory_order_relaxed) - cached_tail_ >= capacity_ / 2;
  }

  // Consumer only: hands every available point to `f` (at most `max`), in
  // order, and returns how many.
  template <class F>
  size_t Drain(F&& f, size_t max = SIZE_MAX) {
    uint64_t tail = tail_.load(std::memory_order_relaxed);
    uint64_t head = head_.load(std::memory_order_acquire);
    size_t n = 0;
    while (tail != head && n < max) {
      f(slots_[tail & mask_]);
      ++tail;
      ++n;
    }
    tail_.store(tail, std::memory_order_release);
    return n;
  }

  // Any thread; exact only when neither side is moving.
  size_t SizeApprox() const {
    return static_cast<size_t>(head_.load(std::memory_order_acquire) -
                               tail_.load(std::memory_order_acquire));
  }

 private:
  const size_t capacity_;
  const size_t mask_;
  std::unique_ptr<BufferedPoint[]> slots_;
  alignas(64) std::atomic<uint64_t> head_{0};
  uint64_t cached_tail_ = 0;  // the producer's last view of tail_
  alignas(64) std::atomic<uint64_t> tail_{0};
};

}  // namespace vigil::client

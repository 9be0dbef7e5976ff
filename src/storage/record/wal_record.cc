#include "storage/record/wal_record.h"

#include <bit>
#include <cassert>
#include <cstring>

#include <fmt/format.h>

#include "codec/varint.h"

namespace vigil::storage {
namespace {

// Byte layout (docs/format/wal.md, "Records"); all integers are LEB128
// varints (codec/varint.h) unless said otherwise:
//
//   kBatch:     type=1 (1 byte)
//               new_count, new_count x { id, len+run, len+metric,
//                                        label_count, label_count x { len+name, len+value } }
//               series_count, series_count x { id, n,
//                                              n x zigzag(step[i] - step[i-1]),   step[-1] = 0
//                                              n x zigzag(time[i] - time[i-1]),   time[-1] = 0
//                                              n x fixed64 LE float64 bits }
//   kDeleteRun: type=2 (1 byte), len+run, max_series_id
//
// Deltas are computed modulo 2^64, so every int64 pair (INT64_MIN after
// INT64_MAX included) round-trips exactly.

// Smallest encodings, used to bound counts read from untrusted bytes before
// anything is allocated from them.
constexpr size_t kMinNewSeriesBytes = 4;      // id, run length, metric length, label count
constexpr size_t kMinLabelBytes = 2;          // name length, value length
constexpr size_t kMinSeriesBytes = 2;         // id, n
constexpr size_t kMinPointBytes = 1 + 1 + 8;  // step delta, time delta, value

inline size_t VarintLength(uint64_t v) {
  // 1 byte per started group of 7 significant bits (0 takes 1 byte):
  // (bits * 9 + 64) / 64 equals max(1, ceil(bits / 7)) for bits in [0, 64],
  // with a shift instead of a division (as in protobuf).
  return (static_cast<size_t>(std::bit_width(v)) * 9 + 64) >> 6;
}

inline size_t LengthPrefixedSize(std::string_view s) {
  return VarintLength(s.size()) + s.size();
}

inline uint64_t Delta(int64_t cur, int64_t prev) {
  return codec::ZigZagEncode(
      static_cast<int64_t>(static_cast<uint64_t>(cur) - static_cast<uint64_t>(prev)));
}

inline char* PutVarint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

inline char* PutBytes(char* p, std::string_view s) {
  p = PutVarint(p, s.size());
  if (!s.empty()) std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

// The bitwise OR of a column's zigzag deltas: VarintLength of it bounds the
// length of every delta's varint. One branch-free pass the compiler
// vectorises, so sizing the output costs ~0.3 ns per value instead of a
// varint length per value.
uint64_t OrOfDeltas(const std::vector<int64_t>& v) {
  if (v.empty()) return 0;
  uint64_t acc = Delta(v[0], 0);
  for (size_t i = 1; i < v.size(); ++i) acc |= Delta(v[i], v[i - 1]);
  return acc;
}

char* PutDeltas(char* p, const std::vector<int64_t>& v) {
  int64_t prev = 0;
  for (int64_t x : v) {
    p = PutVarint(p, Delta(x, prev));
    prev = x;
  }
  return p;
}

char* PutValues(char* p, const std::vector<double>& v) {
  if constexpr (std::endian::native == std::endian::little) {
    if (!v.empty()) std::memcpy(p, v.data(), v.size() * 8);
    return p + v.size() * 8;
  } else {
    for (double d : v) {
      uint64_t bits = std::bit_cast<uint64_t>(d);
      for (int i = 0; i < 8; ++i) *p++ = static_cast<char>(bits >> (8 * i));
    }
    return p;
  }
}

// Reads the front of an untrusted record, remembering where it started so
// that errors can name the byte offset.
class Decoder {
 public:
  explicit Decoder(std::string_view in) : in_(in), size_(in.size()) {}

  size_t remaining() const { return in_.size(); }
  void Skip(size_t n) { in_.remove_prefix(n); }
  size_t offset() const { return size_ - in_.size(); }

  bool Varint(uint64_t* v) {
    if (!in_.empty() && static_cast<uint8_t>(in_[0]) < 0x80) {  // fast path: 1 byte
      *v = static_cast<uint8_t>(in_[0]);
      in_.remove_prefix(1);
      return true;
    }
    return codec::GetVarint64(&in_, v);
  }
  bool Bytes(std::string* s) {
    std::string_view v;
    if (!codec::GetLengthPrefixed(&in_, &v)) return false;
    s->assign(v);
    return true;
  }
  // A count of items taking at least min_bytes each: larger than the rest of
  // the input could hold means a damaged count.
  bool Count(uint64_t* n, size_t min_bytes) { return Varint(n) && *n <= remaining() / min_bytes; }
  bool Deltas(size_t n, std::vector<int64_t>* out) {
    out->resize(n);
    uint64_t prev = 0;
    for (size_t i = 0; i < n; ++i) {
      uint64_t z;
      if (!Varint(&z)) return false;
      prev += static_cast<uint64_t>(codec::ZigZagDecode(z));  // modulo 2^64
      (*out)[i] = static_cast<int64_t>(prev);
    }
    return true;
  }
  bool Values(size_t n, std::vector<double>* out) {
    if (in_.size() / 8 < n) return false;
    out->resize(n);
    if constexpr (std::endian::native == std::endian::little) {
      if (n > 0) std::memcpy(out->data(), in_.data(), n * 8);
    } else {
      for (size_t i = 0; i < n; ++i) {
        (*out)[i] = std::bit_cast<double>(codec::DecodeFixed64(in_.data() + 8 * i));
      }
    }
    in_.remove_prefix(n * 8);
    return true;
  }

  Status Error(std::string_view what) const {
    return Status::Corruption(fmt::format("wal record: {} at byte {}", what, offset()));
  }

 private:
  std::string_view in_;
  const size_t size_;
};

Result<WalRecord> DecodeBatch(Decoder* d) {
  BatchRecord batch;
  uint64_t new_count;
  if (!d->Count(&new_count, kMinNewSeriesBytes)) return d->Error("bad new series count");
  batch.new_series.resize(new_count);
  for (NewSeries& ns : batch.new_series) {
    uint64_t labels;
    if (!d->Varint(&ns.id)) return d->Error("bad new series id");
    if (!d->Bytes(&ns.key.run)) return d->Error("bad run name");
    if (!d->Bytes(&ns.key.metric)) return d->Error("bad metric name");
    if (!d->Count(&labels, kMinLabelBytes)) return d->Error("bad label count");
    ns.key.labels.resize(labels);
    for (Label& l : ns.key.labels) {
      if (!d->Bytes(&l.name)) return d->Error("bad label name");
      if (!d->Bytes(&l.value)) return d->Error("bad label value");
    }
  }
  uint64_t series_count;
  if (!d->Count(&series_count, kMinSeriesBytes)) return d->Error("bad series count");
  batch.samples.resize(series_count);
  for (SeriesSamples& s : batch.samples) {
    uint64_t n;
    if (!d->Varint(&s.id)) return d->Error("bad series id");
    if (!d->Count(&n, kMinPointBytes)) return d->Error("bad point count");
    if (!d->Deltas(n, &s.steps)) return d->Error("bad step delta");
    if (!d->Deltas(n, &s.times)) return d->Error("bad time delta");
    if (!d->Values(n, &s.values)) return d->Error("values cut short");
  }
  if (d->remaining() != 0) return d->Error("trailing bytes");
  return WalRecord(std::move(batch));
}

Result<WalRecord> DecodeDeleteRun(Decoder* d) {
  DeleteRunRecord r;
  if (!d->Bytes(&r.run)) return d->Error("bad run name");
  if (!d->Varint(&r.max_series_id)) return d->Error("bad max series id");
  if (d->remaining() != 0) return d->Error("trailing bytes");
  return WalRecord(std::move(r));
}

}  // namespace

// Sizing pass, then one writing pass through a raw pointer: no capacity
// check per byte and no reallocation (a batch can be tens of MB). The size
// is a bound, exact when a column's deltas all take the same number of
// bytes (steps +1, times +~250 ms: the usual case); the string is cut to
// the bytes written at the end.
void EncodeBatchRecord(std::span<const NewSeries> new_series, const WriteBatch& batch,
                       std::span<const uint64_t> series_ids, std::string* out) {
  assert(series_ids.size() == batch.series.size());
  size_t size = 1 + VarintLength(new_series.size());
  for (const NewSeries& ns : new_series) {
    size += VarintLength(ns.id) + LengthPrefixedSize(ns.key.run) +
            LengthPrefixedSize(ns.key.metric) + VarintLength(ns.key.labels.size());
    for (const Label& l : ns.key.labels) {
      size += LengthPrefixedSize(l.name) + LengthPrefixedSize(l.value);
    }
  }
  size += VarintLength(batch.series.size());
  for (size_t i = 0; i < batch.series.size(); ++i) {
    const SeriesColumns& s = batch.series[i];
    assert(s.steps.size() == s.values.size() && s.times.size() == s.values.size());
    size += VarintLength(series_ids[i]) + VarintLength(s.size()) +
            s.size() * (VarintLength(OrOfDeltas(s.steps)) + VarintLength(OrOfDeltas(s.times)) + 8);
  }

  const size_t start = out->size();
  out->resize(start + size);
  char* p = out->data() + start;
  *p++ = static_cast<char>(WalRecordType::kBatch);
  p = PutVarint(p, new_series.size());
  for (const NewSeries& ns : new_series) {
    p = PutVarint(p, ns.id);
    p = PutBytes(p, ns.key.run);
    p = PutBytes(p, ns.key.metric);
    p = PutVarint(p, ns.key.labels.size());
    for (const Label& l : ns.key.labels) {
      p = PutBytes(p, l.name);
      p = PutBytes(p, l.value);
    }
  }
  p = PutVarint(p, batch.series.size());
  for (size_t i = 0; i < batch.series.size(); ++i) {
    const SeriesColumns& s = batch.series[i];
    p = PutVarint(p, series_ids[i]);
    p = PutVarint(p, s.size());
    p = PutDeltas(p, s.steps);
    p = PutDeltas(p, s.times);
    p = PutValues(p, s.values);
  }
  assert(p <= out->data() + out->size());
  out->resize(static_cast<size_t>(p - out->data()));
}

void EncodeDeleteRunRecord(const DeleteRunRecord& record, std::string* out) {
  out->push_back(static_cast<char>(WalRecordType::kDeleteRun));
  codec::PutLengthPrefixed(out, record.run);
  codec::PutVarint64(out, record.max_series_id);
}

Result<WalRecord> DecodeWalRecord(std::string_view bytes) {
  Decoder d(bytes);
  if (bytes.empty()) return d.Error("empty record");
  const auto type = static_cast<uint8_t>(bytes[0]);
  d.Skip(1);
  switch (static_cast<WalRecordType>(type)) {
    case WalRecordType::kBatch:
      return DecodeBatch(&d);
    case WalRecordType::kDeleteRun:
      return DecodeDeleteRun(&d);
  }
  return d.Error(fmt::format("unknown record type {}", type));
}

}  // namespace vigil::storage

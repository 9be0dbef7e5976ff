#include "codec/chunk_codec.h"

#include <cassert>
#include <memory>

#include <fmt/format.h>

#include "codec/chunk_format.h"
#include "codec/decimal_stream.h"
#include "codec/int_stream.h"
#include "codec/varint.h"
#include "codec/xor_stream.h"

namespace vigil::codec {
namespace {

// What the one pass over the values found applicable.
struct ValueScan {
  bool float32 = true;
  bool decimal = false;
  int digits = 0;
  std::vector<int64_t> mantissas;
};

ValueScan ScanValues(std::span<const double> values) {
  ValueScan scan;
  DecimalScanner decimal(values.size());
  bool decimal_ok = true;
  for (double v : values) {
    scan.float32 = scan.float32 && IsFloat32Exact(v);
    decimal_ok = decimal_ok && decimal.Add(v);
    if (!scan.float32 && !decimal_ok) break;
  }
  scan.decimal = decimal_ok && decimal.Finish(&scan.digits, &scan.mantissas);
  return scan;
}

void EncodeValues(ValueEncoding e, const ValueScan& scan, std::span<const double> values,
                  std::string* out) {
  switch (e) {
    case ValueEncoding::kXor64:
      EncodeXor64(values, out);
      break;
    case ValueEncoding::kXor32:
      EncodeXor32(values, out);
      break;
    case ValueEncoding::kDecimal:
      EncodeDecimal(scan.digits, scan.mantissas, out);
      break;
  }
}

void AppendChunk(ValueEncoding e, std::span<const int64_t> steps, std::span<const int64_t> times,
                 const std::string& value_bytes, std::string* out) {
  std::string step_bytes, time_bytes;
  // Steps and times: delta-of-delta or linear, whichever is smaller; steps
  // that advance by a constant cost a few bytes per chunk.
  EncodeIntColumn(steps, &step_bytes);
  EncodeIntColumn(times, &time_bytes);
  out->push_back(static_cast<char>((format::kChunkVersion << format::kVersionShift) |
                                   static_cast<uint8_t>(e)));
  PutVarint64(out, steps.size());
  PutVarint64(out, step_bytes.size());
  PutVarint64(out, time_bytes.size());
  out->append(step_bytes);
  out->append(time_bytes);
  out->append(value_bytes);
}

bool ValidSizes(std::span<const int64_t> steps, std::span<const int64_t> times,
                std::span<const double> values) {
  return !values.empty() && values.size() <= kMaxChunkPoints && steps.size() == values.size() &&
         times.size() == values.size();
}

struct Header {
  ChunkInfo info;
  std::string_view steps, times, values;
};

Result<ChunkInfo> ParseInfo(std::string_view* in) {
  if (in->empty()) return Status::Corruption("chunk: empty");
  auto format_byte = static_cast<uint8_t>((*in)[0]);
  in->remove_prefix(1);
  if ((format_byte >> format::kVersionShift) != format::kChunkVersion) {
    return Status::Corruption(
        fmt::format("chunk: unknown format version {}", format_byte >> format::kVersionShift));
  }
  uint8_t encoding = format_byte & format::kEncodingMask;
  if (encoding > format::kMaxValueEncoding) {
    return Status::Corruption(fmt::format("chunk: unknown value encoding {}", encoding));
  }
  uint64_t count;
  if (!GetVarint64(in, &count)) return Status::Corruption("chunk: truncated count");
  if (count == 0 || count > kMaxChunkPoints) {
    return Status::Corruption(fmt::format("chunk: invalid count {}", count));
  }
  ChunkInfo info;
  info.count = static_cast<uint32_t>(count);
  info.encoding = static_cast<ValueEncoding>(encoding);
  return info;
}

Result<Header> ParseHeader(std::string_view in) {
  Header h;
  VIGIL_ASSIGN_OR_RETURN(h.info, ParseInfo(&in));
  uint64_t steps_len, times_len;
  if (!GetVarint64(&in, &steps_len) || !GetVarint64(&in, &times_len)) {
    return Status::Corruption("chunk: truncated stream lengths");
  }
  if (steps_len > in.size() || times_len > in.size() - steps_len) {
    return Status::Corruption(fmt::format("chunk: stream lengths {} + {} exceed the {} bytes left",
                                          steps_len, times_len, in.size()));
  }
  h.steps = in.substr(0, steps_len);
  h.times = in.substr(steps_len, times_len);
  h.values = in.substr(steps_len + times_len);
  return h;
}

// Grows *v by n elements; on destruction without Commit() shrinks it back,
// so a failed decode leaves the caller's vectors as they were.
template <typename T>
class Appender {
 public:
  Appender(std::vector<T>* v, size_t n) : v_(v), old_(v ? v->size() : 0) {
    if (v_) v_->resize(old_ + n);
  }
  ~Appender() {
    if (v_ && !committed_) v_->resize(old_);
  }
  T* data() { return v_->data() + old_; }
  void Commit() { committed_ = true; }

 private:
  std::vector<T>* v_;
  size_t old_;
  bool committed_ = false;
};

}  // namespace

std::string_view ValueEncodingName(ValueEncoding e) {
  switch (e) {
    case ValueEncoding::kXor64:
      return "xor64";
    case ValueEncoding::kXor32:
      return "xor32";
    case ValueEncoding::kDecimal:
      return "decimal";
  }
  return "unknown";
}

void EncodeChunk(std::span<const int64_t> steps, std::span<const int64_t> times,
                 std::span<const double> values, std::string* out) {
  assert(ValidSizes(steps, times, values));
  ValueScan scan = ScanValues(values);
  // Candidates in order of preference on equal size (faster decoder first).
  std::string best, candidate;
  ValueEncoding best_encoding = ValueEncoding::kXor64;
  EncodeXor64(values, &best);
  auto consider = [&](ValueEncoding e) {
    candidate.clear();
    EncodeValues(e, scan, values, &candidate);
    if (candidate.size() < best.size()) {
      best.swap(candidate);
      best_encoding = e;
    }
  };
  if (scan.float32) consider(ValueEncoding::kXor32);
  if (scan.decimal) consider(ValueEncoding::kDecimal);
  AppendChunk(best_encoding, steps, times, best, out);
}

Status EncodeChunkWith(ValueEncoding encoding, std::span<const int64_t> steps,
                       std::span<const int64_t> times, std::span<const double> values,
                       std::string* out) {
  if (!ValidSizes(steps, times, values)) {
    return Status::InvalidArgument(
        fmt::format("chunk: {} steps, {} times, {} values (need equal, 1..{})", steps.size(),
                    times.size(), values.size(), kMaxChunkPoints));
  }
  ValueScan scan = ScanValues(values);
  if ((encoding == ValueEncoding::kXor32 && !scan.float32) ||
      (encoding == ValueEncoding::kDecimal && !scan.decimal)) {
    return Status::NotSupported(
        fmt::format("chunk: values are not all representable by {}", ValueEncodingName(encoding)));
  }
  std::string value_bytes;
  EncodeValues(encoding, scan, values, &value_bytes);
  AppendChunk(encoding, steps, times, value_bytes, out);
  return Status::OK();
}

Result<ChunkInfo> PeekChunk(std::string_view chunk) {
  return ParseInfo(&chunk);
}

Status DecodeChunk(std::string_view chunk, std::vector<int64_t>* steps, std::vector<int64_t>* times,
                   std::vector<double>* values) {
  VIGIL_ASSIGN_OR_RETURN(Header h, ParseHeader(chunk));
  size_t n = h.info.count;
  Appender<int64_t> s(steps, n), t(times, n);
  Appender<double> v(values, n);
  if (steps) {
    Status st = DecodeIntColumn(h.steps, n, s.data());
    if (!st.ok()) return st.WithContext("chunk: steps");
  }
  if (times) {
    Status st = DecodeIntColumn(h.times, n, t.data());
    if (!st.ok()) return st.WithContext("chunk: times");
  }
  if (values) {
    Status st;
    switch (h.info.encoding) {
      case ValueEncoding::kXor64:
        st = DecodeXor64(h.values, n, v.data());
        break;
      case ValueEncoding::kXor32:
        st = DecodeXor32(h.values, n, v.data());
        break;
      case ValueEncoding::kDecimal:
        st = DecodeDecimal(h.values, n, v.data());
        break;
    }
    if (!st.ok()) return st.WithContext("chunk: values");
  }
  s.Commit();
  t.Commit();
  v.Commit();
  return Status::OK();
}

}  // namespace vigil::codec

#include "storage/wal/log_reader.h"

#include <fmt/format.h>

#include "codec/varint.h"
#include "core/crc32c.h"
#include "storage/wal/log_format.h"

namespace vigil::storage {

using log::kBlockSize;
using log::kHeaderSize;

namespace {

// The offset of the next header at or after `pos`: a block's last
// kHeaderSize - 1 bytes or fewer are trailer padding, never a header.
uint64_t SkipTrailer(uint64_t pos) {
  uint64_t left = kBlockSize - pos % kBlockSize;
  return left < kHeaderSize ? pos + left : pos;
}

}  // namespace

struct LogReader::Fragment {
  uint8_t type = 0;
  std::string_view payload;
  uint64_t end = 0;  // offset just past the payload
};

LogReader::LogReader(std::string_view data, std::string file)
    : data_(data), file_(std::move(file)) {}

bool LogReader::ParseFragment(uint64_t pos, Fragment* f, const char** why) const {
  if (data_.size() - pos < kHeaderSize) {
    *why = "fragment header cut short";
    return false;
  }
  // Header layout: masked crc (fixed32 LE) | length (fixed16 LE) | type.
  const char* h = data_.data() + pos;
  const uint32_t stored_crc = codec::DecodeFixed32(h);
  const uint64_t length =
      static_cast<uint8_t>(h[4]) | (static_cast<uint64_t>(static_cast<uint8_t>(h[5])) << 8);
  const uint8_t type = static_cast<uint8_t>(h[6]);
  if (type == log::kZeroType) {
    *why = stored_crc == 0 && length == 0 ? "zero-filled space" : "fragment of type 0";
    return false;
  }
  if (type > log::kMaxFragmentType) {
    *why = "unknown fragment type";
    return false;
  }
  if (length > kBlockSize - pos % kBlockSize - kHeaderSize) {
    *why = "fragment length crosses the block boundary";
    return false;
  }
  if (length > data_.size() - pos - kHeaderSize) {
    *why = "fragment payload cut short";
    return false;
  }
  // The checksum covers the type byte and the payload.
  const uint32_t crc = crc32c::Extend(crc32c::Value(h + 6, 1), h + kHeaderSize, length);
  if (crc != crc32c::Unmask(stored_crc)) {
    *why = "fragment checksum mismatch";
    return false;
  }
  f->type = type;
  f->payload = data_.substr(pos + kHeaderSize, length);
  f->end = pos + kHeaderSize + length;
  return true;
}

bool LogReader::ReadRecord(std::string_view* record) {
  if (end_ != End::kNotYet) return false;
  bool in_record = false;
  uint64_t record_start = 0;
  for (;;) {
    pos_ = SkipTrailer(pos_);
    if (pos_ >= data_.size()) {
      if (in_record) {
        Stop(record_start, data_.size(), "record cut short (FIRST fragment without its LAST)");
      } else if (valid_end_ < data_.size()) {
        // Only trailer padding after the last record: the write that would
        // have followed it (padding and next header together) was cut.
        Stop(valid_end_, data_.size(), "block trailer padding at the end of the file");
      } else {
        end_ = End::kClean;
      }
      return false;
    }
    Fragment f;
    const char* why = "";
    if (!ParseFragment(pos_, &f, &why)) {
      Stop(pos_, pos_ + 1, why);
      return false;
    }
    switch (f.type) {
      case log::kFullType:
      case log::kFirstType:
        if (in_record) {
          // The earlier record lost its end; this fragment starts another.
          Stop(record_start, pos_, "record cut short (FIRST fragment without its LAST)");
          return false;
        }
        if (f.type == log::kFullType) {
          pos_ = valid_end_ = f.end;
          *record = f.payload;  // zero copy: points into the segment
          return true;
        }
        in_record = true;
        record_start = pos_;
        scratch_.assign(f.payload);
        pos_ = f.end;
        break;
      case log::kMiddleType:
      case log::kLastType:
        if (!in_record) {
          Stop(pos_, pos_ + 1,
               f.type == log::kMiddleType ? "MIDDLE fragment outside a record"
                                          : "LAST fragment outside a record");
          return false;
        }
        scratch_.append(f.payload);
        pos_ = f.end;
        if (f.type == log::kLastType) {
          valid_end_ = pos_;
          *record = scratch_;
          return true;
        }
        break;
    }
  }
}

// Torn tail or corruption? A crash of an append-only writer can only damage
// the end of the file, so whatever follows the damage must hold no whole
// record. Finding one means the damage is in the middle: Corruption, since
// silently skipping it could drop acknowledged data. The scan tries every
// byte offset because a damaged length field loses the fragment boundaries
// (block starts alone would miss records later in the same block); records
// are recognised by their CRC, so garbage passes with probability ~2^-32.
void LogReader::Stop(uint64_t damage, uint64_t scan_from, const char* why) {
  damage_offset_ = damage;
  if (WholeRecordFrom(scan_from)) {
    end_ = End::kCorruption;
    status_ = Status::Corruption(fmt::format(
        "wal segment {}: {} at offset {}, followed by valid records", file_, why, damage));
  } else {
    end_ = End::kTornTail;
    status_ = Status::Corruption(fmt::format(
        "wal segment {}: torn tail at offset {} ({}): {} bytes after the last whole record, "
        "which ends at offset {}",
        file_, damage, why, data_.size() - valid_end_, valid_end_));
  }
}

bool LogReader::WholeRecordFrom(uint64_t from) const {
  const uint64_t size = data_.size();
  for (uint64_t q = from; q < size && size - q >= kHeaderSize; ++q) {
    if (kBlockSize - q % kBlockSize < kHeaderSize) continue;  // trailer: no header here
    // Only FULL and FIRST start a record; filter before paying for a CRC.
    const auto type = static_cast<uint8_t>(data_[q + 6]);
    if (type != log::kFullType && type != log::kFirstType) continue;
    Fragment f;
    const char* why;
    if (!ParseFragment(q, &f, &why)) continue;
    if (f.type == log::kFullType) return true;
    // A FIRST: the record is whole only if MIDDLE* LAST follow it.
    for (uint64_t r = SkipTrailer(f.end); r < size;) {
      Fragment g;
      if (!ParseFragment(r, &g, &why)) break;
      if (g.type == log::kLastType) return true;
      if (g.type != log::kMiddleType) break;
      r = SkipTrailer(g.end);
    }
  }
  return false;
}

}  // namespace vigil::storage

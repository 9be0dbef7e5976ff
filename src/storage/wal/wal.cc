#include "storage/wal/wal.h"

#include <algorithm>

#include <fmt/format.h>

#include "storage/file.h"
#include "storage/wal/log_format.h"
#include "storage/wal/log_reader.h"
#include "storage/wal/log_writer.h"

namespace vigil::storage {
namespace {

// Parses a canonical segment name (as WalSegmentName writes it); other
// entries of the directory (temporary files, "1.wal") are not segments.
bool ParseSegmentName(std::string_view name, uint64_t* number) {
  if (!name.ends_with(log::kSegmentSuffix)) return false;
  std::string_view digits = name.substr(0, name.size() - log::kSegmentSuffix.size());
  if (digits.empty() || digits.size() > 19) return false;  // 19 digits fit in uint64_t
  uint64_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (n == 0 || WalSegmentName(n) != name) return false;
  *number = n;
  return true;
}

}  // namespace

std::string WalSegmentName(uint64_t number) {
  return fmt::format("{:0{}}{}", number, log::kSegmentNameDigits, log::kSegmentSuffix);
}

Wal::Wal(WalOptions options) : options_(std::move(options)) {}

Wal::~Wal() {
  if (file_) (void)file_->Close();  // flushes: appended records reach the OS
}

std::string Wal::SegmentPath(uint64_t number) const {
  return options_.dir + "/" + WalSegmentName(number);
}

Result<std::unique_ptr<Wal>> Wal::Open(const WalOptions& options) {
  VIGIL_RETURN_IF_ERROR(CreateDirectories(options.dir));
  std::unique_ptr<Wal> wal(new Wal(options));
  VIGIL_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirectory(options.dir));
  std::vector<uint64_t> segments;
  uint64_t total = 0;
  for (const std::string& name : names) {
    uint64_t number;
    if (!ParseSegmentName(name, &number)) continue;
    VIGIL_ASSIGN_OR_RETURN(uint64_t size, FileSize(wal->SegmentPath(number)));
    segments.push_back(number);
    total += size;
  }
  std::sort(segments.begin(), segments.end());
  wal->total_bytes_ = total;
  {
    std::lock_guard lock(wal->segments_mu_);
    wal->segments_ = segments;
  }
  // Never append to a segment of an earlier process: its tail may be torn,
  // and replay only accepts a torn tail at the end of the log.
  VIGIL_RETURN_IF_ERROR(wal->OpenSegment(segments.empty() ? 1 : segments.back() + 1));
  return wal;
}

Status Wal::OpenSegment(uint64_t number) {
  const std::string path = SegmentPath(number);
  VIGIL_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file,
                         WritableFile::Open(path, /*truncate=*/false));
  if (file->size() != 0) {
    // Numbers only grow, so a new segment cannot exist unless someone else
    // writes in this directory.
    return Status::FailedPrecondition(fmt::format("wal segment {} already exists", path));
  }
  // The new name must survive a crash, or data synced into it would be lost
  // with it.
  VIGIL_RETURN_IF_ERROR(SyncDirectory(options_.dir));
  writer_ = std::make_unique<LogWriter>(file.get());
  file_ = std::move(file);
  std::lock_guard lock(segments_mu_);
  if (segments_.empty() || segments_.back() != number) segments_.push_back(number);
  current_segment_ = number;
  return Status::OK();
}

Status Wal::Replay(uint64_t first_segment, const std::function<Status(std::string_view)>& fn,
                   WalReplayStats* stats) {
  WalReplayStats local;
  WalReplayStats& st = stats != nullptr ? *stats : local;
  st = WalReplayStats{};
  if (file_ && file_->size() > 0) {
    return Status::FailedPrecondition("Wal::Replay called after Append");
  }
  std::vector<uint64_t> segments;
  {
    std::lock_guard lock(segments_mu_);
    segments = segments_;
  }
  std::vector<uint64_t> sizes;
  uint64_t last_nonempty = 0;  // 0: every segment is empty
  for (uint64_t seg : segments) {
    VIGIL_ASSIGN_OR_RETURN(uint64_t size, FileSize(SegmentPath(seg)));
    sizes.push_back(size);
    if (size > 0) last_nonempty = seg;
  }
  uint64_t previous = 0;
  for (size_t i = 0; i < segments.size(); ++i) {
    const uint64_t seg = segments[i];
    if (seg < first_segment) continue;
    // Segments are created in sequence and deleted oldest first, so a gap
    // means a file was lost.
    if (previous != 0 && seg != previous + 1) {
      return Status::Corruption(
          fmt::format("wal {}: segment {} is missing", options_.dir, WalSegmentName(previous + 1)));
    }
    previous = seg;
    ++st.segments;
    if (sizes[i] == 0) continue;
    const std::string path = SegmentPath(seg);
    VIGIL_ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> map, MappedFile::Open(path));
    LogReader reader(map->data(), path);
    std::string_view record;
    while (reader.ReadRecord(&record)) {
      ++st.records;
      st.bytes += record.size();
      VIGIL_RETURN_IF_ERROR(fn(record));
    }
    switch (reader.end()) {
      case LogReader::End::kNotYet:
      case LogReader::End::kClean:
        break;
      case LogReader::End::kCorruption:
        return reader.status();
      case LogReader::End::kTornTail: {
        // Torn-tail recovery. A crash can cut short only the last write, so
        // damage with no whole record after it is accepted at the end of the
        // log: in the newest non-empty segment (later ones may exist, empty,
        // created by processes that crashed before appending). The segment
        // is truncated to its last whole record so that the next replay
        // finds a clean end; appends go to a newer segment anyway. Anywhere
        // else the same damage is corruption.
        if (seg != last_nonempty) {
          return Status::Corruption(
              fmt::format("{}; later segments hold records", reader.status().message()));
        }
        const uint64_t valid_end = reader.valid_end();
        const uint64_t dropped = map->data().size() - valid_end;
        map.reset();  // unmap before shrinking the file
        VIGIL_RETURN_IF_ERROR(TruncateFile(path, valid_end));
        st.torn_tail_bytes += dropped;
        total_bytes_ -= dropped;
        break;
      }
    }
  }
  return Status::OK();
}

Status Wal::Append(std::string_view record) {
  VIGIL_RETURN_IF_ERROR(sync_error_);
  if (file_->size() >= options_.segment_bytes) {
    VIGIL_ASSIGN_OR_RETURN(uint64_t next, Rotate());
    (void)next;
  }
  const uint64_t before = file_->size();
  Status s = writer_->AddRecord(record);
  total_bytes_ += file_->size() - before;
  return s;
}

Status Wal::Flush() {
  VIGIL_RETURN_IF_ERROR(sync_error_);
  return file_->Flush();
}

Status Wal::Sync() {
  VIGIL_RETURN_IF_ERROR(sync_error_);
  Status s = file_->Sync();
  if (!s.ok()) sync_error_ = s;
  return s;
}

Result<uint64_t> Wal::Rotate() {
  VIGIL_RETURN_IF_ERROR(Sync());
  // Open the next segment before letting go of this one: if that fails, the
  // Wal keeps appending to the current segment and Rotate can be retried.
  std::unique_ptr<WritableFile> old = std::move(file_);
  std::unique_ptr<LogWriter> old_writer = std::move(writer_);
  if (Status s = OpenSegment(current_segment_.load() + 1); !s.ok()) {
    file_ = std::move(old);
    writer_ = std::move(old_writer);
    return s;
  }
  old_writer.reset();
  VIGIL_RETURN_IF_ERROR(old->Close());  // already synced; close errors are reported
  return current_segment_.load();
}

Status Wal::RemoveSegmentsBefore(uint64_t n) {
  std::lock_guard lock(segments_mu_);
  Status first_error;
  std::vector<uint64_t> kept;
  bool removed = false;
  for (uint64_t seg : segments_) {
    // After a failure keep every later segment too: deleting a suffix of a
    // prefix would leave a gap, which replay reports as a lost segment.
    if (seg >= n || seg == current_segment_.load() || !first_error.ok()) {
      kept.push_back(seg);
      continue;
    }
    const std::string path = SegmentPath(seg);
    Result<uint64_t> size = FileSize(path);
    if (Status s = RemoveFile(path); !s.ok()) {
      if (first_error.ok()) first_error = s;
      kept.push_back(seg);
      continue;
    }
    removed = true;
    if (size.ok()) total_bytes_ -= *size;
  }
  segments_ = std::move(kept);
  if (removed) {
    // Without this a crash could bring the files back; harmless for
    // correctness (replay starts after them) but they would use space.
    Status s = SyncDirectory(options_.dir);
    if (first_error.ok()) first_error = s;
  }
  return first_error;
}

}  // namespace vigil::storage

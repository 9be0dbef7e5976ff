// Internals shared by the detectors of src/analysis/detectors/: the common
// bookkeeping (series name, severity, last score, active flag, resumption
// detection), the state envelope (detector_state_format.h), message
// formatting, and small O(1) streaming statistics. Not for use outside
// src/analysis. Thread-safety: as Detector (one thread at a time per object).
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/detectors/detector.h"

namespace vigil::analysis::internal {

// "4,120"; negative numbers keep their sign.
std::string FormatStep(int64_t step);
// A value for messages: up to 4 significant digits ("8.3", "0.0012",
// "1.2e+09"), "NaN", "+Inf", "-Inf".
std::string FormatValue(double v);
// A ratio for messages: "14×", "2.5×", "1.2e+03×".
std::string FormatRatio(double r);
// Bytes for messages: "1.5 GiB", "512 MiB".
std::string FormatBytes(double bytes);
// Seconds for messages: "42 s", "17 min", "3.2 h", "2.1 d".
std::string FormatSeconds(double s);

// Maps a non-negative "how far past the threshold" x (1 = at it) to a score
// in [0, 1]: 0.5 at the threshold, approaching 1 far beyond it.
double ScoreFromRatio(double x);

// Appends fixed-width little-endian fields.
class StateWriter {
 public:
  void U8(uint8_t v) { s_.push_back(static_cast<char>(v)); }
  void Bool(bool v) { U8(v ? 1 : 0); }
  void U32(uint32_t v);
  void I64(int64_t v);
  void F64(double v);
  void Doubles(const std::vector<double>& v);  // u32 count + doubles
  std::string& bytes() { return s_; }

 private:
  std::string s_;
};

// Reads what StateWriter wrote; every read checks bounds and sets a sticky
// error flag rather than reading past the end.
class StateReader {
 public:
  explicit StateReader(std::string_view b) : b_(b) {}
  uint8_t U8();
  bool Bool();
  uint32_t U32();
  int64_t I64();
  double F64();
  std::vector<double> Doubles();
  bool ok() const { return ok_; }
  bool at_end() const { return pos_ == b_.size(); }

 private:
  bool Take(size_t n, const char** p);
  std::string_view b_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// The base of every detector: implements name/kind/score/active and the
// state envelope; a detector adds its fields through SaveFields /
// RestoreFields. RestoreFields must read into temporaries and assign its
// members only when the reader is still ok() at the end, so that a failed
// restore leaves the detector unchanged.
class DetectorBase : public Detector {
 public:
  std::string_view name() const override { return FindingKindName(kind_); }
  FindingKind kind() const override { return kind_; }
  double last_score() const override { return last_score_; }
  bool active() const override { return active_; }
  std::string SaveState() const final;
  Status RestoreState(std::string_view bytes) final;

 protected:
  DetectorBase(FindingKind kind, std::string_view series, Severity severity)
      : kind_(kind), series_(series), severity_(severity) {}

  virtual void SaveFields(StateWriter* w) const = 0;
  // REQUIRES: on failure leave members unchanged (see above).
  virtual bool RestoreFields(StateReader* r) = 0;

  // Records p's step; true when p.step is lower than the previous step (a
  // resumption from a checkpoint).
  bool NoteStep(const Point& p);

  Finding MakeFinding(const Point& p, Transition t, double score, std::string message) const;
  // Sets active_ and returns a firing finding.
  Finding Fire(const Point& p, double score, std::string message);
  // Clears active_ and returns a resolve finding.
  Finding Resolve(const Point& p, std::string message);

  const FindingKind kind_;
  const std::string series_;
  Severity severity_;
  double last_score_ = 0;
  bool active_ = false;
  bool has_last_step_ = false;
  int64_t last_step_ = 0;
};

// Keys every detector accepts besides its own: "severity".
inline constexpr std::string_view kCommonKeys[] = {"severity"};

// InvalidArgument when `params` has a key outside `allowed` and kCommonKeys.
Status CheckKeys(const DetectorParams& params, std::initializer_list<std::string_view> allowed);
// The "severity" param, or `def`.
Result<Severity> SeverityParam(const DetectorParams& params, Severity def);

// The value transform of the trend-following detectors: "log" works on
// ln(value) (multiplicative noise, as loss and gradient norms have), "raw"
// on the value; "auto" is log while every value seen is > 0 and switches
// to raw (the caller resets) at the first value <= 0.
enum class Transform : uint8_t { kAuto = 0, kLog, kRaw };
Result<Transform> TransformParam(const DetectorParams& params, Transform def);

// A window of the last n doubles with its median, O(n) per push with n
// fixed and small (<= state_format::kMaxRing): insertion into a sorted copy.
class RollingMedian {
 public:
  RollingMedian() = default;
  explicit RollingMedian(size_t n) : cap_(n) {}
  void Push(double v);
  void Clear() {
    ring_.clear();
    sorted_.clear();
    head_ = 0;
  }
  size_t size() const { return ring_.size(); }
  size_t capacity() const { return cap_; }
  bool full() const { return ring_.size() == cap_; }
  double Median() const;  // REQUIRES: size() > 0
  // The window oldest first (for SaveFields); Restore accepts it back.
  std::vector<double> Window() const;
  bool Restore(const std::vector<double>& window);

 private:
  size_t cap_ = 1;
  std::vector<double> ring_;
  std::vector<double> sorted_;
  size_t head_ = 0;  // index in ring_ of the oldest value once full
};

}  // namespace vigil::analysis::internal

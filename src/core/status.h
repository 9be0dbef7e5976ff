// Status: the outcome of an operation that can fail for reasons outside the
// program's control (I/O, corrupt bytes, bad user input). Modelled on
// leveldb::Status: a miss is NotFound, not an exception; asserts are kept for
// programmer errors only.
//
// Thread-safety: a Status is a value; distinct objects may be used from
// distinct threads freely, one object needs external synchronisation.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace vigil {

// Codes are stable: they name the error in HTTP answers
// ({"error": {"code": "invalid_argument", ...}}) and in logs.
enum class StatusCode : uint8_t {
  kOk = 0,
  kInvalidArgument,     // the caller's input breaks a documented rule
  kNotFound,            // the named thing does not exist
  kAlreadyExists,       // creating something that exists
  kFailedPrecondition,  // the system is not in a state that allows it
  kResourceExhausted,   // a documented limit (size, count) is exceeded
  kUnauthenticated,     // no valid credentials
  kPermissionDenied,    // credentials lack the scope
  kCorruption,          // stored bytes fail a checksum or do not parse
  kIOError,             // the operating system refused an I/O call
  kUnavailable,         // shutting down, overloaded: retry later
  kNotSupported,        // a feature this build or device lacks
  kInternal,            // a bug
};

// The snake_case name of a code: "invalid_argument", "not_found", ...
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status FailedPrecondition(std::string m) {
    return {StatusCode::kFailedPrecondition, std::move(m)};
  }
  static Status ResourceExhausted(std::string m) {
    return {StatusCode::kResourceExhausted, std::move(m)};
  }
  static Status Unauthenticated(std::string m) {
    return {StatusCode::kUnauthenticated, std::move(m)};
  }
  static Status PermissionDenied(std::string m) {
    return {StatusCode::kPermissionDenied, std::move(m)};
  }
  static Status Corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
  static Status IOError(std::string m) { return {StatusCode::kIOError, std::move(m)}; }
  // An IOError naming the failed call, the path and errno's text.
  static Status FromErrno(std::string_view what, std::string_view path, int err);
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status NotSupported(std::string m) { return {StatusCode::kNotSupported, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  bool IsNotFound() const { return code_ == StatusCode::kNotFound; }
  bool IsCorruption() const { return code_ == StatusCode::kCorruption; }
  bool IsInvalidArgument() const { return code_ == StatusCode::kInvalidArgument; }

  // "invalid_argument: rows[3].step: not an integer"
  std::string ToString() const;

  // A copy whose message is prefixed with `context: `.
  Status WithContext(std::string_view context) const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

}  // namespace vigil

// Evaluates `expr` (a Status); returns it from the enclosing function if it
// is not OK.
#define VIGIL_RETURN_IF_ERROR(expr)        \
  do {                                     \
    ::vigil::Status _vigil_st = (expr);    \
    if (!_vigil_st.ok()) return _vigil_st; \
  } while (0)

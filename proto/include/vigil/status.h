// Status and Result<T>: the one error type that crosses module boundaries in Vigil.
//
// Modelled on leveldb's Status and absl's StatusCode: OK is the cheap common case,
// factories name the kind of failure, and each code says who should act and whether
// retrying the same call can help (see IsRetryable()).
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace vigil {

// What went wrong, and so what the caller should do about it.
enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // The input is wrong; fix the input. Never retry as is.
  kNotFound,            // The named thing does not exist.
  kAlreadyExists,       // Creating something that is already there.
  kFailedPrecondition,  // The state does not allow this yet (e.g. no server id); fix state first.
  kPermissionDenied,    // Refused for who is asking (revoked device, wrong PIN).
  kUnauthenticated,     // A signature or key check failed.
  kResourceExhausted,   // Disk full, size or rate limit; retry later or with less.
  kAborted,             // Conflict with a concurrent change; retry at a higher level.
  kUnavailable,         // Transient (network, busy store): retry this call with backoff.
  kDataLoss,            // Stored bytes are corrupt or unreadable.
  kUnimplemented,       // Not supported by this version (e.g. a newer store schema).
  kInternal,            // A bug: an invariant does not hold.
};

// The name of a code, e.g. "InvalidArgument".
std::string_view StatusCodeName(StatusCode code);

// Success, or a code plus a message for people. Cheap to copy when OK.
class [[nodiscard]] Status {
 public:
  Status() = default;  // OK.
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status FailedPrecondition(std::string m) {
    return {StatusCode::kFailedPrecondition, std::move(m)};
  }
  static Status PermissionDenied(std::string m) {
    return {StatusCode::kPermissionDenied, std::move(m)};
  }
  static Status Unauthenticated(std::string m) {
    return {StatusCode::kUnauthenticated, std::move(m)};
  }
  static Status ResourceExhausted(std::string m) {
    return {StatusCode::kResourceExhausted, std::move(m)};
  }
  static Status Aborted(std::string m) { return {StatusCode::kAborted, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status DataLoss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
  static Status Unimplemented(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // True when the same call may succeed later unchanged (kUnavailable, kResourceExhausted).
  bool IsRetryable() const {
    return code_ == StatusCode::kUnavailable || code_ == StatusCode::kResourceExhausted;
  }

  // "InvalidArgument: question q03 wants an integer" or "OK".
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context: `.
  Status WithContext(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// A value of type T, or the Status explaining why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : data_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(data_).ok() && "Result built from an OK Status has no value");
  }

  bool ok() const { return std::holds_alternative<T>(data_); }
  // The failure; OK when there is a value.
  Status status() const { return ok() ? Status() : std::get<Status>(data_); }

  // The value. Only call when ok().
  T& value() & { return std::get<T>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<Status, T> data_;
};

}  // namespace vigil

// Returns early from the enclosing function when `expr` (a Status) is not OK.
#define VIGIL_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::vigil::Status vigil_status_ = (expr);        \
    if (!vigil_status_.ok()) return vigil_status_; \
  } while (0)

#define VIGIL_CONCAT_INNER_(a, b) a##b
#define VIGIL_CONCAT_(a, b) VIGIL_CONCAT_INNER_(a, b)

// `VIGIL_ASSIGN_OR_RETURN(auto x, MakeX());` declares x from a Result or returns its Status.
#define VIGIL_ASSIGN_OR_RETURN(lhs, expr) \
  VIGIL_ASSIGN_OR_RETURN_IMPL_(VIGIL_CONCAT_(vigil_result_, __LINE__), lhs, expr)
// `tmp` is a name and `lhs` a declaration: neither can be put in parentheses.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define VIGIL_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)

#include "sync/wire.h"

#include <algorithm>
#include <random>
#include <thread>

namespace vigil::client::wire {
namespace {

bool Retryable(long http_status) {
  return http_status == 408 || http_status == 429 || http_status >= 500;
}

StatusCode CodeFor(v1::ErrorCode code, long http_status) {
  switch (code) {
    case v1::BAD_SIGNATURE:
      return StatusCode::kUnauthenticated;
    case v1::UNKNOWN_DEVICE:
    case v1::DEVICE_REVOKED:
    case v1::ENROLLMENT_CODE_INVALID:
      return StatusCode::kPermissionDenied;
    case v1::SEQUENCE_GAP:
    case v1::CHAIN_MISMATCH:
    case v1::EQUIVOCATION:
    case v1::REPLAYED_PULL:
      return StatusCode::kAborted;
    case v1::TOO_LARGE:
    case v1::RATE_LIMITED:
      return StatusCode::kResourceExhausted;
    case v1::UNAVAILABLE:
      return StatusCode::kUnavailable;
    case v1::MALFORMED:
    case v1::WRONG_SERVER:
      return StatusCode::kInvalidArgument;
    default:
      return http_status >= 500 ? StatusCode::kUnavailable : StatusCode::kInternal;
  }
}

Status Cancelled(const std::string& what) {
  return Status::Aborted("the sync was cancelled (" + what + ")");
}

// Sleeps for `delay`, in slices short enough to notice options.cancel within a second.
void WaitUnlessCancelled(const SyncOptions& options, std::chrono::milliseconds delay) {
  constexpr std::chrono::milliseconds kSlice{100};
  const auto until = std::chrono::steady_clock::now() + delay;
  while (!SyncCancelled(options)) {
    const auto left = until - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) return;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(left, kSlice));
  }
}

}  // namespace

Status Refusal(const HttpResult& result, v1::Error* error_out) {
  v1::Error error;
  if (!error.ParseFromString(result.body) || error.code() == v1::ERROR_CODE_UNSPECIFIED) {
    return Status(Retryable(result.status) ? StatusCode::kUnavailable : StatusCode::kInternal,
                  "HTTP " + std::to_string(result.status) +
                      " without a Vigil error body (a proxy or captive portal in the way?)");
  }
  if (error_out != nullptr) *error_out = error;
  std::string msg = "syncd refused (" + std::to_string(result.status) + " " +
                    v1::ErrorCode_Name(error.code()) + "): " + error.message();
  return Status(CodeFor(error.code(), result.status), msg);
}

Result<HttpResult> PostWithRetry(sync::Route& route, std::string_view path, std::string_view body,
                                 const SyncOptions& options,
                                 const std::function<bool(const std::string&)>& valid,
                                 uint64_t& retries, const std::string& what,
                                 const SyncProgress* so_far) {
  return PostWithRetry(
      route, path, [body]() -> Result<std::string> { return std::string(body); }, options, valid,
      nullptr, retries, what, so_far);
}

Result<HttpResult> PostWithRetry(sync::Route& route, std::string_view path,
                                 const std::function<Result<std::string>()>& make_body,
                                 const SyncOptions& options,
                                 const std::function<bool(const std::string&)>& valid,
                                 const std::function<bool(const HttpResult&)>& retry_refusal,
                                 uint64_t& retries, const std::string& what,
                                 const SyncProgress* so_far) {
  std::random_device seed;
  std::mt19937_64 rng(seed());
  Status last;
  const int attempts = std::max(1, options.max_attempts);
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    if (SyncCancelled(options)) return Cancelled(what);
    VIGIL_ASSIGN_OR_RETURN(std::string body, make_body());
    VIGIL_ASSIGN_OR_RETURN(Transport * transport, route.Current());
    auto result = transport->Post(path, body);
    if (result.ok()) {
      if (result->status == 200) {
        if (valid(result->body)) {
          route.Answered();
          return result;
        }
        last = Status::Unavailable("HTTP 200 whose body is not a Vigil answer (captive portal?)");
      } else if (Retryable(result->status) || (retry_refusal && retry_refusal(*result))) {
        last = Refusal(*result);
      } else {
        route.Answered();
        return result;  // A refusal the caller decodes; retrying cannot help.
      }
    } else if (result.status().code() == StatusCode::kUnavailable) {
      last = result.status();
    } else {
      return result.status();  // e.g. the pin does not match: never retry.
    }
    if (attempt == attempts) break;
    const std::string failed_at = route.url();
    route.Next();  // Failover (route.h); the same URL when there is only one.
    auto cap = std::min<int64_t>(options.max_delay.count(), options.base_delay.count()
                                                                << std::min(attempt - 1, 20));
    std::uniform_int_distribution<int64_t> jitter(0, std::max<int64_t>(cap, 0));
    std::chrono::milliseconds delay(jitter(rng));
    ++retries;
    if (options.progress) {
      SyncProgress p = so_far != nullptr ? *so_far : SyncProgress{};
      p.phase = what + ": retry " + std::to_string(attempt) + " in " +
                std::to_string(delay.count()) + " ms (" + last.message() + ")";
      if (route.url() != failed_at) p.phase += " at " + route.url();
      options.progress(p);
    }
    if (options.wait) {
      options.wait(delay);
    } else {
      WaitUnlessCancelled(options, delay);
    }
  }
  return Status::Unavailable(what + ": gave up after " + std::to_string(attempts) +
                             " attempts; last: " + last.message());
}

}  // namespace vigil::client::wire

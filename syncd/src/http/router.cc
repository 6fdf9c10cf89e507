#include "http/router.h"

#include <cstdio>
#include <future>
#include <optional>

#include "dashboard/api.h"
#include "vigil/protocol/signing.h"

namespace vigil::syncd {
namespace {

HttpResponse Ok(std::string body) {
  HttpResponse response;
  response.body = std::move(body);
  return response;
}

HttpResponse Text(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.content_type = "text/plain; charset=utf-8";
  response.body = std::move(body);
  return response;
}

bool IsDeviceEndpoint(const std::string& target) {
  return target == "/v1/push" || target == "/v1/enroll" || target == "/v1/pull";
}

// The endpoint label of the request metrics.
std::string EndpointLabel(const std::string& target) {
  if (IsDeviceEndpoint(target) || target == "/healthz" || target == "/metrics") return target;
  if (dashboard::Dashboard::Serves(target)) {
    return target.rfind("/api/", 0) == 0 ? "/api" : "/dashboard";
  }
  return "other";
}

// The refusal for a method and target that no route serves (405 on a known endpoint, else
// 404); nullopt when a route serves them. Dashboard targets are the dashboard's to judge.
std::optional<Refusal> RouteRefusal(const std::string& method, const std::string& target) {
  if (dashboard::Dashboard::Serves(target)) return std::nullopt;
  const bool device = IsDeviceEndpoint(target);
  const bool plain = target == "/healthz" || target == "/metrics";
  if ((device && method == "POST") || (plain && method == "GET")) return std::nullopt;
  if (device || plain) {
    Refusal refusal =
        MakeRefusal(v1::MALFORMED, "method " + method.substr(0, 16) + " not allowed on " + target);
    refusal.http_status = 405;
    return refusal;
  }
  Refusal refusal = MakeRefusal(v1::MALFORMED, "no such endpoint");
  refusal.http_status = 404;
  return refusal;
}

}  // namespace

Router::Router(DeviceLedger& ledger, Metrics& metrics,
               std::shared_ptr<const protocol::Ed25519PrivateKey> receipt_key,
               RouterOptions options)
    : ledger_(ledger),
      metrics_(metrics),
      receipt_key_(std::move(receipt_key)),
      options_(std::move(options)),
      ingest_(ledger, ReceiptIssuer(receipt_key_, options_.server_id)),
      rate_limiter_(options_.rate_per_device_per_s, options_.rate_burst),
      byte_budget_(options_.device_bytes_per_minute, options_.device_bytes_per_day),
      address_limiter_(options_.rate_per_address_per_s, options_.address_burst, 1 << 16),
      enroll_failures_(options_.enroll_failures_per_address, options_.enroll_failure_window_ms) {}

HttpResponse Router::Handle(HttpRequest request) {
  auto promise = std::make_shared<std::promise<HttpResponse>>();
  std::future<HttpResponse> future = promise->get_future();
  HandleAsync(std::move(request),
              [promise](HttpResponse response) { promise->set_value(std::move(response)); });
  return future.get();
}

void Router::HandleAsync(HttpRequest request, std::function<void(HttpResponse)> done) {
  const bool for_dashboard = dashboard::Dashboard::Serves(request.target);
  auto counted = [this, endpoint = EndpointLabel(request.target),
                  done = std::move(done)](HttpResponse response) {
    metrics_.CountRequest(endpoint, response.status);
    done(std::move(response));
  };
  try {
    if (for_dashboard && dashboard_ != nullptr) {
      return dashboard_->HandleAsync(std::move(request), std::move(counted));
    }
    const bool post = request.method == "POST";
    if (IsDeviceEndpoint(request.target) && !request.remote_address.empty() &&
        !address_limiter_.Allow(request.remote_address, NowMs())) {
      Refusal refusal = MakeRefusal(
          v1::RATE_LIMITED, "too many requests from " + request.remote_address + "; retry later");
      return counted(Refuse(refusal));
    }
    if (request.target == "/v1/push" && post) return Push(request, std::move(counted));
    if (request.target == "/v1/enroll" && post) {
      return Enroll(request, std::move(counted));
    }
    if (request.target == "/v1/pull" && post) return Pull(request, std::move(counted));
    if (request.target == "/healthz" && request.method == "GET") {
      if (draining_) return counted(Text(503, "shutting down\n"));
      if (!ledger_.GetSetting("server_id").ok()) return counted(Text(503, "store unavailable\n"));
      return counted(Text(200, "ok\n"));
    }
    if (request.target == "/metrics" && request.method == "GET") {
      HttpResponse response =
          Text(200, metrics_.Render({.writer_queue_depth = ledger_.WriterQueueDepth(),
                                     .database_up = ledger_.DatabaseUp(),
                                     .reconnects = ledger_.DatabaseReconnects()}));
      response.content_type = "text/plain; version=0.0.4";
      return counted(std::move(response));
    }
    std::optional<Refusal> refusal = RouteRefusal(request.method, request.target);
    counted(Refuse(refusal.value_or(MakeRefusal(v1::MALFORMED, "no such endpoint")),
                   /*persist=*/false));
  } catch (const std::exception& e) {
    counted(Refuse(MakeRefusal(v1::INTERNAL, std::string("internal error: ") + e.what())));
  }
}

std::optional<HttpResponse> Router::AnswerBeforeBody(const HttpRequest& head) {
  std::optional<Refusal> refusal = RouteRefusal(head.method, head.target);
  if (!refusal) return std::nullopt;
  HttpResponse response = Refuse(*refusal, /*persist=*/false);
  metrics_.CountRequest(EndpointLabel(head.target), response.status);
  return response;
}

CheckContext Router::MakeContext() {
  CheckContext context;
  context.server_id = options_.server_id;
  context.max_body_bytes = options_.max_body_bytes;
  context.find_device = [this](const std::string& id) { return ledger_.FindDevice(id); };
  context.rate_limiter = &rate_limiter_;
  context.byte_budget = &byte_budget_;
  context.now_ms = NowMs();
  return context;
}

void Router::DropEventStreams() {
  if (dashboard_ != nullptr) dashboard_->DropEventStreams();
}

HttpResponse Router::Refuse(const Refusal& refusal, bool persist, const std::string& device_id) {
  HttpResponse response;
  response.status = refusal.http_status;
  response.body = refusal.error.SerializeAsString();
  response.note = ErrorCodeName(refusal.error.code());
  if (refusal.retry_after_s > 0) {
    response.headers.emplace_back("Retry-After", std::to_string(refusal.retry_after_s));
  }
  metrics_.CountRejection(response.note);
  if (persist && refusal.error.code() != v1::UNAVAILABLE) ledger_.CountRejection(response.note);
  switch (refusal.error.code()) {
    case v1::BAD_SIGNATURE:
    case v1::DEVICE_REVOKED:
    case v1::EQUIVOCATION:
    case v1::RATE_LIMITED:
      // An equivocation is raised by the writer with the evidence; the others here.
      if (persist && refusal.error.code() != v1::EQUIVOCATION) {
        ledger_.RecordAlert(response.note, device_id, refusal.error.message());
      }
      break;
    case v1::UNKNOWN_DEVICE:
      // The claimed id is the sender's choice: one alert row for all of them.
      if (persist) ledger_.RecordAlert(response.note, "", refusal.error.message());
      break;
    default:
      break;
  }
  return response;
}

Refusal Router::RefusalForStoreStatus(const Status& status, v1::ErrorCode denied_code,
                                      v1::ErrorCode exists_code) {
  // What the database said (PostgreSQL's messages name hosts, ports and statements) is for
  // the server's log, not for devices.
  const bool from_database = status.message().rfind("postgres:", 0) == 0;
  const std::string detail = from_database ? std::string("database") : status.message();
  if (from_database) std::fprintf(stderr, "syncd: store: %s\n", status.message().c_str());
  switch (status.code()) {
    case StatusCode::kPermissionDenied:
      return MakeRefusal(denied_code, detail);
    case StatusCode::kNotFound:
      return MakeRefusal(v1::UNKNOWN_DEVICE, detail);
    case StatusCode::kAlreadyExists:
      if (exists_code != v1::UNAVAILABLE) return MakeRefusal(exists_code, detail);
      // Two nodes wrote the same new row at once; the loser's retry finds the winner's.
      return MakeRefusal(v1::UNAVAILABLE, "a concurrent write to the same rows; retry");
    case StatusCode::kAborted:
      // PostgreSQL broke a deadlock or a serialization conflict: nothing was stored.
      return MakeRefusal(v1::UNAVAILABLE, "the write was rolled back by a conflict; retry");
    case StatusCode::kInvalidArgument:
      return MakeRefusal(v1::MALFORMED, detail);
    case StatusCode::kUnavailable:
      return MakeRefusal(v1::UNAVAILABLE, "storage busy: " + detail);
    case StatusCode::kResourceExhausted:
      // SQLITE_FULL, the disk, or `serve --max-db-mb`. Nothing was stored; the same bytes
      // are accepted once there is room (sqlite_maintenance.cc).
      return MakeRefusal(
          v1::UNAVAILABLE,
          "the server's storage is full; nothing was stored, retry later: " + detail);
    default:
      return MakeRefusal(v1::INTERNAL, "storage failed");
  }
}

void Router::Push(const HttpRequest& request, std::function<void(HttpResponse)> done) {
  const auto start = std::chrono::steady_clock::now();
  PushCheck check = CheckPush(request.body, MakeContext());
  if (check.refusal) return done(Refuse(*check.refusal, true, check.device.device_id));
  // A replay (the very bytes of a stored batch) is answered from a reader connection: a stored
  // batch never changes, so this needs no lock. Anything else below last_seq (an
  // equivocation) goes to the writer, which re-checks and records it.
  if (check.batch.seq <= check.device.last_seq) {
    auto stored = ledger_.FindBatchResponse(check.batch.device_id, check.batch.seq);
    if (stored.ok() && stored->has_value() &&
        protocol::ConstantTimeEquals((*stored)->first, check.batch.batch_hash)) {
      HttpResponse response = Ok(std::move((*stored)->second));
      response.note = "replay";
      metrics_.ObserveIngestLatency(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      return done(std::move(response));
    }
  }
  ingest_.AppendBatch(std::move(check.batch), [this, start, device_id = check.device.device_id,
                                               done =
                                                   std::move(done)](Result<AppendOutcome> result) {
    HttpResponse response;
    if (!result.ok()) {
      response = Refuse(RefusalForStoreStatus(result.status(), v1::DEVICE_REVOKED, v1::UNAVAILABLE),
                        true, device_id);
    } else if (std::optional<Refusal> refusal = RefusalForOutcome(*result)) {
      response = Refuse(*refusal, true, device_id);
    } else {
      if (result->verdict == protocol::SequenceVerdict::kAccept) {
        metrics_.CountBatchAccepted(result->records_stored);
        for (const std::string& reason : result->record_rejections) {
          metrics_.CountRejection(reason);
        }
        response.note = "accepted";
      } else {
        response.note = "replay";
      }
      response.body = std::move(result->response_bytes);
    }
    metrics_.ObserveIngestLatency(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    done(std::move(response));
  });
}

void Router::Enroll(const HttpRequest& request, std::function<void(HttpResponse)> done) {
  // Codes are 128-bit random, but guessing is still refused: an address that keeps sending
  // wrong codes waits (enroll_failures_per_address per window).
  const std::string address = request.remote_address;
  if (!address.empty() && enroll_failures_.RetryAfterMs(address, NowMs()) > 0) {
    return done(Refuse(
        MakeRefusal(v1::RATE_LIMITED, "too many failed enrollments from " + address +
                                          "; ask the coordinator for a new code and retry later")));
  }
  EnrollCheck check = CheckEnroll(request.body, MakeContext());
  if (check.refusal) return done(Refuse(*check.refusal));
  check.params.receipt_public_key = receipt_key_->public_key().raw();
  ledger_.Enroll(std::move(check.params), [this, address, done = std::move(done)](
                                              Result<v1::EnrollResponse> result) {
    if (!result.ok()) {
      if (result.status().code() == StatusCode::kPermissionDenied && !address.empty()) {
        enroll_failures_.Fail(address, NowMs());
      }
      return done(Refuse(
          RefusalForStoreStatus(result.status(), v1::ENROLLMENT_CODE_INVALID, v1::UNAVAILABLE)));
    }
    HttpResponse response = Ok(result->SerializeAsString());
    response.note = "device=" + result->device_id();
    done(std::move(response));
  });
}

void Router::Pull(const HttpRequest& request, std::function<void(HttpResponse)> done) {
  PullCheck check = CheckPull(request.body, MakeContext());
  if (check.refusal) return done(Refuse(*check.refusal, true, check.params.device_id));
  ledger_.Pull(
      std::move(check.params), [this, done = std::move(done)](Result<v1::PullResponse> result) {
        if (!result.ok()) {
          return done(Refuse(
              RefusalForStoreStatus(result.status(), v1::DEVICE_REVOKED, v1::REPLAYED_PULL)));
        }
        done(Ok(result->SerializeAsString()));
      });
}

}  // namespace vigil::syncd

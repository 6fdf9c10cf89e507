#include <curl/curl.h>

#include <mutex>

#include "vigil/client/sync.h"
#include "vigil/protocol/crypto.h"

namespace vigil::client {
namespace {

// Standard base64 with padding, as CURLOPT_PINNEDPUBLICKEY's "sha256//" wants.
std::string Base64Std(std::string_view bytes) {
  std::string s = protocol::Base64UrlEncode(bytes);
  for (char& c : s) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (s.size() % 4 != 0) s.push_back('=');
  return s;
}

class CurlTransport final : public Transport {
 public:
  explicit CurlTransport(TransportOptions options) : options_(std::move(options)) {}
  ~CurlTransport() override {
    if (curl_ != nullptr) curl_easy_cleanup(curl_);
    if (headers_ != nullptr) curl_slist_free_all(headers_);
  }

  Status Init() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    if (options_.base_url.rfind("https://", 0) != 0) {
      return Status::InvalidArgument("server URL must start with https:// (got '" +
                                     options_.base_url + "')");
    }
    if (options_.tls_pin.size() != protocol::kSha256Size) {
      return Status::InvalidArgument("the server's TLS key pin must be a 32-byte SHA-256");
    }
    curl_ = curl_easy_init();
    if (curl_ == nullptr) return Status::ResourceExhausted("libcurl could not start");
    pin_ = "sha256//" + Base64Std(options_.tls_pin);
    headers_ = curl_slist_append(nullptr, "Content-Type: application/x-protobuf");
    headers_ = curl_slist_append(headers_, "Accept: application/x-protobuf");
    headers_ = curl_slist_append(headers_, "Expect:");  // no 100-continue round trip
    return Status::Ok();
  }

  Result<HttpResult> Post(std::string_view path, std::string_view body) override {
    std::string url = options_.base_url + std::string(path);
    response_.clear();
    overflow_ = false;
    curl_easy_reset(curl_);  // keeps the connection cache and TLS session
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_POST, 1L);
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(curl_, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(curl_, CURLOPT_PINNEDPUBLICKEY, pin_.c_str());
    if (!options_.ca_file.empty()) {
      curl_easy_setopt(curl_, CURLOPT_CAINFO, options_.ca_file.c_str());
      curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYPEER, 1L);
      curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYHOST, 2L);
    } else {
      // The pin, delivered out of band in the enrollment QR code, authenticates the server.
      curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(options_.request_timeout.count()));
    curl_easy_setopt(curl_, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(curl_, CURLOPT_FOLLOWLOCATION, 0L);  // a redirect is a captive portal
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &CurlTransport::Write);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, error_);
    if (options_.cancel != nullptr) {
      // libcurl calls this at least about once a second, even while nothing moves.
      curl_easy_setopt(curl_, CURLOPT_NOPROGRESS, 0L);
      curl_easy_setopt(curl_, CURLOPT_XFERINFOFUNCTION, &CurlTransport::Progress);
      curl_easy_setopt(curl_, CURLOPT_XFERINFODATA, this);
    }
    error_[0] = '\0';
    CURLcode rc = curl_easy_perform(curl_);
    if (rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH) {
      return Status::Unauthenticated(
          "the server's TLS key does not match the pinned key: refusing "
          "to talk to " +
          options_.base_url + " (someone may be in the middle)");
    }
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
      return Status::Aborted("the sync was cancelled during a request to " + options_.base_url);
    }
    if (overflow_) {
      return Status::ResourceExhausted("the server's answer exceeds " +
                                       std::to_string(options_.max_response_bytes) + " bytes");
    }
    if (rc != CURLE_OK) {
      std::string detail = error_[0] != '\0' ? error_ : curl_easy_strerror(rc);
      return Status::Unavailable("cannot reach " + options_.base_url + ": " + detail);
    }
    HttpResult result;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &result.status);
    result.body = std::move(response_);
    return result;
  }

 private:
  // Non-zero aborts the transfer (CURLE_ABORTED_BY_CALLBACK).
  static int Progress(void* self_ptr, curl_off_t /*dltotal*/, curl_off_t /*dlnow*/,
                      curl_off_t /*ultotal*/, curl_off_t /*ulnow*/) {
    const auto* self = static_cast<const CurlTransport*>(self_ptr);
    return self->options_.cancel->load(std::memory_order_relaxed) ? 1 : 0;
  }

  static size_t Write(char* data, size_t size, size_t count, void* self_ptr) {
    auto* self = static_cast<CurlTransport*>(self_ptr);
    size_t n = size * count;
    if (self->response_.size() + n > self->options_.max_response_bytes) {
      self->overflow_ = true;
      return 0;  // aborts the transfer
    }
    self->response_.append(data, n);
    return n;
  }

  TransportOptions options_;
  CURL* curl_ = nullptr;
  curl_slist* headers_ = nullptr;
  std::string pin_;
  std::string response_;
  bool overflow_ = false;
  char error_[CURL_ERROR_SIZE] = {};
};

}  // namespace

Result<std::unique_ptr<Transport>> MakeCurlTransport(const TransportOptions& options) {
  auto transport = std::make_unique<CurlTransport>(options);
  VIGIL_RETURN_IF_ERROR(transport->Init());
  return std::unique_ptr<Transport>(std::move(transport));
}

}  // namespace vigil::client

// syncd's request handler, Router::Handle, over a real SQLite store in a temporary directory
// that holds one station, observer, published form and the enrolled fuzz device. The first
// byte picks what the rest is:
//   0  a POST /v1/push body            1  batch_bytes, signed here by the device (reaches the
//   2  a POST /v1/pull body               sequence rules, the payload and the store)
//   3  pull_bytes, signed here         4  a POST /v1/enroll body
//   5  "METHOD TARGET" then a body after the first newline
// The store keeps what earlier inputs left, as a server does.
#include "fuzz_server.h"
#include "fuzz_support.h"
#include "vigil/protocol/signing.h"
#include "vigil/v1/sync.pb.h"

namespace vigil {
namespace {

std::string Signed(std::string_view label, std::string_view bytes) {
  Result<std::string> signature =
      fuzz::DeviceKey().Sign(protocol::SignatureInput(label, fuzz::kServerId, bytes));
  fuzz::Require(signature.ok());
  return *signature;
}

}  // namespace
}  // namespace vigil

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static vigil::fuzz::FuzzServer server("router");
  vigil::syncd::Router& router = server.router();
  std::string rest(vigil::fuzz::AsText(data + 1, size - 1));
  vigil::syncd::HttpRequest request{"POST", "", ""};
  switch (data[0] % 6) {
    case 0:
      request.target = "/v1/push";
      request.body = std::move(rest);
      break;
    case 1: {
      vigil::v1::SignedBatch signed_batch;
      signed_batch.set_signature(vigil::Signed(vigil::protocol::kBatchLabel, rest));
      signed_batch.set_batch_bytes(std::move(rest));
      request.target = "/v1/push";
      request.body = signed_batch.SerializeAsString();
      break;
    }
    case 2:
      request.target = "/v1/pull";
      request.body = std::move(rest);
      break;
    case 3: {
      vigil::v1::SignedPull signed_pull;
      signed_pull.set_signature(vigil::Signed(vigil::protocol::kPullLabel, rest));
      signed_pull.set_pull_bytes(std::move(rest));
      request.target = "/v1/pull";
      request.body = signed_pull.SerializeAsString();
      break;
    }
    case 4:
      request.target = "/v1/enroll";
      request.body = std::move(rest);
      break;
    default: {
      size_t line = rest.find('\n');
      std::string head = rest.substr(0, line);
      size_t space = head.find(' ');
      request.method = head.substr(0, space);
      request.target = space == std::string::npos ? "" : head.substr(space + 1);
      request.body = line == std::string::npos ? "" : rest.substr(line + 1);
      break;
    }
  }
  vigil::syncd::HttpResponse response = router.Handle(std::move(request));
  if (response.status < 100 || response.status > 599) std::abort();
  return 0;
}

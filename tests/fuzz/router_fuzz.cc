// syncd's request handler, Router::Handle, over a real SQLite store in a temporary directory
// that holds one station, observer, published form and the enrolled fuzz device. The first
// byte picks what the rest is:
//   0  a POST /v1/push body            1  batch_bytes, signed here by the device (reaches the
//   2  a POST /v1/pull body               sequence rules, the payload and the store)
//   3  pull_bytes, signed here         4  a POST /v1/enroll body
//   5  "METHOD TARGET" then a body after the first newline
// The store keeps what earlier inputs left, as a server does.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>

#include "fuzz_support.h"
#include "http/router.h"
#include "metrics/metrics.h"
#include "store/sqlite_store.h"
#include "vigil/protocol/signing.h"

namespace vigil {
namespace {

void Require(bool ok) {
  if (!ok) std::abort();
}

struct Server {
  std::string dir;
  std::unique_ptr<syncd::SqliteStore> store;
  syncd::Metrics metrics;
  std::unique_ptr<syncd::Router> router;

  Server() {
    std::error_code ec;
    std::filesystem::path base = std::filesystem::is_directory("/dev/shm", ec)
                                     ? "/dev/shm"
                                     : std::filesystem::temp_directory_path();
    std::string pattern = (base / "vigil_fuzz_router_XXXXXX").string();
    Require(mkdtemp(pattern.data()) != nullptr);
    dir = pattern;
    Result<std::unique_ptr<syncd::SqliteStore>> opened =
        syncd::SqliteStore::Open(dir + "/syncd.db", true);
    Require(opened.ok());
    store = std::move(opened).value();
    Require(store->InitSetting("server_id", std::string(fuzz::kServerId)).ok());
    v1::Station station;
    station.set_code("12-03-07-0452");
    station.set_name("School");
    station.set_registered_voters(700);
    Require(store->ImportStations({station}).ok());
    Require(store->AddObserver("obs1", "Sok", "", {"12-03-07-0452"}).ok());
    Require(store->PublishForm(fuzz::SampleForm()).ok());
    Result<protocol::Ed25519PrivateKey> key = protocol::Ed25519PrivateKey::Generate();
    Require(key.ok());
    syncd::RouterOptions options;
    options.server_id = std::string(fuzz::kServerId);
    options.max_body_bytes = 1 << 20;
    options.rate_per_device_per_s = 0;
    router = std::make_unique<syncd::Router>(
        *store, metrics,
        std::make_shared<const protocol::Ed25519PrivateKey>(std::move(key).value()), options);
    // Enroll the fuzz device with a code, as a tablet would.
    const std::string code = "fuzz-enrollment-code";
    Require(
        store->AddEnrollmentCode(protocol::Sha256(code), "obs1", syncd::NowMs() + 3'600'000).ok());
    v1::EnrollRequest request;
    request.set_code(code);
    request.set_public_key(fuzz::DeviceKey().public_key().raw());
    Result<std::string> proof = fuzz::DeviceKey().Sign(protocol::SignatureInput(
        protocol::kEnrollLabel, code, fuzz::DeviceKey().public_key().raw()));
    Require(proof.ok());
    request.set_proof(*proof);
    Require(router->Handle({"POST", "/v1/enroll", request.SerializeAsString()}).status == 200);
  }
  ~Server() {
    router.reset();
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

Server& TheServer() {
  static Server server;
  return server;
}

std::string Signed(std::string_view label, std::string_view bytes) {
  Result<std::string> signature =
      fuzz::DeviceKey().Sign(protocol::SignatureInput(label, fuzz::kServerId, bytes));
  Require(signature.ok());
  return *signature;
}

}  // namespace
}  // namespace vigil

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil;
  if (size == 0) return 0;
  syncd::Router& router = *TheServer().router;
  std::string rest(fuzz::AsText(data + 1, size - 1));
  syncd::HttpRequest request{"POST", "", ""};
  switch (data[0] % 6) {
    case 0:
      request.target = "/v1/push";
      request.body = std::move(rest);
      break;
    case 1: {
      v1::SignedBatch signed_batch;
      signed_batch.set_signature(Signed(protocol::kBatchLabel, rest));
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
      v1::SignedPull signed_pull;
      signed_pull.set_signature(Signed(protocol::kPullLabel, rest));
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
  syncd::HttpResponse response = router.Handle(std::move(request));
  if (response.status < 100 || response.status > 599) std::abort();
  return 0;
}

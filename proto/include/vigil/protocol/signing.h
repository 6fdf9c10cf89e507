// What exactly is signed (docs/architecture.md §4; docs/protocol.md shows it byte by byte):
//
//   label 0x00 context 0x00 payload
//
// label:   "vigil/v1/batch", "vigil/v1/pull", "vigil/v1/receipt" or "vigil/v1/enroll"
// context: the deployment's server id (UTF-8) — or, for enrollment, the one-time code
// payload: the serialized message bytes exactly as they travel
//
// The context binds a signature to one deployment: a batch signed for a training server
// does not verify on the election server.
#pragma once

#include <string>
#include <string_view>

namespace vigil::protocol {

inline constexpr std::string_view kBatchLabel = "vigil/v1/batch";
inline constexpr std::string_view kPullLabel = "vigil/v1/pull";
inline constexpr std::string_view kReceiptLabel = "vigil/v1/receipt";
inline constexpr std::string_view kEnrollLabel = "vigil/v1/enroll";

// The bytes a signature covers.
std::string SignatureInput(std::string_view label, std::string_view context,
                           std::string_view payload);

// A device's id: "d" followed by the lower-case hex of the first 16 bytes of SHA-256 of its
// raw Ed25519 public key. The device knows it before enrollment, so batches sealed offline
// already carry it; syncd assigns exactly this id when the key enrolls.
std::string DeviceIdFromPublicKey(std::string_view raw_public_key);

}  // namespace vigil::protocol

// Receipts (docs/protocol.md §6): what the server signs for every accepted batch.
#pragma once

#include <memory>
#include <string>

#include "vigil/protocol/crypto.h"
#include "vigil/status.h"
#include "vigil/v1/sync.pb.h"

namespace vigil::syncd {

// Signs receipts with the deployment's receipt key for one server id. Thread-safe.
class ReceiptIssuer {
 public:
  ReceiptIssuer(std::shared_ptr<const protocol::Ed25519PrivateKey> key, std::string server_id)
      : key_(std::move(key)), server_id_(std::move(server_id)) {}

  // `receipt` with this server's id, serialized and signed under kReceiptLabel.
  Result<v1::SignedReceipt> Sign(v1::Receipt receipt) const;

 private:
  std::shared_ptr<const protocol::Ed25519PrivateKey> key_;
  std::string server_id_;
};

}  // namespace vigil::syncd

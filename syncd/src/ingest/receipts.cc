#include "ingest/receipts.h"

#include "vigil/protocol/signing.h"

namespace vigil::syncd {

Result<v1::SignedReceipt> ReceiptIssuer::Sign(v1::Receipt receipt) const {
  receipt.set_server_id(server_id_);
  v1::SignedReceipt signed_receipt;
  signed_receipt.set_receipt_bytes(receipt.SerializeAsString());
  VIGIL_ASSIGN_OR_RETURN(std::string signature,
                         key_->Sign(protocol::SignatureInput(protocol::kReceiptLabel, server_id_,
                                                             signed_receipt.receipt_bytes())));
  signed_receipt.set_signature(std::move(signature));
  return signed_receipt;
}

}  // namespace vigil::syncd

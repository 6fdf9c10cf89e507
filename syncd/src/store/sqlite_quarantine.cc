// Quarantined records (docs/protocol.md §11): listing and release.
#include "store/sqlite_store.h"

namespace vigil::syncd {

Result<v1::QuarantinePage> SqliteStore::QuarantinePage(bool /*released*/, PageRequest /*page*/) {
  return Status::Unimplemented("quarantine listing is not built yet");
}

Result<v1::QuarantinedRecord> SqliteStore::ReleaseQuarantine(const std::string& /*record_id*/,
                                                             const std::string& /*by*/,
                                                             const std::string& /*reason*/) {
  return Status::Unimplemented("quarantine release is not built yet");
}

}  // namespace vigil::syncd

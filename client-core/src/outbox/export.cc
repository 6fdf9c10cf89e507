// Client::ExportOutbox: the pending batches as files, for carrying to syncd by hand.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "vigil/client/client.h"

namespace vigil::client {
namespace {

Status WriteFile(const std::string& dir, const std::string& name, const std::string& bytes) {
  std::string path = (std::filesystem::path(dir) / name).string();
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  f.close();
  if (!f) return Status::ResourceExhausted("cannot write " + path);
  return Status::Ok();
}

}  // namespace

Result<OutboxExport> Client::ExportOutbox(const std::string& dir) {
  OutboxExport out;
  VIGIL_ASSIGN_OR_RETURN(out.sealed_now, SealOutbox());
  VIGIL_ASSIGN_OR_RETURN(std::vector<PendingBatch> batches, PendingBatches());
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::FailedPrecondition("cannot create " + dir + ": " + ec.message());
  for (const PendingBatch& b : batches) {
    char name[32];
    std::snprintf(name, sizeof name, "%06llu.batch", static_cast<unsigned long long>(b.seq));
    VIGIL_RETURN_IF_ERROR(WriteFile(dir, name, b.signed_batch));
    out.batches.push_back(ExportedBatch{b.seq, name, b.record_count, b.signed_batch.size()});
  }
  VIGIL_ASSIGN_OR_RETURN(std::string pem, PublicKeyPem());
  VIGIL_RETURN_IF_ERROR(WriteFile(dir, "device.pub.pem", pem));
  out.other_files.emplace_back("device.pub.pem");
  VIGIL_ASSIGN_OR_RETURN(std::string server_id, ServerId());
  VIGIL_RETURN_IF_ERROR(WriteFile(dir, "server-id", server_id));
  out.other_files.emplace_back("server-id");
  return out;
}

}  // namespace vigil::client

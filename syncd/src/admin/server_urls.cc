#include "admin/server_urls.h"

#include <algorithm>

#include "vigil/protocol/server_urls.h"

namespace vigil::syncd {

Status SetServerUrls(AdminStore& store, const std::vector<std::string>& urls) {
  VIGIL_RETURN_IF_ERROR(protocol::CheckServerUrls(urls));
  return store.PutSetting(kServerUrlsSetting, protocol::JoinServerUrls(urls));
}

Result<std::vector<std::string>> GetServerUrls(DeviceLedger& store) {
  Result<std::string> stored = store.GetSetting(kServerUrlsSetting);
  if (stored.status().code() == StatusCode::kNotFound) return std::vector<std::string>{};
  if (!stored.ok()) return stored.status();
  return protocol::SplitServerUrls(*stored);
}

std::vector<std::string> EnrollmentUrls(const std::vector<std::string>& stored,
                                        const std::string& first) {
  if (first.empty()) return stored;
  std::vector<std::string> urls{first};
  for (const std::string& url : stored) {
    if (url != first && urls.size() < protocol::kMaxServerUrls) urls.push_back(url);
  }
  return urls;
}

}  // namespace vigil::syncd

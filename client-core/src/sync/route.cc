#include "sync/route.h"

#include <algorithm>
#include <utility>

#include "vigil/protocol/server_urls.h"

namespace vigil::client::sync {

Route::Route(std::shared_ptr<Transport> transport, std::string url)
    : urls_{std::move(url)}, transports_{std::move(transport)} {}

Route::Route(std::vector<std::string> urls, size_t first, TransportOptions options,
             TransportFactory make)
    : urls_(std::move(urls)),
      current_(first < urls_.size() ? first : 0),
      options_(std::move(options)),
      make_(std::move(make)),
      transports_(urls_.size()) {}

Result<Transport*> Route::Current() {
  std::shared_ptr<Transport>& transport = transports_[current_];
  if (!transport) {
    TransportOptions options = options_;
    options.base_url = urls_[current_];
    Result<std::unique_ptr<Transport>> made = make_ ? make_(options) : MakeCurlTransport(options);
    if (!made.ok()) return made.status();
    transport = std::move(made).value();
  }
  return transport.get();
}

void Route::Next() { current_ = (current_ + 1) % urls_.size(); }

Result<StoredServers> LoadServers(Client::State& state) {
  VIGIL_ASSIGN_OR_RETURN(auto list, state.GetMeta("server_urls"));
  VIGIL_ASSIGN_OR_RETURN(auto current, state.GetMeta("server_url"));
  StoredServers servers;
  if (list) servers.urls = protocol::SplitServerUrls(*list);
  if (current) {
    servers.current = *current;
    if (servers.urls.empty()) servers.urls.push_back(*current);
  }
  return servers;
}

Status StoreServerUrls(Client::State& state, const std::vector<std::string>& urls) {
  return state.PutMeta("server_urls", protocol::JoinServerUrls(urls));
}

Status RememberServer(Client::State& state, const std::string& url) {
  if (url.empty()) return Status::Ok();
  VIGIL_ASSIGN_OR_RETURN(auto current, state.GetMeta("server_url"));
  if (current && *current == url) return Status::Ok();
  return state.PutMeta("server_url", url);
}

Result<Route> MakeRoute(Client::State& state, const SyncOptions& options, const std::string& pin) {
  VIGIL_ASSIGN_OR_RETURN(StoredServers servers, LoadServers(state));
  if (servers.urls.empty()) {
    return Status::FailedPrecondition("this device is not enrolled: run `observer enroll` first");
  }
  if (options.transport) {
    return Route(options.transport,
                 servers.current.empty() ? servers.urls.front() : servers.current);
  }
  auto at = std::find(servers.urls.begin(), servers.urls.end(), servers.current);
  TransportOptions transport;
  transport.tls_pin = pin;
  transport.ca_file = options.ca_file;
  transport.cancel = options.cancel;
  const auto first = static_cast<size_t>(at == servers.urls.end() ? 0 : at - servers.urls.begin());
  return Route(std::move(servers.urls), first, std::move(transport), options.make_transport);
}

}  // namespace vigil::client::sync

// Which of the deployment's servers a request goes to (docs/protocol.md §5.1): the URL that
// last answered first; each failure the retry rules retry (wire.h) moves the next attempt to
// the next URL, round the list, with the same backoff; a refusal that retrying cannot fix, or a
// TLS key that does not match the pin, stays where it is. One pin for every URL.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "client_state.h"
#include "vigil/client/sync.h"

namespace vigil::client::sync {

class Route {
 public:
  // Only `transport`, reached at `url` (SyncOptions::transport): nowhere to fail over to.
  Route(std::shared_ptr<Transport> transport, std::string url);
  // A transport for each of `urls` (1 or more), made by `make` (nullptr: MakeCurlTransport)
  // from `options` with the URL as base_url when first needed; starts at urls[first].
  Route(std::vector<std::string> urls, size_t first, TransportOptions options,
        TransportFactory make);

  // The transport of the current URL.
  Result<Transport*> Current();
  // After a failure that is retried: the next URL (the same one when there is only one).
  void Next();
  // The current URL answered (a valid answer or a refusal of its own).
  void Answered() { answered_ = urls_[current_]; }

  const std::string& url() const { return urls_[current_]; }
  const std::vector<std::string>& urls() const { return urls_; }
  // The URL that answered last, "" when none did yet.
  const std::string& answered() const { return answered_; }

 private:
  std::vector<std::string> urls_;
  size_t current_ = 0;
  TransportOptions options_;
  TransportFactory make_;
  std::vector<std::shared_ptr<Transport>> transports_;  // Per URL; null until made.
  std::string answered_;
};

// The deployment's server URLs as the device holds them (meta server_urls, one per line; a
// store enrolled before lists existed has only server_url) and the one to try first (meta
// server_url: the one that last answered). Empty when not enrolled.
struct StoredServers {
  std::vector<std::string> urls;
  std::string current;
};
Result<StoredServers> LoadServers(Client::State& state);

// Stores `urls` (checked by the caller) as the deployment's list.
Status StoreServerUrls(Client::State& state, const std::vector<std::string>& urls);
// Stores `url` as the one the next sync tries first, when it is another one.
Status RememberServer(Client::State& state, const std::string& url);

// A route over the stored servers, starting at the one that last answered: options.transport
// alone when set, else a transport per URL (options.make_transport or libcurl) pinned to `pin`.
Result<Route> MakeRoute(Client::State& state, const SyncOptions& options, const std::string& pin);

}  // namespace vigil::client::sync

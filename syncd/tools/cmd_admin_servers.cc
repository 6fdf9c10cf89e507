// `syncd admin server-urls set|show`: the deployment's server URLs, which enrollment payloads
// and every pull answer carry to devices (admin/server_urls.h, docs/operations.md §7).
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "admin/data_dir.h"
#include "admin/server_urls.h"
#include "cli.h"

namespace vigil::syncd::cli {
namespace {

struct ServerUrlsFlags : DataFlags {
  std::vector<std::string> urls;
};

int RunServerUrlsSet(SqlStore& store, const ServerUrlsFlags& flags) {
  Status stored = SetServerUrls(store, flags.urls);
  if (!stored.ok()) return Report(stored);
  std::cout << "server URLs set (" << flags.urls.size()
            << "); devices learn them at their next pull\n";
  return 0;
}

int RunServerUrlsShow(SqlStore& store, const DataFlags& /*flags*/) {
  Result<std::vector<std::string>> urls = GetServerUrls(store);
  if (!urls.ok()) return Report(urls.status());
  if (urls->empty()) {
    std::cerr << "syncd: no server URLs set; enrollment payloads carry --server-url alone\n";
    return 0;
  }
  for (const std::string& url : *urls) std::cout << url << "\n";
  return 0;
}

}  // namespace

void AddServerUrlCommands(CLI::App& admin, Commands& commands) {
  CLI::App* server_urls = admin.add_subcommand(
      "server-urls", "the URLs devices reach this deployment's syncd nodes at, in order");
  server_urls->require_subcommand(1);

  auto set_flags = std::make_shared<ServerUrlsFlags>();
  CLI::App* set = server_urls->add_subcommand(
      "set", "replace the list: 1 to 16 https://host[:port], the first tried first");
  set->add_option("URL", set_flags->urls, "server URLs")->required();
  commands.AddOnStore(set, set_flags, RunServerUrlsSet);

  auto show_flags = std::make_shared<DataFlags>();
  CLI::App* show = server_urls->add_subcommand("show", "print the list, one URL per line");
  commands.AddOnStore(show, show_flags, RunServerUrlsShow);
}

}  // namespace vigil::syncd::cli

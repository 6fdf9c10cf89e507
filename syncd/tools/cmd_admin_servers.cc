// `syncd admin server-urls set|show`: the deployment's server URLs, which enrollment payloads
// and every pull answer carry to devices (admin/server_urls.h, docs/operations.md §7); and
// `syncd admin station-distance set|show`: how far from its station a checklist may be filed
// before it is flagged far_from_station (merge/master.h, M9).
#include <cmath>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "admin/data_dir.h"
#include "admin/server_urls.h"
#include "cli.h"
#include "merge/master.h"

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

struct StationDistanceFlags : DataFlags {
  double metres = 0;
};

int RunStationDistanceSet(SqlStore& store, const StationDistanceFlags& flags) {
  if (!std::isfinite(flags.metres) || flags.metres < 0 || flags.metres > 1e7) {
    return Report(Status::InvalidArgument("a distance in metres, 0 to 10,000,000"));
  }
  Status stored =
      store.PutSetting(merge::kFarFromStationSetting, std::to_string(std::lround(flags.metres)));
  if (!stored.ok()) return Report(stored);
  std::cout << "checklists filed more than " << std::lround(flags.metres)
            << " m from their station are flagged far_from_station from now on\n";
  return 0;
}

int RunStationDistanceShow(SqlStore& store, const DataFlags& /*flags*/) {
  Result<std::string> stored = store.GetSetting(merge::kFarFromStationSetting);
  if (stored.status().code() == StatusCode::kNotFound) {
    std::cout << std::lround(merge::kDefaultFarFromStationM) << " m (not set: the default)\n";
    return 0;
  }
  if (!stored.ok()) return Report(stored.status());
  std::cout << *stored << " m\n";
  return 0;
}

}  // namespace

void AddStationDistanceCommands(CLI::App& admin, Commands& commands) {
  CLI::App* distance = admin.add_subcommand(
      "station-distance", "how far from its station a checklist may be filed unflagged");
  distance->require_subcommand(1);
  auto set_flags = std::make_shared<StationDistanceFlags>();
  CLI::App* set = distance->add_subcommand("set", "set the distance in metres");
  set->add_option("METRES", set_flags->metres, "metres")->required();
  commands.AddOnStore(set, set_flags, RunStationDistanceSet);
  auto show_flags = std::make_shared<DataFlags>();
  CLI::App* show = distance->add_subcommand("show", "print the distance in metres");
  commands.AddOnStore(show, show_flags, RunStationDistanceShow);
}

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

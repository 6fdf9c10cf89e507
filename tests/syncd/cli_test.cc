// `syncd`'s command line, run as the real binary: `--data DIR` before the subcommand
// (`syncd --data DIR admin stats`) and after it, at any level (`syncd admin stats --data DIR`),
// give the same answer as `syncd admin --data DIR stats`; without it, the same clear error.
#include <doctest/doctest.h>

#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "serve_process.h"
#include "test_util.h"

namespace vigil::syncd {
namespace {

using testing::RunSyncd;
using testing::TempDir;

// A data dir made with `syncd --data DIR init`, then set up with --data in each place.
struct CliDeployment {
  TempDir dir;
  std::string data = dir.path() + "/data";

  CliDeployment() {
    auto [rc, out] = RunSyncd("--data " + data + " init --server-id cli-server");
    REQUIRE_MESSAGE(rc == 0, out);
    CHECK(out.find("initialized " + data + "\n") != std::string::npos);
    std::ofstream(dir.path() + "/stations.csv")
        << "code,name,province,district,commune,registered_voters\n"
        << testing::kStation << ",School,Phnom Penh,D,C,700\n";
    std::ofstream(dir.path() + "/opening.json")
        << R"({"formId": "opening", "version": 1, "kind": "CHECKLIST",
               "questions": [{"id": "q01_voters", "type": "INTEGER", "label": {"en": "Voters"}}]})";
    Succeeds("admin stations import " + dir.path() + "/stations.csv --data " + data);
    Succeeds("--data " + data + " admin forms publish " + dir.path() + "/opening.json");
    Succeeds("admin observers --data " + data + " add obs1 --name Sok --stations " +
             testing::kStation);
  }

  static std::string Succeeds(const std::string& args) {
    auto [rc, out] = RunSyncd(args);
    REQUIRE_MESSAGE(rc == 0, "syncd " << args << ": " << out);
    return out;
  }
};

TEST_CASE("--data before the subcommand, after it and after `admin` give the same answer") {
  CliDeployment deployment;
  const std::string& data = deployment.data;
  const std::vector<std::string> commands = {
      "stats",         "stats --json",         "coverage --by nation --json",
      "conflicts",     "cases --json",         "audit --json",
      "devices list",  "coordinators list",    "quarantine --json",
      "alerts --json", "export masters --csv", "verify"};
  for (const std::string& command : commands) {
    CAPTURE(command);
    const std::string usual = CliDeployment::Succeeds("admin --data " + data + " " + command);
    CHECK(CliDeployment::Succeeds("admin " + command + " --data " + data) == usual);
    CHECK(CliDeployment::Succeeds("--data " + data + " admin " + command) == usual);
  }
  const std::string stats = CliDeployment::Succeeds("--data " + data + " admin stats");
  CHECK(stats.find("server_id: cli-server\n") != std::string::npos);
  CHECK(stats.find("stations: 1\n") != std::string::npos);
  CHECK(stats.find("observers: 1\n") != std::string::npos);
  CHECK(stats.find("forms: 1\n") != std::string::npos);
}

TEST_CASE("--data before a nested subcommand, between its levels and at its end") {
  CliDeployment deployment;
  const std::string& data = deployment.data;
  const std::string csv = deployment.dir.path() + "/stations.csv";
  for (const std::string& args : {"--data " + data + " admin stations import " + csv,
                                  "admin stations --data " + data + " import " + csv,
                                  "admin stations import " + csv + " --data " + data}) {
    CAPTURE(args);
    CHECK(CliDeployment::Succeeds(args) == "imported 1 stations\n");
  }
  for (const std::string& args : {"--data " + data + " admin observers assign obs1 --stations " +
                                      testing::kStation + " --by me",
                                  "admin observers assign obs1 --stations " +
                                      std::string(testing::kStation) + " --by me --data " + data}) {
    CAPTURE(args);
    CHECK(CliDeployment::Succeeds(args) ==
          "assigned " + std::string(testing::kStation) + " to observer obs1\n");
  }
}

TEST_CASE("--data before serve, restore and init is theirs") {
  CliDeployment deployment;
  const std::string missing = deployment.dir.path() + "/nothing";
  // serve names the data dir it could not lock, wherever --data was.
  for (const std::string& args : {"--data " + missing + " serve --no-tls --listen 127.0.0.1:0",
                                  "serve --no-tls --listen 127.0.0.1:0 --data " + missing}) {
    CAPTURE(args);
    auto [rc, out] = RunSyncd(args);
    CHECK(rc == 1);
    CHECK(out == "syncd: another syncd serve already uses " + missing +
                     " (or its serve.lock cannot be made)\n");
  }

  const std::string backup = deployment.dir.path() + "/backup.vbk";
  CliDeployment::Succeeds("--data " + deployment.data + " admin backup --out " + backup);
  const std::string restored1 = deployment.dir.path() + "/restored1";
  const std::string restored2 = deployment.dir.path() + "/restored2";
  for (const auto& [restored, args] :
       {std::pair{restored1, "--data " + restored1 + " restore --from " + backup},
        std::pair{restored2, "restore --from " + backup + " --data " + restored2}}) {
    CAPTURE(args);
    CHECK(CliDeployment::Succeeds(args).find("restored " + restored + " (server_id cli-server)") ==
          0);
    CHECK(CliDeployment::Succeeds("--data " + restored + " admin stats")
              .find("server_id: cli-server\n") != std::string::npos);
  }

  auto [rc, out] = RunSyncd("--data " + deployment.data + " init");
  CHECK(rc != 0);
  CHECK(out.find(deployment.data) != std::string::npos);
}

TEST_CASE("without --data every subcommand gives the same clear error") {
  TempDir dir;
  for (const std::string& args :
       {std::string("admin stats"), std::string("admin stats --json"),
        std::string("admin stations import x.csv"), std::string("init"),
        std::string("serve --listen 127.0.0.1:0"), "restore --from " + dir.path() + "/b.vbk"}) {
    CAPTURE(args);
    auto [rc, out] = RunSyncd(args);
    CHECK(rc == 106);
    CHECK(out == "--data is required\nRun with --help for more information.\n");
  }
  // A data dir given twice, before and after the subcommand, is refused like one given twice.
  auto [rc, out] = RunSyncd("--data " + dir.path() + " admin stats --data " + dir.path());
  CHECK(rc != 0);
  CHECK(out.find("--data: At Most 1 required but received 2") != std::string::npos);
  // No subcommand: as before, --data or not.
  for (const std::string& args : {std::string(""), "--data " + dir.path()}) {
    CAPTURE(args);
    std::tie(rc, out) = RunSyncd(args);
    CHECK(rc == 106);
    CHECK(out == "A subcommand is required\nRun with --help for more information.\n");
  }
}

TEST_CASE("admin server-urls sets and shows the list, refuses a bad one, and enroll-code uses it") {
  CliDeployment deployment;
  const std::string admin = "admin --data " + deployment.data + " ";
  // None set: show says so (on stderr) and a payload carries --server-url alone, as before.
  auto [rc, out] = RunSyncd(admin + "server-urls show");
  CHECK(rc == 0);
  CHECK(out.find("no server URLs set") != std::string::npos);
  auto payload_of = [&](const std::string& args) {
    std::string text = CliDeployment::Succeeds(admin + "enroll-code --observer obs1" + args);
    v1::EnrollmentPayload payload;
    REQUIRE(payload.ParseFromString(
        protocol::Base64UrlDecode(text.substr(0, text.find('\n'))).value()));
    return payload;
  };
  v1::EnrollmentPayload before = payload_of(" --server-url https://lan.example:8443");
  CHECK(before.server_url() == "https://lan.example:8443");
  CHECK(before.server_urls_size() == 0);

  CHECK(
      CliDeployment::Succeeds(admin + "server-urls set https://a.example:8443 https://b.example") ==
      "server URLs set (2); devices learn them at their next pull\n");
  CHECK(CliDeployment::Succeeds(admin + "server-urls show") ==
        "https://a.example:8443\nhttps://b.example\n");
  v1::EnrollmentPayload listed = payload_of("");
  CHECK(listed.server_url() == "https://a.example:8443");
  CHECK(std::vector<std::string>(listed.server_urls().begin(), listed.server_urls().end()) ==
        std::vector<std::string>{"https://a.example:8443", "https://b.example"});
  v1::EnrollmentPayload first = payload_of(" --server-url https://b.example");
  CHECK(std::vector<std::string>(first.server_urls().begin(), first.server_urls().end()) ==
        std::vector<std::string>{"https://b.example", "https://a.example:8443"});

  // A bad list: exit status 2, the bad URL named, the stored list unchanged.
  for (const std::string& bad :
       {std::string("http://a.example"), std::string("https://a.example/sync"),
        std::string("https://a.example:70000")}) {
    CAPTURE(bad);
    std::tie(rc, out) = RunSyncd(admin + "server-urls set https://c.example " + bad);
    CHECK(rc == 2);
    CHECK(out.find("'" + bad + "'") != std::string::npos);
  }
  std::tie(rc, out) = RunSyncd(admin + "server-urls set https://c.example https://c.example");
  CHECK(rc == 2);
  CHECK(out.find("listed twice") != std::string::npos);
  std::tie(rc, out) = RunSyncd(admin + "server-urls set");
  CHECK(rc != 0);
  CHECK(CliDeployment::Succeeds(admin + "server-urls show") ==
        "https://a.example:8443\nhttps://b.example\n");
}

TEST_CASE("admin station-distance shows the default, sets a distance and refuses a bad one") {
  CliDeployment deployment;
  const std::string admin = "admin --data " + deployment.data + " ";
  CHECK(CliDeployment::Succeeds(admin + "station-distance show") ==
        "1000 m (not set: the default)\n");
  CHECK(CliDeployment::Succeeds(admin + "station-distance set 2500") ==
        "checklists filed more than 2500 m from their station are flagged far_from_station "
        "from now on\n");
  CHECK(CliDeployment::Succeeds(admin + "station-distance show") == "2500 m\n");
  auto [rc, out] = RunSyncd(admin + "station-distance set -5");
  CHECK(rc != 0);
  CHECK(CliDeployment::Succeeds(admin + "station-distance show") == "2500 m\n");
}

TEST_CASE("syncd --help names --data with the subcommands") {
  auto [rc, out] = RunSyncd("--help");
  CHECK(rc == 0);
  CHECK(out.find("--data TEXT") != std::string::npos);
  for (const char* command : {"init", "serve", "admin", "restore"}) {
    CAPTURE(command);
    CHECK(out.find(std::string("\n  ") + command + " ") != std::string::npos);
  }
}

}  // namespace
}  // namespace vigil::syncd

// `syncd init`: a new data dir (admin/data_dir.h).
#include <iostream>
#include <memory>
#include <string>

#include "admin/data_dir.h"
#include "cli.h"
#include "tls/cert.h"
#include "vigil/protocol/crypto.h"

namespace vigil::syncd::cli {
namespace {

struct InitFlags : DataFlags {
  InitOptions init;
};

int RunInit(const InitFlags& flags) {
  Result<InitResult> result = InitDataDir(DataDir(flags.data), flags.init);
  if (!result.ok()) return Report(result.status());
  std::cout << "initialized " << flags.data
            << (flags.init.database_url.empty() ? "" : " (store: PostgreSQL)") << "\n"
            << "server_id: " << result->server_id << "\n"
            << "receipt_public_key: " << protocol::Base64UrlEncode(result->receipt_public_key)
            << "\n"
            << "tls_pin: " << PinForCurl(result->tls_pin) << "\n";
  return 0;
}

}  // namespace

void AddInitCommand(CLI::App& app, Commands& commands, std::string& data, CLI::Option* global) {
  auto flags = std::make_shared<InitFlags>();
  CLI::App* init = app.add_subcommand("init", "create a data dir: store, server id, keys, TLS");
  AddDataOption(init, data, global);
  init->add_option("--server-id", flags->init.server_id, "deployment id (default: a new UUID)");
  init->add_option("--tls-cert", flags->init.tls_cert, "PEM certificate to use");
  init->add_option("--tls-key", flags->init.tls_key, "PEM private key to use");
  init->add_option("--database", flags->init.database_url,
                   "keep the store in this PostgreSQL database (postgresql://…; it must exist "
                   "and be empty) instead of DIR/syncd.db");
  commands.Add(init, flags, RunInit);
}

}  // namespace vigil::syncd::cli

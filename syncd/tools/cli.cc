// What `syncd`'s subcommands share (cli.h).
#include "cli.h"

namespace vigil::syncd::cli {
namespace {

int Depth(const CLI::App* command) {
  int depth = 0;
  for (const CLI::App* parent = command->get_parent(); parent != nullptr;
       parent = parent->get_parent()) {
    ++depth;
  }
  return depth;
}

}  // namespace

int Commands::RunGiven(const std::string& data) const {
  const Entry* given = nullptr;
  for (const Entry& entry : entries_) {
    if (*entry.command && (given == nullptr || Depth(entry.command) > Depth(given->command))) {
      given = &entry;
    }
  }
  return given != nullptr ? given->run(data) : 0;
}

CLI::Option* AddDataOption(CLI::App* command, std::string& data, CLI::Option* global) {
  CLI::Option* option = command->add_option("--data", data, "data directory")->required();
  // Runs when the command line reaches `command`: whatever came before it is parsed.
  command->preparse_callback([global, option](size_t) {
    if (global->count() > 0) option->add_result(global->results());
  });
  return option;
}

int Report(const Status& status) {
  if (status.ok()) return 0;
  std::cerr << "syncd: " << status.message() << "\n";
  return status.code() == StatusCode::kInvalidArgument ? 2 : 1;
}

int PrintJson(const google::protobuf::Message& message) {
  Result<std::string> out = ToJson(message);
  if (!out.ok()) return Report(out.status());
  std::cout << *out << "\n";
  return 0;
}

std::vector<std::string> SplitComma(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= text.size() && !text.empty()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    if (comma > pos) out.push_back(text.substr(pos, comma - pos));
    pos = comma + 1;
  }
  return out;
}

}  // namespace vigil::syncd::cli

// `syncd admin stations|forms|observers`: what a deployment is set up with (admin/admin.h).
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "admin/admin.h"
#include "admin/data_dir.h"
#include "cli.h"
#include "vigil/protocol/form_rules.h"

namespace vigil::syncd::cli {
namespace {

struct FileFlags : DataFlags {
  std::string file;
};

int RunStationsImport(SqlStore& store, const FileFlags& flags) {
  Result<std::string> text = ReadFile(flags.file);
  if (!text.ok()) return Report(text.status());
  Result<std::vector<v1::Station>> parsed = ParseStationsCsv(*text);
  if (!parsed.ok()) return Report(parsed.status().WithContext(flags.file));
  Status imported = store.ImportStations(*parsed);
  if (!imported.ok()) return Report(imported);
  std::cout << "imported " << parsed->size() << " stations\n";
  return 0;
}

struct FormsPublishFlags : DataFlags {
  std::vector<std::string> files;
};

int RunFormsPublish(SqlStore& store, const FormsPublishFlags& flags) {
  for (const std::string& form_file : flags.files) {
    Result<std::string> text = ReadFile(form_file, 4u << 20);
    if (!text.ok()) return Report(text.status());
    Result<v1::FormDefinition> form = ParseFormJson(*text);
    if (!form.ok()) return Report(form.status().WithContext(form_file));
    Status published = store.PublishForm(*form);
    if (!published.ok()) return Report(published.WithContext(form_file));
    std::cout << "published form " << form->form_id() << " version " << form->version() << "\n";
  }
  return 0;
}

struct ObserversAddFlags : DataFlags {
  std::string observer_id;
  std::string name;
  std::string phone;
  std::string stations;
};

int RunObserversAdd(SqlStore& store, const ObserversAddFlags& flags) {
  Status added =
      store.AddObserver(flags.observer_id, flags.name, flags.phone, SplitComma(flags.stations));
  if (!added.ok()) return Report(added);
  std::cout << "added observer " << flags.observer_id << "\n";
  return 0;
}

struct ObserversAssignFlags : DataFlags {
  std::string observer_id;
  std::string stations;
  std::string by = "cli";
};

int RunObserversAssign(SqlStore& store, const ObserversAssignFlags& flags) {
  Status assigned = store.AssignStations(flags.observer_id, SplitComma(flags.stations), flags.by);
  if (!assigned.ok()) return Report(assigned);
  std::cout << "assigned " << flags.stations << " to observer " << flags.observer_id << "\n";
  return 0;
}

int RunObserversImport(SqlStore& store, const FileFlags& flags) {
  Result<std::string> text = ReadFile(flags.file);
  if (!text.ok()) return Report(text.status());
  Result<std::vector<ObserverEntry>> parsed = ParseObserversCsv(*text);
  if (!parsed.ok()) return Report(parsed.status().WithContext(flags.file));
  Status added = store.AddObservers(*parsed);
  if (!added.ok()) return Report(added);
  std::cout << "imported " << parsed->size() << " observers\n";
  return 0;
}

void AddObserversCommands(CLI::App& admin, Commands& commands) {
  CLI::App* observers = admin.add_subcommand("observers", "observers");
  observers->require_subcommand(1);

  auto add_flags = std::make_shared<ObserversAddFlags>();
  CLI::App* add = observers->add_subcommand("add", "add an observer");
  add->add_option("ID", add_flags->observer_id, "observer id")->required();
  add->add_option("--name", add_flags->name, "full name")->required();
  add->add_option("--phone", add_flags->phone, "phone number");
  add->add_option("--stations", add_flags->stations, "assigned station codes, comma-separated");
  commands.AddOnStore(add, add_flags, RunObserversAdd);

  auto assign_flags = std::make_shared<ObserversAssignFlags>();
  CLI::App* assign =
      observers->add_subcommand("assign", "assign more stations to an observer (audited)");
  assign->add_option("ID", assign_flags->observer_id, "observer id")->required();
  assign->add_option("--stations", assign_flags->stations, "station codes, comma-separated")
      ->required();
  assign->add_option("--by", assign_flags->by, "who decides (for the audit log)");
  commands.AddOnStore(assign, assign_flags, RunObserversAssign);

  auto import_flags = std::make_shared<FileFlags>();
  CLI::App* import =
      observers->add_subcommand("import", "import observers from CSV: id,name,phone,stations");
  import->add_option("FILE", import_flags->file, "CSV file")->required();
  commands.AddOnStore(import, import_flags, RunObserversImport);
}

}  // namespace

void AddSetupCommands(CLI::App& admin, Commands& commands) {
  CLI::App* stations = admin.add_subcommand("stations", "polling stations");
  stations->require_subcommand(1);
  auto stations_flags = std::make_shared<FileFlags>();
  CLI::App* stations_import = stations->add_subcommand("import", "import stations from CSV");
  stations_import->add_option("FILE", stations_flags->file, "CSV file")->required();
  commands.AddOnStore(stations_import, stations_flags, RunStationsImport);

  CLI::App* forms = admin.add_subcommand("forms", "form definitions");
  forms->require_subcommand(1);
  auto forms_flags = std::make_shared<FormsPublishFlags>();
  CLI::App* forms_publish = forms->add_subcommand("publish", "publish a FormDefinition (JSON)");
  forms_publish->add_option("FILE", forms_flags->files, "JSON files")->required();
  commands.AddOnStore(forms_publish, forms_flags, RunFormsPublish);

  AddObserversCommands(admin, commands);
}

}  // namespace vigil::syncd::cli

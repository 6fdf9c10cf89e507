// The `observer` command line (client-core/tools/observer/), run as a real child process
// with a temporary --home and the PIN on standard input.
#include <doctest/doctest.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <cctype>
#include <filesystem>
#include <string>
#include <vector>

#include "client_test_support.h"
#include "vigil/v1/sync.pb.h"

namespace vigil::client::test {
namespace {

const std::string kPinLine = std::string(kPin) + "\n";
constexpr char kStation[] = "12-03-07-0452";

std::string FormsDir(const char* name) {
  return (std::filesystem::path(VIGIL_FORMS_DIR) / name).string();
}

int CountOf(std::string_view haystack, std::string_view needle) {
  int n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string_view::npos;
       pos = haystack.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

bool LooksLikeUuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash != (s[i] == '-')) return false;
  }
  return true;
}

// One observer home in a temporary folder.
class Observer {
 public:
  Observer() : home_(dir_ / "home") {}

  ProcessResult Run(std::vector<std::string> args, std::string_view input = {}) {
    std::vector<std::string> argv = TargetCommand(VIGIL_OBSERVER_BIN);
    argv.insert(argv.end(), {"--home", home_});
    argv.insert(argv.end(), args.begin(), args.end());
    ProcessResult r = RunProcess(argv, input);
    REQUIRE_FALSE(r.timed_out);
    return r;
  }

  // Runs a command that must succeed.
  ProcessResult Ok(std::vector<std::string> args, std::string_view input = {}) {
    std::string shown;
    for (const auto& a : args) shown += a + " ";
    ProcessResult r = Run(std::move(args), input);
    REQUIRE_MESSAGE(r.exit_code == 0, "observer " << shown << "failed: " << r.err);
    return r;
  }

  void Init(const std::string& server_id = "") {
    std::vector<std::string> args = {"init", "--pin-stdin"};
    if (!server_id.empty()) {
      args.emplace_back("--server-id");
      args.push_back(server_id);
    }
    ProcessResult r = Ok(args, kPinLine);
    CHECK(Contains(r.out, "device d"));
  }

  // A form built in the test, written as JSON for `forms import`.
  std::string WriteFormJson(const v1::FormDefinition& def) {
    std::string json;
    REQUIRE(google::protobuf::util::MessageToJsonString(def, &json).ok());
    std::string path = dir_ / (def.form_id() + ".json");
    WriteBytes(path, json);
    return path;
  }

  std::string WriteFile(const std::string& name, std::string_view bytes) {
    std::string path = dir_ / name;
    WriteBytes(path, bytes);
    return path;
  }

  google::protobuf::Struct StatusJson() {
    ProcessResult r = Ok({"status", "--json"});
    google::protobuf::Struct s;
    auto parsed = google::protobuf::util::JsonStringToMessage(r.out, &s);
    REQUIRE_MESSAGE(parsed.ok(), r.out);
    return s;
  }

  // The store, opened in this process with the PIN the CLI was given (default scrypt).
  std::unique_ptr<Client> OpenStore() {
    auto protector = MakePinKeyProtector(kPin);
    auto c = Client::Open(home_, protector.get());
    REQUIRE_MESSAGE(c.ok(), c.status().ToString());
    return std::move(c).value();
  }

  const TempDir& dir() const { return dir_; }
  const std::string& home() const { return home_; }

 private:
  TempDir dir_;
  std::string home_;
};

// A field of `status --json`. The code names its keys in snake_case, but protobuf's JSON
// printer turns Struct keys into lowerCamelCase (as its JSON mapping does for fields); the
// casing is not documented anywhere yet, so either spelling is accepted.
const google::protobuf::Value& Field(const google::protobuf::Struct& s, const std::string& key) {
  std::string camel;
  for (size_t i = 0; i < key.size(); ++i) {
    if (key[i] == '_' && i + 1 < key.size()) {
      camel += static_cast<char>(std::toupper(static_cast<unsigned char>(key[++i])));
    } else {
      camel += key[i];
    }
  }
  auto it = s.fields().find(key);
  if (it == s.fields().end()) it = s.fields().find(camel);
  REQUIRE_MESSAGE(it != s.fields().end(), key);
  return it->second;
}

double Number(const google::protobuf::Struct& s, const std::string& key) {
  return Field(s, key).number_value();
}

std::string String(const google::protobuf::Struct& s, const std::string& key) {
  return Field(s, key).string_value();
}

TEST_CASE("observer cli: init and import and example fill and incident show in status") {
  Observer o;
  o.Init("cli-deploy");
  o.Ok({"forms", "import", FormsDir("closing.json"), FormsDir("incident.json")});
  ProcessResult list = o.Ok({"forms", "list"});
  CHECK(Contains(list.out, "closing"));
  CHECK(Contains(list.out, "incident"));

  ProcessResult fill =
      o.Ok({"fill", "closing", "--station", kStation, "--example", "--pin-stdin"}, kPinLine);
  std::string first = Trimmed(fill.out);
  CHECK(LooksLikeUuid(first));
  ProcessResult again =
      o.Ok({"fill", "closing", "--station", kStation, "--example", "--pin-stdin"}, kPinLine);
  std::string second = Trimmed(again.out);
  CHECK(LooksLikeUuid(second));
  CHECK(first != second);
  ProcessResult incident =
      o.Ok({"incident", "report", "--station", kStation, "--category", "intimidation", "--severity",
            "high", "--text", "Two men photographed voters at the gate.", "--pin-stdin"},
           kPinLine);
  std::string incident_id = Trimmed(incident.out);
  CHECK(LooksLikeUuid(incident_id));
  ProcessResult follow =
      o.Ok({"incident", "report", "--station", kStation, "--category", "intimidation", "--severity",
            "medium", "--text", "They left at 10:15.", "--follows", incident_id, "--pin-stdin"},
           kPinLine);

  google::protobuf::Struct status = o.StatusJson();
  CHECK(Number(status, "drafts") == 0);
  CHECK(Number(status, "outbox") == 4);
  CHECK(Number(status, "batched") == 0);
  CHECK(Number(status, "pending_batches") == 0);
  CHECK(String(status, "server_id") == "cli-deploy");

  auto c = o.OpenStore();
  CHECK(String(status, "device_id") == c->device_id());
  auto a = c->GetRecord(first);
  auto b = c->GetRecord(second);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  // Same station, same form: the example answers are the same.
  CHECK(a->record.submission().answers().size() > 0);
  CHECK(a->record.submission().answers_size() == b->record.submission().answers_size());
  for (int i = 0; i < a->record.submission().answers_size(); ++i) {
    CHECK(a->record.submission().answers(i).SerializeAsString() ==
          b->record.submission().answers(i).SerializeAsString());
  }
  auto f = c->GetRecord(Trimmed(follow.out));
  REQUIRE(f.ok());
  CHECK(f->record.incident().parent_id() == incident_id);
}

TEST_CASE("observer cli: importing the same form files again changes nothing") {
  Observer o;
  o.Init();
  o.Ok({"forms", "import", FormsDir("closing.json"), FormsDir("incident.json")});
  // E.g. a training script run twice, or forms pushed again by a coordinator.
  for (int round = 0; round < 3; ++round) {
    ProcessResult again =
        o.Run({"forms", "import", FormsDir("closing.json"), FormsDir("incident.json")});
    CHECK_MESSAGE(again.exit_code == 0, "round " << round << ": " << again.err);
  }
  ProcessResult list = o.Ok({"forms", "list"});
  CHECK(CountOf(list.out, "closing") == 1);
}

TEST_CASE("observer cli: fill with an answers file missing a required answer names it") {
  Observer o;
  o.Init();
  o.Ok({"forms", "import", o.WriteFormJson(SmallChecklist())});
  std::string incomplete = o.WriteFile("incomplete.json", R"({"q1_sealed": false, "q3_count": 4})");
  ProcessResult r = o.Run(
      {"fill", "small", "--station", kStation, "--answers", incomplete, "--pin-stdin"}, kPinLine);
  CHECK(r.exit_code != 0);
  CHECK(Contains(r.err, "q2_why_not"));
  google::protobuf::Struct status = o.StatusJson();
  CHECK(Number(status, "outbox") == 0);
  CHECK(Number(status, "drafts") == 0);

  std::string unknown = o.WriteFile("unknown.json", R"({"q1_sealed": true, "q77_extra": 1})");
  ProcessResult u = o.Run(
      {"fill", "small", "--station", kStation, "--answers", unknown, "--pin-stdin"}, kPinLine);
  CHECK(u.exit_code != 0);
  CHECK(Contains(u.err, "q77_extra"));

  std::string complete = o.WriteFile(
      "complete.json",
      R"({"q1_sealed": false, "q2_why_not": "broken seal", "q3_count": 4, "q4_mood": "calm"})");
  ProcessResult ok = o.Ok(
      {"fill", "small", "--station", kStation, "--answers", complete, "--pin-stdin"}, kPinLine);
  auto c = o.OpenStore();
  auto rec = c->GetRecord(Trimmed(ok.out));
  REQUIRE(rec.ok());
  CHECK(rec->state == 1);
  REQUIRE(rec->record.submission().answers_size() == 4);
  CHECK(rec->record.submission().answers(1).value().text() == "broken seal");
}

TEST_CASE("observer cli: init twice refuses and keeps the first device") {
  Observer o;
  o.Init();
  std::string device = String(o.StatusJson(), "device_id");
  ProcessResult again = o.Run({"init", "--pin-stdin"}, "999999\n");
  CHECK(again.exit_code != 0);
  CHECK(Contains(again.err, "already"));
  CHECK(String(o.StatusJson(), "device_id") == device);
  o.OpenStore();  // The first PIN still opens it.
}

TEST_CASE("observer cli: a wrong or missing PIN is refused") {
  Observer o;
  o.Init();
  o.Ok({"forms", "import", o.WriteFormJson(SmallChecklist())});
  ProcessResult wrong =
      o.Run({"fill", "small", "--station", kStation, "--example", "--pin-stdin"}, "000000\n");
  CHECK(wrong.exit_code != 0);
  CHECK(Contains(wrong.err, "wrong PIN"));
  ProcessResult none = o.Run({"fill", "small", "--station", kStation, "--example", "--pin-stdin"});
  CHECK(none.exit_code != 0);
  ProcessResult short_pin = Observer().Run({"init", "--pin-stdin"}, "123\n");
  CHECK(short_pin.exit_code != 0);
  CHECK(Number(o.StatusJson(), "outbox") == 0);
}

TEST_CASE("observer cli: an exported batch verifies with openssl against device.pub.pem") {
  Observer o;
  const std::string server_id = "cli-deploy-export";
  o.Init(server_id);
  o.Ok({"forms", "import", o.WriteFormJson(SmallChecklist()), FormsDir("incident.json")});
  std::string answers = o.WriteFile("answers.json", R"({"q1_sealed": true, "q3_count": 12})");
  for (int i = 0; i < 2; ++i) {
    o.Ok({"fill", "small", "--station", kStation, "--answers", answers, "--pin-stdin"}, kPinLine);
  }
  o.Ok({"incident", "report", "--station", kStation, "--category", "vote_buying", "--severity",
        "low", "--text", "Envelopes handed out near the pagoda.", "--pin-stdin"},
       kPinLine);
  std::string out = o.dir() / "export";
  o.Ok({"outbox", "export", "--out", out, "--pin-stdin"}, kPinLine);
  const std::string batch_path = out + "/000001.batch";
  const std::string pem_path = out + "/device.pub.pem";
  REQUIRE(std::filesystem::exists(batch_path));
  REQUIRE(std::filesystem::exists(pem_path));
  CHECK_FALSE(std::filesystem::exists(out + "/000002.batch"));
  CHECK(Contains(ReadBytes(pem_path), "-----BEGIN PUBLIC KEY-----"));

  const std::string exported = ReadBytes(batch_path);
  v1::SignedBatch sb;
  REQUIRE(sb.ParseFromString(exported));
  v1::Batch batch;
  REQUIRE(batch.ParseFromString(sb.batch_bytes()));
  CHECK(batch.batch_seq() == 1);
  CHECK(batch.record_count() == 3);
  CHECK(batch.device_id() == String(o.StatusJson(), "device_id"));

  std::string input = "vigil/v1/batch";
  input.push_back('\0');
  input += server_id;
  input.push_back('\0');
  input += sb.batch_bytes();
  const std::string input_path = o.WriteFile("input.bin", input);
  const std::string sig_path = o.WriteFile("sig.bin", sb.signature());
  ProcessResult verify = RunProcess({"openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pem_path,
                                     "-rawin", "-in", input_path, "-sigfile", sig_path});
  CHECK_MESSAGE(verify.exit_code == 0, verify.out << verify.err);
  CHECK(Contains(verify.out, "Signature Verified Successfully"));

  std::string tampered = input;
  tampered[tampered.size() - 5] = static_cast<char>(tampered[tampered.size() - 5] ^ 0x01);
  const std::string tampered_path = o.WriteFile("tampered.bin", tampered);
  ProcessResult refused = RunProcess({"openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pem_path,
                                      "-rawin", "-in", tampered_path, "-sigfile", sig_path});
  CHECK(refused.exit_code != 0);

  // protoc alone decodes it too (the issue's "done when").
  ProcessResult decoded = RunProcess(
      {"protoc", "--decode=vigil.v1.SignedBatch", "-I", VIGIL_PROTO_DIR, "vigil/v1/sync.proto"},
      exported);
  CHECK_MESSAGE(decoded.exit_code == 0, decoded.err);
  CHECK(Contains(decoded.out, "batch_bytes:"));
  CHECK(Contains(decoded.out, "signature:"));

  // Exporting again re-writes the very same bytes: nothing is re-serialized.
  std::string out2 = o.dir() / "export2";
  o.Ok({"outbox", "export", "--out", out2, "--pin-stdin"}, kPinLine);
  CHECK(ReadBytes(out2 + "/000001.batch") == exported);
  CHECK_FALSE(std::filesystem::exists(out2 + "/000002.batch"));
}

TEST_CASE("observer cli: export without a server id fails and says why") {
  Observer o;
  o.Init();
  o.Ok({"forms", "import", o.WriteFormJson(SmallChecklist())});
  std::string answers = o.WriteFile("answers.json", R"({"q1_sealed": true, "q3_count": 12})");
  o.Ok({"fill", "small", "--station", kStation, "--answers", answers, "--pin-stdin"}, kPinLine);
  ProcessResult r =
      o.Run({"outbox", "export", "--out", o.dir() / "export", "--pin-stdin"}, kPinLine);
  CHECK(r.exit_code != 0);
  CHECK(Contains(r.err, "server id"));
}

TEST_CASE("observer cli: interactive fill asks what applies and re-asks an invalid answer") {
  Observer o;
  o.Init();
  o.Ok({"forms", "import", o.WriteFormJson(SmallChecklist())});
  // PIN, then: q1 "maybe" (invalid) then "yes"; q2 does not apply; q3 150 (above the
  // maximum) then 7; q4 option number 2.
  const std::string typed = kPinLine + "maybe\nyes\n150\n7\n2\n";
  ProcessResult r =
      o.Run({"fill", "small", "--station", kStation, "--lang", "en", "--pin-stdin"}, typed);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(CountOf(r.err, "Label of q1_sealed") == 2);
  CHECK(CountOf(r.err, "Label of q2_why_not") == 0);
  CHECK(CountOf(r.err, "Label of q3_count") == 2);
  CHECK(CountOf(r.err, "Label of q4_mood") == 1);
  std::string id = Trimmed(r.out);
  REQUIRE(LooksLikeUuid(id));
  auto c = o.OpenStore();
  auto rec = c->GetRecord(id);
  REQUIRE(rec.ok());
  CHECK(rec->state == 1);
  const v1::Submission& s = rec->record.submission();
  REQUIRE(s.answers_size() == 3);
  CHECK(s.answers(0).question_id() == "q1_sealed");
  CHECK(s.answers(0).value().boolean());
  CHECK(s.answers(1).question_id() == "q3_count");
  CHECK(s.answers(1).value().integer() == 7);
  CHECK(s.answers(2).question_id() == "q4_mood");
  CHECK(s.answers(2).value().text() == "tense");
}

TEST_CASE("observer cli: interactive fill that runs out of input keeps the draft") {
  Observer o;
  o.Init();
  o.Ok({"forms", "import", o.WriteFormJson(SmallChecklist())});
  ProcessResult r = o.Run({"fill", "small", "--station", kStation, "--lang", "en", "--pin-stdin"},
                          kPinLine + "no\n");
  CHECK(r.exit_code != 0);
  CHECK(Contains(r.err, "Label of q2_why_not"));  // "no" made q2 apply.
  google::protobuf::Struct status = o.StatusJson();
  CHECK(Number(status, "drafts") == 1);
  CHECK(Number(status, "outbox") == 0);
}

TEST_CASE("observer cli: drafts are listed, shown and discarded, and records take --location") {
  Observer o;
  o.Init("cli-deploy");
  o.Ok({"forms", "import", o.WriteFormJson(SmallChecklist()), FormsDir("incident.json")});
  CHECK(Contains(o.Ok({"drafts", "list", "--pin-stdin"}, kPinLine).out, "no drafts"));
  ProcessResult r = o.Run({"fill", "small", "--station", kStation, "--lang", "en", "--pin-stdin"},
                          kPinLine + "no\n");
  CHECK(r.exit_code != 0);
  ProcessResult list = o.Ok({"drafts", "list", "--pin-stdin"}, kPinLine);
  CHECK(Contains(list.out, "small v1"));
  CHECK(Contains(list.out, "1 answers"));
  const std::string draft = list.out.substr(0, 36);
  CHECK(LooksLikeUuid(draft));
  ProcessResult shown = o.Ok({"drafts", "show", draft, "--pin-stdin"}, kPinLine);
  CHECK(Contains(shown.out, "\"answers\""));
  CHECK(Contains(shown.out, kStation));
  o.Ok({"drafts", "discard", draft, "--pin-stdin"}, kPinLine);
  CHECK(Number(o.StatusJson(), "drafts") == 0);
  CHECK(o.Run({"drafts", "discard", draft, "--pin-stdin"}, kPinLine).exit_code != 0);

  ProcessResult incident =
      o.Ok({"incident", "report", "--station", kStation, "--category", "intimidation", "--severity",
            "high", "--text", "At the gate.", "--location", "11.5564,104.9282,15", "--pin-stdin"},
           kPinLine);
  CHECK(o.Run({"incident", "report", "--station", kStation, "--category", "intimidation",
               "--severity", "high", "--text", "x", "--location", "north", "--pin-stdin"},
              kPinLine)
            .exit_code != 0);
  auto c = o.OpenStore();
  auto stored = c->GetRecord(Trimmed(incident.out));
  REQUIRE(stored.ok());
  CHECK(stored->record.incident().location().latitude() == doctest::Approx(11.5564));
  CHECK(stored->record.incident().location().accuracy_m() == doctest::Approx(15));
}

TEST_CASE("observer cli: pin change, then wipe leaves no store") {
  Observer o;
  o.Init("cli-deploy");
  ProcessResult wrong = o.Run({"pin", "change", "--pin-stdin"}, "000000\n13579246\n");
  CHECK(wrong.exit_code != 0);
  CHECK(Contains(wrong.err, "wrong PIN"));
  o.Ok({"pin", "change", "--pin-stdin"}, kPinLine + "13579246\n");
  CHECK(o.Run({"drafts", "list", "--pin-stdin"}, kPinLine).exit_code != 0);
  o.Ok({"drafts", "list", "--pin-stdin"}, "13579246\n");

  ProcessResult refused = o.Run({"wipe"});
  CHECK(refused.exit_code != 0);
  CHECK(Contains(refused.err, "--yes"));
  CHECK(std::filesystem::exists(o.home() + "/vigil.db"));
  o.Ok({"wipe", "--yes"});
  CHECK_FALSE(std::filesystem::exists(o.home() + "/vigil.db"));
  CHECK_FALSE(std::filesystem::exists(o.home() + "/vigil.db-wal"));
  CHECK(o.Run({"status"}).exit_code != 0);
}

}  // namespace
}  // namespace vigil::client::test

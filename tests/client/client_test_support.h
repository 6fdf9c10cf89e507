// What the client-core suites share (besides tests/support): a quick PIN
// protector, small forms built in C++ and value builders, file bytes, and running a child
// process with bounded, condition-based waits.
#pragma once

#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/files.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "vigil/client/client.h"
#include "vigil/client/key_protector.h"
#include "vigil/v1/forms.pb.h"

extern char** environ;

namespace vigil::client::test {

using test_support::TempDir;

inline constexpr char kPin[] = "246810";

// scrypt at N = 2^10: the same code path as the default, fast enough for tests.
inline ScryptParams FastScrypt() {
  ScryptParams p;
  p.log2_n = 10;
  return p;
}

inline std::unique_ptr<KeyProtector> FastPin(std::string pin = kPin) {
  return MakePinKeyProtector(std::move(pin), FastScrypt());
}

// The bytes of a file; empty when it does not exist.
inline std::string ReadBytes(const std::filesystem::path& path) {
  return test_support::ReadFile(path);
}

inline void WriteBytes(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

// ---- values

inline v1::Value Bool(bool b) {
  v1::Value v;
  v.set_boolean(b);
  return v;
}
inline v1::Value Int(int64_t n) {
  v1::Value v;
  v.set_integer(n);
  return v;
}
inline v1::Value Dec(double d) {
  v1::Value v;
  v.set_decimal(d);
  return v;
}
inline v1::Value Text(std::string s) {
  v1::Value v;
  v.set_text(std::move(s));
  return v;
}
inline v1::Value Choices(std::initializer_list<const char*> ids) {
  v1::Value v;
  auto* c = v.mutable_choices();
  for (const char* id : ids) c->add_ids(id);
  return v;
}
inline v1::Value Ms(int64_t ms) {
  v1::Value v;
  v.set_unix_ms(ms);
  return v;
}
inline v1::Value Loc(double lat, double lon, double acc = 0) {
  v1::Value v;
  v.mutable_location()->set_latitude(lat);
  v.mutable_location()->set_longitude(lon);
  v.mutable_location()->set_accuracy_m(acc);
  return v;
}

// ---- forms built in the test

inline v1::FormDefinition NewForm(std::string id, uint32_t version = 1,
                                  v1::FormKind kind = v1::CHECKLIST) {
  v1::FormDefinition def;
  def.set_form_id(std::move(id));
  def.set_version(version);
  def.set_kind(kind);
  (*def.mutable_title())["en"] = "Test form";
  def.set_default_language("en");
  return def;
}

inline v1::Question& AddQuestion(v1::FormDefinition& def, std::string id, v1::QuestionType type,
                                 bool required = false) {
  v1::Question* q = def.add_questions();
  (*q->mutable_label())["en"] = "Label of " + id;
  q->set_id(std::move(id));
  q->set_type(type);
  q->set_required(required);
  return *q;
}

inline void AddOptions(v1::Question& q, std::initializer_list<const char*> ids) {
  for (const char* id : ids) {
    v1::Option* o = q.add_options();
    o->set_id(id);
    (*o->mutable_label())["en"] = std::string("Option ") + id;
  }
}

inline v1::Condition& AddRelevance(v1::Question& q, std::string question_id,
                                   v1::ConditionOperator op, v1::Value value = {}) {
  v1::Condition* c = q.add_relevant_when();
  c->set_question_id(std::move(question_id));
  c->set_op(op);
  *c->mutable_value() = std::move(value);
  return *c;
}

inline v1::Term QuestionTerm(std::string id) {
  v1::Term t;
  t.set_question_id(std::move(id));
  return t;
}
inline v1::Term ConstantTerm(double c) {
  v1::Term t;
  t.set_constant(c);
  return t;
}

inline v1::QaCheck& AddQaCheck(v1::FormDefinition& def, std::string id,
                               std::initializer_list<v1::Term> left, v1::Comparison op,
                               std::initializer_list<v1::Term> right) {
  v1::QaCheck* c = def.add_qa_checks();
  c->set_id(std::move(id));
  for (const auto& t : left) *c->add_left() = t;
  c->set_op(op);
  for (const auto& t : right) *c->add_right() = t;
  return *c;
}

// A small checklist: q1 yes/no (required), q2 text (required when q1 = no), q3 integer 0-100
// (required), q4 select-one (optional).
inline v1::FormDefinition SmallChecklist(std::string id = "small", uint32_t version = 1) {
  v1::FormDefinition def = NewForm(std::move(id), version);
  AddQuestion(def, "q1_sealed", v1::YES_NO, true);
  auto& why = AddQuestion(def, "q2_why_not", v1::TEXT, true);
  why.set_max(200);
  AddRelevance(why, "q1_sealed", v1::EQUALS, Bool(false));
  auto& count = AddQuestion(def, "q3_count", v1::INTEGER, true);
  count.set_min(0);
  count.set_max(100);
  auto& mood = AddQuestion(def, "q4_mood", v1::SELECT_ONE);
  AddOptions(mood, {"calm", "tense"});
  return def;
}

// An incident form with the question ids Client::ReportIncident fills.
inline v1::FormDefinition SmallIncidentForm(uint32_t version = 1) {
  v1::FormDefinition def = NewForm("incident", version, v1::INCIDENT);
  auto& category = AddQuestion(def, "category", v1::SELECT_ONE, true);
  AddOptions(category, {"violence", "intimidation", "other"});
  auto& severity = AddQuestion(def, "severity", v1::SELECT_ONE, true);
  AddOptions(severity, {"low", "medium", "high", "critical"});
  AddQuestion(def, "occurred_at", v1::DATE_TIME);
  auto& people = AddQuestion(def, "people_affected", v1::INTEGER);
  people.set_min(0);
  people.set_max(100000);
  auto& narrative = AddQuestion(def, "narrative", v1::TEXT, true);
  narrative.set_max(4000);
  AddQuestion(def, "reported_to_authority", v1::YES_NO);
  return def;
}

// A new store in `home` (fast scrypt), unlocked.
inline std::unique_ptr<Client> InitClient(const std::string& home,
                                          const InitOptions& options = {}) {
  auto protector = FastPin();
  auto c = Client::Init(home, *protector, options);
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  return std::move(c).value();
}

inline std::unique_ptr<Client> OpenClient(const std::string& home) {
  auto protector = FastPin();
  auto c = Client::Open(home, protector.get());
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  return std::move(c).value();
}

inline bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// ---- child processes

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal or timed out.
  bool timed_out = false;
  std::string out;
  std::string err;
};

// The command line that starts `program`, a binary of this build (observer, crash_child): the
// program itself, or in a cross build (scripts/cross) the emulator's words in front of it
// (VIGIL_TARGET_EMULATOR, from CMAKE_CROSSCOMPILING_EMULATOR), so that the suites start their
// children under qemu without a binfmt_misc registration on the machine.
inline std::vector<std::string> TargetCommand(const std::string& program) {
  std::vector<std::string> argv;
#ifdef VIGIL_TARGET_EMULATOR
  std::istringstream words(VIGIL_TARGET_EMULATOR);
  for (std::string w; words >> w;) argv.push_back(w);
#endif
  argv.push_back(program);
  return argv;
}

// Runs `argv` (argv[0] looked up in PATH), writes `input` to its standard input and closes
// it, collects standard output and error until both close, then reaps it. A child still
// running after `timeout` is killed and reaped; the result says so.
inline ProcessResult RunProcess(const std::vector<std::string>& argv, std::string_view input = {},
                                std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  ProcessResult result;
  int in_pipe[2];
  int out_pipe[2];
  int err_pipe[2];
  REQUIRE(pipe2(in_pipe, O_CLOEXEC) == 0);
  REQUIRE(pipe2(out_pipe, O_CLOEXEC) == 0);
  REQUIRE(pipe2(err_pipe, O_CLOEXEC) == 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (rc != 0) {
    close(in_pipe[1]);
    close(out_pipe[0]);
    close(err_pipe[0]);
    FAIL("cannot start " << argv[0] << ": " << rc);
    return result;
  }
  // The inputs used here are far below the pipe's capacity, but a child that exits without
  // reading must not kill the test with SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
  for (size_t off = 0; off < input.size();) {
    ssize_t n = write(in_pipe[1], input.data() + off, input.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  close(in_pipe[1]);

  auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      break;
    }
    int ready = poll(fds, 2, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& fd : fds) {
    if (fd.fd >= 0) close(fd.fd);
  }
  if (result.timed_out) kill(pid, SIGKILL);
  const int status = test_support::WaitChild(pid);
  if (!result.timed_out) result.exit_code = test_support::ExitCode(status);
  return result;
}

}  // namespace vigil::client::test

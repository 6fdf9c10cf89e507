// vigil-loadgen: many simulated observers, each a real client (its own key, its own
// encrypted SQLite store, real HTTPS to syncd), playing an accelerated election day.
//
// Input: a file with one enrollment payload per line, "OBSERVER_ID STATION PAYLOAD" (what
// `syncd admin enroll-code --all` prints). Output: progress on stderr, a summary on stdout
// ending in a machine-readable line.
#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "simulation.h"
#include "vigil/client/answer_input.h"
#include "vigil/client/client.h"
#include "vigil/protocol/crypto.h"
#include "vigil/run_main.h"

namespace vigil::loadgen {
namespace {

using Clock = std::chrono::steady_clock;

// Simulated devices keep their data key in memory, like a platform keystore would, so that
// thousands of them do not each spend a scrypt derivation (the PIN path is measured in
// scripts/bench device).
class SimulatedKeystore final : public client::KeyProtector {
 public:
  explicit SimulatedKeystore(std::string secret) : secret_(std::move(secret)) {}
  Result<std::string> Wrap(const std::string& key) override {
    std::string out = key;
    for (size_t i = 0; i < out.size(); ++i) {
      out[i] = static_cast<char>(out[i] ^ secret_[i % secret_.size()]);
    }
    return out;
  }
  Result<std::string> Unwrap(const std::string& blob) override { return Wrap(blob); }

 private:
  std::string secret_;
};

struct Counters {
  std::atomic<uint64_t> enrolled{0}, checklists{0}, incidents{0}, syncs{0}, sync_failures{0};
  std::atomic<uint64_t> records_ok{0}, records_duplicate{0}, records_rejected{0}, retries{0};
  std::atomic<uint64_t> bytes_sent{0}, records_sent{0}, errors{0};
  std::atomic<uint64_t> checklists_by_form[3] = {0, 0, 0};
};

struct Options {
  std::string payloads_file;
  std::string work_dir;
  std::string ca_file;
  double day_seconds = 60;
  int threads = 32;
  uint64_t seed = 2023;
  int incident_one_in = 8;
  double offline_share = 0.1;
  double conflict_share = 0.3;
  // Thousands of simulated tablets share this machine's one disk; a real tablet flushes its
  // own. Off by default so the disk's flush rate does not stand in for the server's.
  bool durable_devices = false;
  // Play no day: every device already in `work_dir` finishes what it holds (scripts/soak,
  // after restarting syncd many times under load).
  bool sync_only = false;
};

class Simulation {
 public:
  Simulation(Options options, std::vector<Observer> observers)
      : options_(std::move(options)),
        observers_(std::move(observers)),
        locks_(observers_.size()),
        last_incident_(observers_.size()) {}

  int Run() {
    std::vector<Action> plan = PlanDay(observers_, options_.seed, options_.incident_one_in,
                                       options_.offline_share, options_.conflict_share);
    std::cerr << "loadgen: " << observers_.size() << " observers, " << plan.size()
              << " actions over a " << options_.day_seconds << " s day, " << options_.threads
              << " threads\n";
    std::vector<std::thread> workers;
    workers.reserve(static_cast<size_t>(options_.threads));
    for (int i = 0; i < options_.threads; ++i) workers.emplace_back([this] { Work(); });
    // Devices are enrolled before election day (in the field: at the training session).
    auto enroll_start = Clock::now();
    size_t enrollments = 0;
    for (const Action& a : plan) {
      if (a.kind != ActionKind::kEnroll) continue;
      Push(a);
      ++enrollments;
    }
    WaitIdle(enrollments);
    std::cerr << "loadgen: " << counters_.enrolled << " devices enrolled in "
              << std::chrono::duration<double>(Clock::now() - enroll_start).count()
              << " s; the day starts\n";
    start_ = Clock::now();
    actions_done_ = 0;
    std::thread progress([this, total = plan.size() - enrollments] { Progress(total); });
    for (const Action& a : plan) {
      if (a.kind == ActionKind::kEnroll) continue;
      auto due = start_ + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(a.at * options_.day_seconds));
      std::this_thread::sleep_until(due);
      Push(a);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      closing_ = true;
    }
    cv_.notify_all();
    for (auto& w : workers) w.join();
    // Whatever is still on a device (failed syncs) gets a last chance.
    for (size_t i = 0; i < observers_.size(); ++i) FinalSync(i);
    done_ = true;
    progress.join();
    Summary(plan.size());
    return counters_.errors == 0 && undelivered_ == 0 ? 0 : 1;
  }

 private:
  // Waits until `count` actions have been done (the enrollment phase).
  void WaitIdle(size_t count) {
    std::unique_lock<std::mutex> lock(mu_);
    idle_.wait(lock, [&] { return actions_done_ >= count; });
  }

  void Push(const Action& a) {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(a);
    cv_.notify_one();
  }

  void Work() {
    while (true) {
      Action a;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return closing_ || !queue_.empty(); });
        if (queue_.empty()) return;
        a = queue_.front();
        queue_.pop_front();
      }
      std::lock_guard<std::mutex> device(locks_[a.observer]);
      Status s = Perform(a);
      if (!s.ok()) {
        ++counters_.errors;
        std::lock_guard<std::mutex> lock(mu_);
        if (first_errors_.size() < 5) first_errors_.push_back(s.ToString());
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++actions_done_;
      }
      idle_.notify_all();
    }
  }

  client::OpenOptions StoreOptions() const {
    client::OpenOptions o;
    o.durable = options_.durable_devices;
    return o;
  }

  std::string Home(size_t i) const {
    return (std::filesystem::path(options_.work_dir) / observers_[i].observer_id).string();
  }

  Result<std::unique_ptr<client::Client>> Open(size_t i) {
    SimulatedKeystore keystore(observers_[i].observer_id + "/keystore");
    return client::Client::Open(Home(i), &keystore, StoreOptions());
  }

  Status Perform(const Action& a) {
    const Observer& o = observers_[a.observer];
    if (a.kind == ActionKind::kEnroll) {
      SimulatedKeystore keystore(o.observer_id + "/keystore");
      client::InitOptions init;
      init.durable = options_.durable_devices;
      VIGIL_ASSIGN_OR_RETURN(auto c, client::Client::Init(Home(a.observer), keystore, init));
      v1::DeviceInfo info;
      info.set_model("vigil-loadgen");
      info.set_app_version("0.1");
      VIGIL_RETURN_IF_ERROR(c->Enroll(o.payload, info, options_.ca_file).status());
      ++counters_.enrolled;
      return Status::Ok();
    }
    VIGIL_ASSIGN_OR_RETURN(auto c, Open(a.observer));
    if (a.kind == ActionKind::kChecklist) {
      VIGIL_ASSIGN_OR_RETURN(protocol::Form form, c->GetForm(a.form_id));
      VIGIL_ASSIGN_OR_RETURN(std::string draft, c->StartDraft(a.form_id, o.station));
      auto answers = client::ExampleAnswers(form, a.seed);
      if (o.conflicting && !answers.empty()) {
        // The co-observer's answers, except two questions seen differently.
        auto other = client::ExampleAnswers(form, a.seed ^ 0x5bd1e995);
        for (size_t k : {a.seed % answers.size(), (a.seed / 7) % answers.size()}) {
          answers[k] = other[k];
        }
      }
      VIGIL_RETURN_IF_ERROR(c->SetAnswers(draft, answers, true));
      VIGIL_RETURN_IF_ERROR(c->Finalize(draft).status());
      ++counters_.checklists;
      int slot = a.form_id == "opening" ? 0 : a.form_id == "voting" ? 1 : 2;
      ++counters_.checklists_by_form[slot];
    } else if (a.kind == ActionKind::kIncident || a.kind == ActionKind::kFollowUp) {
      static const char* kCategories[] = {"intimidation", "vote_buying", "access_denied",
                                          "authorities_inside", "missing_materials"};
      static const char* kSeverities[] = {"low", "medium", "high", "critical"};
      client::IncidentInput in;
      in.station_code = o.station;
      // By station: co-observers report the same kind of event, which syncd clusters.
      in.category = kCategories[std::hash<std::string>{}(o.station) % 5];
      in.severity = kSeverities[a.seed % 4];
      in.people_affected = static_cast<int64_t>(a.seed % 40);
      if (a.kind == ActionKind::kFollowUp) {
        in.parent_id = last_incident_[a.observer];
        if (in.parent_id.empty()) return Status::Ok();  // the first report was not made
        in.narrative = "Follow-up: the situation at the station calmed down.";
      } else {
        in.narrative = "Simulated incident " + std::to_string(a.seed % 100000);
      }
      VIGIL_ASSIGN_OR_RETURN(std::string id, c->ReportIncident(in));
      if (a.kind == ActionKind::kIncident) last_incident_[a.observer] = id;
      ++counters_.incidents;
    }
    if (a.sync_after) Sync(*c);
    return Status::Ok();
  }

  void Sync(client::Client& c) {
    client::SyncOptions options;
    options.ca_file = options_.ca_file;
    options.max_attempts = 4;
    options.base_delay = std::chrono::milliseconds(200);
    options.max_delay = std::chrono::milliseconds(3000);
    auto report = c.Sync(options);
    ++counters_.syncs;
    if (!report.ok()) {
      ++counters_.sync_failures;
      std::lock_guard<std::mutex> lock(mu_);
      if (first_errors_.size() < 5) first_errors_.push_back("sync: " + report.status().ToString());
      return;
    }
    counters_.records_ok += report->records_ok;
    counters_.records_duplicate += report->records_duplicate;
    counters_.records_rejected += report->records_rejected;
    counters_.records_sent +=
        report->records_ok + report->records_duplicate + report->records_rejected;
    counters_.retries += report->retries;
    counters_.bytes_sent += report->bytes_sent;
  }

 public:
  // --sync-only: each device already in the work folder enrolls if it never managed to (the
  // same key and payload: syncd answers a repeated enrollment again) and sends whatever it
  // still holds. Succeeds when every device is enrolled and holds nothing unacknowledged.
  int SyncOnly() {
    start_ = Clock::now();
    uint64_t devices = 0, enrolled_now = 0, not_enrolled = 0;
    for (size_t i = 0; i < observers_.size(); ++i) {
      if (!std::filesystem::exists(Home(i))) continue;
      ++devices;
      auto c = Open(i);
      auto status = c.ok() ? (*c)->GetStatus() : Result<client::DeviceStatus>(c.status());
      if (status.ok() && status->observer_id.empty()) {
        v1::DeviceInfo info;
        info.set_model("vigil-loadgen");
        Status enrolled = (*c)->Enroll(observers_[i].payload, info, options_.ca_file).status();
        if (enrolled.ok()) ++enrolled_now;
        status = (*c)->GetStatus();
      }
      if (!status.ok() || status->observer_id.empty()) {
        ++not_enrolled;
        std::lock_guard<std::mutex> lock(mu_);
        if (first_errors_.size() < 5) {
          first_errors_.push_back(observers_[i].observer_id + ": not enrolled: " +
                                  (status.ok() ? "no observer" : status.status().ToString()));
        }
        continue;
      }
      c->reset();  // FinalSync opens the store itself.
      FinalSync(i);
    }
    std::printf(
        "loadgen sync-only: devices=%llu enrolled_now=%llu not_enrolled=%llu "
        "undelivered=%llu records_acked=%llu\n",
        (unsigned long long)devices, (unsigned long long)enrolled_now,
        (unsigned long long)not_enrolled, (unsigned long long)undelivered_.load(),
        (unsigned long long)counters_.records_ok.load() +
            (unsigned long long)counters_.records_duplicate.load());
    for (const std::string& e : first_errors_) std::printf("  error: %s\n", e.c_str());
    return not_enrolled == 0 && undelivered_ == 0 ? 0 : 1;
  }

 private:
  // Gives every device that still holds records a last sync, and counts those that still
  // could not deliver: the day only succeeds when that is zero.
  void FinalSync(size_t i) {
    auto c = Open(i);
    if (!c.ok()) return;  // never enrolled: already counted as an error
    auto before = (*c)->GetStatus();
    if (!before.ok() || before->outbox + before->batched == 0) return;
    Sync(**c);
    auto after = (*c)->GetStatus();
    if (!after.ok() || after->outbox + after->batched > 0) ++undelivered_;
  }

  void Progress(size_t total) {
    while (!done_) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
      std::fprintf(stderr,
                   "  [%s] %5.0fs  actions %zu/%zu  enrolled %llu  checklists %llu  incidents "
                   "%llu  records acked %llu  errors %llu\n",
                   DayClock(elapsed / options_.day_seconds).c_str(), elapsed,
                   static_cast<size_t>(actions_done_), total,
                   static_cast<unsigned long long>(counters_.enrolled.load()),
                   static_cast<unsigned long long>(counters_.checklists.load()),
                   static_cast<unsigned long long>(counters_.incidents.load()),
                   static_cast<unsigned long long>(counters_.records_ok.load()) +
                       static_cast<unsigned long long>(counters_.records_duplicate.load()),
                   static_cast<unsigned long long>(counters_.errors.load()) +
                       static_cast<unsigned long long>(counters_.sync_failures.load()));
    }
  }

  void Summary(size_t actions) {
    double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
    uint64_t records = counters_.records_ok + counters_.records_duplicate;
    std::printf("\nsimulated election day: %zu observers, %zu actions in %.1f s\n",
                observers_.size(), actions, elapsed);
    std::printf("  enrolled devices        %llu\n", (unsigned long long)counters_.enrolled.load());
    std::printf("  checklists filled       %llu (opening %llu, voting %llu, closing %llu)\n",
                (unsigned long long)counters_.checklists.load(),
                (unsigned long long)counters_.checklists_by_form[0].load(),
                (unsigned long long)counters_.checklists_by_form[1].load(),
                (unsigned long long)counters_.checklists_by_form[2].load());
    std::printf("  incidents reported      %llu\n", (unsigned long long)counters_.incidents.load());
    std::printf("  records acknowledged    %llu (%llu stored, %llu already there, %llu rejected)\n",
                (unsigned long long)records + (unsigned long long)counters_.records_rejected.load(),
                (unsigned long long)counters_.records_ok.load(),
                (unsigned long long)counters_.records_duplicate.load(),
                (unsigned long long)counters_.records_rejected.load());
    std::printf("  syncs                   %llu (%llu retries, %llu failed and retried later)\n",
                (unsigned long long)counters_.syncs.load(),
                (unsigned long long)counters_.retries.load(),
                (unsigned long long)counters_.sync_failures.load());
    std::printf("  devices not delivered   %llu\n", (unsigned long long)undelivered_.load());
    const double per_second = static_cast<double>(records) / std::max(elapsed, 1e-9);
    std::printf("  reports per second      %.1f\n", per_second);
    double per_record = counters_.records_sent > 0
                            ? static_cast<double>(counters_.bytes_sent) /
                                  static_cast<double>(counters_.records_sent.load())
                            : 0;
    std::printf("  batch bytes per record  %.0f (signed, compressed; HTTP and TLS not counted)\n",
                per_record);
    for (const std::string& e : first_errors_) std::printf("  error: %s\n", e.c_str());
    std::printf(
        "loadgen observers=%zu checklists=%llu incidents=%llu acked=%llu rejected=%llu "
        "errors=%llu reports_per_s=%.1f bytes_per_record=%.0f\n",
        observers_.size(), (unsigned long long)counters_.checklists.load(),
        (unsigned long long)counters_.incidents.load(), (unsigned long long)records,
        (unsigned long long)counters_.records_rejected.load(),
        (unsigned long long)counters_.errors.load() +
            (unsigned long long)counters_.sync_failures.load(),
        per_second, per_record);
  }

  Options options_;
  std::vector<Observer> observers_;
  std::vector<std::mutex> locks_;           // one per observer: its actions run one at a time
  std::vector<std::string> last_incident_;  // per observer, under its lock
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_;
  std::deque<Action> queue_;               // GUARDED_BY(mu_)
  bool closing_ = false;                   // GUARDED_BY(mu_)
  std::vector<std::string> first_errors_;  // GUARDED_BY(mu_)
  std::atomic<size_t> actions_done_{0};
  std::atomic<uint64_t> undelivered_{0};  // devices still holding records at the end
  std::atomic<bool> done_{false};
  Counters counters_;
  Clock::time_point start_;
};

Result<std::vector<Observer>> ReadPayloads(const std::string& file) {
  std::ifstream in(file);
  if (!in) return Status::NotFound("cannot read " + file);
  std::vector<Observer> out;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    Observer o;
    if (!(fields >> o.observer_id >> o.station >> o.payload)) {
      return Status::InvalidArgument(file + ":" + std::to_string(number) +
                                     ": want OBSERVER_ID STATION PAYLOAD");
    }
    out.push_back(std::move(o));
  }
  if (out.empty()) return Status::InvalidArgument(file + " holds no observers");
  return out;
}

}  // namespace
// The command line (main() runs it under vigil::RunMain).
int Main(int argc, char** argv) {
  CLI::App app{"vigil-loadgen: simulated observers, each a real Vigil client"};
  Options o;
  app.add_option("--payloads", o.payloads_file, "lines of OBSERVER_ID STATION PAYLOAD")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--work", o.work_dir, "folder for the simulated devices' stores")->required();
  app.add_option("--ca-file", o.ca_file, "verify syncd's certificate against this CA too");
  app.add_option("--day-seconds", o.day_seconds, "length of the simulated 06:00-18:00 day")
      ->check(CLI::Range(1.0, 86400.0));
  app.add_option("--threads", o.threads, "concurrent devices at work")->check(CLI::Range(1, 256));
  app.add_option("--seed", o.seed, "seed of the day's plan");
  app.add_option("--incident-one-in", o.incident_one_in, "one observer in N reports an incident");
  app.add_option("--offline-share", o.offline_share, "share of devices out of signal for hours")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--conflict-share", o.conflict_share,
                 "share of second observers at a station who answer differently")
      ->check(CLI::Range(0.0, 1.0));
  app.add_flag("--durable-devices", o.durable_devices,
               "flush every device commit to disk as a real tablet does (slow: one shared disk)");
  app.add_flag("--sync-only", o.sync_only,
               "play no day: the devices already in --work enroll if they never did and send "
               "what they hold");
  CLI11_PARSE(app, argc, argv);
  auto observers = ReadPayloads(o.payloads_file);
  if (!observers.ok()) {
    std::cerr << "loadgen: " << observers.status().ToString() << "\n";
    return 1;
  }
  std::error_code ec;
  std::filesystem::create_directories(o.work_dir, ec);
  Simulation sim(o, std::move(observers).value());
  return o.sync_only ? sim.SyncOnly() : sim.Run();
}

}  // namespace vigil::loadgen

int main(int argc, char** argv) {
  return vigil::RunMain("vigil-loadgen", [&] { return vigil::loadgen::Main(argc, argv); });
}

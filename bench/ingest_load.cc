#include "ingest_load.h"

#include <google/protobuf/util/json_util.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <map>
#include <sstream>

#include "support/files.h"
#include "support/process.h"
#include "vigil/client/answer_input.h"
#include "vigil/protocol/batch_codec.h"
#include "vigil/protocol/signing.h"

namespace vigil::bench {
namespace {

namespace fs = std::filesystem;

// The syncd processes that Die stops.
std::vector<test_support::SyncdProcess*> running_syncds;

}  // namespace

void Die(const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", program_invocation_short_name, what.c_str());
  for (test_support::SyncdProcess* p : running_syncds) p->Terminate();
  std::fflush(nullptr);
  _exit(1);  // Not exit(): other threads may still be running.
}

std::string Run(const std::string& command) {
  Result<test_support::ShellResult> run = test_support::RunShell(command);
  if (!run.ok()) Die("cannot run " + command);
  if (run->exit_code != 0) Die("failed: " + command);
  return run->output;
}

std::string Quote(const std::string& s) { return "'" + s + "'"; }

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t mid = v.size() / 2;
  return v.size() % 2 == 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

double ProcessCpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

protocol::Form LoadForm(const fs::path& json) {
  v1::FormDefinition def;
  if (!google::protobuf::util::JsonStringToMessage(test_support::ReadFile(json), &def).ok()) {
    Die("cannot read form " + json.string());
  }
  return Take(protocol::Form::Compile(def), json.string());
}

// ----- syncd

Syncd::Syncd(const std::string& binary, const fs::path& data, bool merge, bool validate,
             const std::string& node) {
  test_support::ServeOptions options;
  options.binary = binary;
  options.data = data.string();
  options.ready_file = (data.parent_path() / ("ready" + node)).string();
  options.log_file = (data.parent_path() / ("syncd" + node + ".log")).string();
  options.truncate_log = true;
  options.die_with_parent = true;  // Stopped with the benchmark, however it ends.
  // Every simulated device connects from 127.0.0.1: no per-address limit.
  options.args = {"--quiet", "--rate", "0", "--address-rate", "0"};
  if (!merge) options.args.emplace_back("--no-merge");
  if (!validate) options.args.emplace_back("--no-validate");
  Status started = process_.Start(std::move(options));
  if (!started.ok()) Die(started.ToString());
  running_syncds.push_back(&process_);
  Result<std::string> url = process_.WaitReady();
  if (!url.ok()) Die(url.status().ToString());
}

Syncd::~Syncd() {
  process_.Terminate();
  running_syncds.erase(std::remove(running_syncds.begin(), running_syncds.end(), &process_),
                       running_syncds.end());
}

// ----- the country

v1::Station NationalStation(int i) {
  const int commune = i % 1652;
  char code[32];
  std::snprintf(code, sizeof code, "%02d-%02d-%04d-%05d", 1 + commune % 25, commune % 8, commune,
                i);
  v1::Station s;
  s.set_code(code);
  s.set_name("Station " + std::to_string(i));
  s.set_province("P" + std::to_string(1 + commune % 25));
  s.set_district("D" + std::to_string(1 + commune % 25) + "-" + std::to_string(commune % 8));
  s.set_commune("C" + std::to_string(commune));
  s.set_registered_voters(700);
  return s;
}

void StationPerObserver(int devices, std::vector<v1::Station>* stations,
                        std::vector<ObserverPlan>* observers) {
  for (int i = 0; i < devices; ++i) {
    char code[32];
    std::snprintf(code, sizeof code, "%02d-%02d-%02d-%04d", 1 + i % 25, 1 + i % 8, 1 + i % 10, i);
    v1::Station& s = stations->emplace_back();
    s.set_code(code);
    s.set_name("Station " + std::to_string(i));
    s.set_province("P" + std::to_string(1 + i % 25));
    s.set_district("D" + std::to_string(1 + i % 8));
    s.set_commune("C" + std::to_string(1 + i % 10));
    s.set_registered_voters(600);
    observers->push_back({"obs-" + std::to_string(i), {code}});
  }
}

void SetUpDataDir(const std::string& syncd, const fs::path& data, const std::string& server_id,
                  const std::vector<v1::Station>& stations,
                  const std::vector<ObserverPlan>& observers, const std::vector<fs::path>& forms,
                  const std::string& database_url) {
  const fs::path dir = data.parent_path();
  if (database_url.empty()) {
    Status init = test_support::InitDataDir(syncd, data.string(), server_id);
    if (!init.ok()) Die(init.ToString());
  } else {
    Run(syncd + " init --data " + Quote(data.string()) + " --server-id " + Quote(server_id) +
        " --database " + Quote(database_url) + " >/dev/null");
  }
  {
    std::ofstream st(dir / "stations.csv");
    st << "code,name,province,district,commune,registered_voters\n";
    for (const v1::Station& s : stations) {
      st << s.code() << "," << s.name() << "," << s.province() << "," << s.district() << ","
         << s.commune() << "," << s.registered_voters() << "\n";
    }
    std::ofstream ob(dir / "observers.csv");
    ob << "id,name,phone,stations\n";
    for (const ObserverPlan& o : observers) {
      ob << o.id << ",Observer " << o.id << ",,";
      for (size_t k = 0; k < o.stations.size(); ++k) ob << (k > 0 ? ";" : "") << o.stations[k];
      ob << "\n";
    }
  }
  std::string admin = syncd + " admin --data " + Quote(data.string()) + " ";
  Run(admin + "stations import " + Quote((dir / "stations.csv").string()) + " >/dev/null");
  Run(admin + "observers import " + Quote((dir / "observers.csv").string()) + " >/dev/null");
  for (const fs::path& form : forms) {
    Run(admin + "forms publish " + Quote(form.string()) + " >/dev/null");
  }
}

// ----- devices and their batches

Device NewDevice() {
  Device d;
  d.key = std::make_unique<protocol::Ed25519PrivateKey>(
      Take(protocol::Ed25519PrivateKey::Generate(), "key"));
  d.id = protocol::DeviceIdFromPublicKey(d.key->public_key().raw());
  return d;
}

v1::Record SampleRecord(const protocol::Form& form, uint64_t seed, const std::string& station) {
  v1::Record r;
  v1::Submission* s = r.mutable_submission();
  s->set_submission_id(Take(protocol::NewUuid(), "uuid"));
  s->set_form_id(form.definition().form_id());
  s->set_form_version(form.definition().version());
  s->set_station_code(station);
  s->set_started_at_ms(1690110000000);
  s->set_finalized_at_ms(1690110600000 + static_cast<int64_t>(seed));
  for (auto& [qid, value] : vigil::client::ExampleAnswers(form, seed)) {
    v1::Answer* a = s->add_answers();
    a->set_question_id(qid);
    *a->mutable_value() = value;
  }
  *s->mutable_answers() = form.RelevantAnswers(s->answers());
  return r;
}

std::string SignBatch(const Device& d, uint64_t seq, const std::string& prev_hash,
                      const v1::RecordList& records, const std::string& server_id,
                      std::string* hash_out) {
  v1::Batch batch;
  batch.set_device_id(d.id);
  batch.set_batch_seq(seq);
  batch.set_prev_batch_hash(prev_hash);
  batch.set_device_time_ms(1690110600000);
  if (!protocol::EncodePayload(records, batch).ok()) Die("encode");
  v1::SignedBatch sb;
  batch.SerializeToString(sb.mutable_batch_bytes());
  sb.set_signature(Take(
      d.key->Sign(protocol::SignatureInput(protocol::kBatchLabel, server_id, sb.batch_bytes())),
      "sign"));
  *hash_out = protocol::Sha256(sb.batch_bytes());
  return sb.SerializeAsString();
}

void AppendBatch(Device& d, const v1::RecordList& records, const std::string& server_id) {
  const std::string prev = d.prev_hash.empty() ? protocol::GenesisHash() : d.prev_hash;
  std::string hash;
  Batch b;
  b.bytes = SignBatch(d, d.batches.size() + 1, prev, records, server_id, &hash);
  b.records = static_cast<uint32_t>(records.records_size());
  d.batches.push_back(std::move(b));
  d.prev_hash = hash;
}

void AppendChecklistBatches(Device& d, const protocol::Form& form, size_t count, int batch_size,
                            const std::string& server_id) {
  if (d.stations.empty()) Die("device " + d.id + " has no station");
  for (size_t n = 0; n < count; ++n) {
    const uint64_t seq = d.batches.size() + 1;
    v1::RecordList records;
    const std::string& station = d.stations[seq % d.stations.size()];
    for (int k = 0; k < batch_size; ++k) {
      *records.add_records() = SampleRecord(form, seq * 131 + k, station);
    }
    AppendBatch(d, records, server_id);
  }
}

void DropPushedBatches(Device& d) {
  for (size_t k = 0; k < d.next && k < d.batches.size(); ++k) {
    std::string().swap(d.batches[k].bytes);
  }
}

// ----- HTTPS

size_t CollectBody(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

CURL* NewHandle(const std::string& pin) {
  CURL* h = curl_easy_init();
  curl_easy_setopt(h, CURLOPT_PINNEDPUBLICKEY, pin.c_str());
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);  // the pin authenticates the server
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, CollectBody);
  return h;
}

std::string CurlPin(const std::string& raw) {
  std::string s = protocol::Base64UrlEncode(raw);
  for (char& c : s) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (s.size() % 4 != 0) s.push_back('=');
  return "sha256//" + s;
}

std::vector<Device> EnrollFleet(const std::string& syncd, const fs::path& data,
                                const std::string& url, const std::vector<ObserverPlan>& observers,
                                std::string* pin) {
  std::map<std::string, const ObserverPlan*> plans;
  for (const ObserverPlan& o : observers) plans[o.id] = &o;
  std::istringstream codes(Run(syncd + " admin --data " + Quote(data.string()) +
                               " enroll-code --all --server-url " + url));
  std::vector<Device> fleet;
  std::vector<std::string> bodies;
  std::string line;
  while (std::getline(codes, line)) {
    std::istringstream f(line);
    std::string observer, station, payload_text;
    f >> observer >> station >> payload_text;
    v1::EnrollmentPayload payload;
    payload.ParseFromString(Take(protocol::Base64UrlDecode(payload_text), "payload"));
    *pin = CurlPin(payload.tls_pin());
    Device d = NewDevice();
    d.observer_id = observer;
    auto plan = plans.find(observer);
    d.stations = plan != plans.end() ? plan->second->stations : std::vector<std::string>{station};
    v1::EnrollRequest req;
    req.set_code(payload.code());
    req.set_public_key(d.key->public_key().raw());
    req.set_proof(Take(d.key->Sign(protocol::SignatureInput(protocol::kEnrollLabel, payload.code(),
                                                            d.key->public_key().raw())),
                       "proof"));
    bodies.push_back(req.SerializeAsString());
    fleet.push_back(std::move(d));
  }
  // Enrollments over HTTPS, kParallel at a time (each is a TLS handshake and a transaction).
  constexpr size_t kParallel = 16;
  const std::string enroll_url = url + "/v1/enroll";
  CURLM* multi = curl_multi_init();
  size_t started = 0, done = 0;
  auto start_next = [&] {
    const size_t i = started++;
    CURL* h = NewHandle(*pin);
    curl_easy_setopt(h, CURLOPT_URL, enroll_url.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, bodies[i].data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(bodies[i].size()));
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &fleet[i].response);
    // NOLINTNEXTLINE(performance-no-int-to-ptr): CURLOPT_PRIVATE carries the device's index.
    curl_easy_setopt(h, CURLOPT_PRIVATE, reinterpret_cast<void*>(static_cast<intptr_t>(i)));
    curl_multi_add_handle(multi, h);
  };
  while (started < fleet.size() && started < kParallel) start_next();
  while (done < fleet.size()) {
    int running = 0;
    curl_multi_perform(multi, &running);
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* h = msg->easy_handle;
      const CURLcode outcome = msg->data.result;
      long code = 0;
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
      curl_multi_remove_handle(multi, h);
      curl_easy_cleanup(h);
      if (outcome != CURLE_OK) Die("enroll: network");
      if (code != 200) Die("enroll refused with HTTP " + std::to_string(code));
      ++done;
      if (started < fleet.size()) start_next();
    }
    curl_multi_poll(multi, nullptr, 0, 100, nullptr);
  }
  curl_multi_cleanup(multi);
  for (Device& d : fleet) d.response.clear();
  return fleet;
}

// ----- the push loop

Pusher::Pusher(std::vector<Device>& fleet, const std::string& url, const std::string& pin)
    : Pusher(fleet, std::vector<std::string>{url}, pin) {}

Pusher::Pusher(std::vector<Device>& fleet, const std::vector<std::string>& urls,
               const std::string& pin)
    : fleet_(fleet), multi_(curl_multi_init()) {
  for (const std::string& url : urls) push_urls_.push_back(url + "/v1/push");
  for (size_t i = 0; i < fleet_.size(); ++i) handles_.push_back(NewHandle(pin));
}

Pusher::~Pusher() {
  for (CURL* h : handles_) curl_easy_cleanup(h);
  curl_multi_cleanup(multi_);
}

PushResult Pusher::Run(const PushOptions& options, pid_t syncd_pid) {
  const int devices = static_cast<int>(fleet_.size());
  PushResult result;
  const Device* first = fleet_.empty() ? nullptr : &fleet_[0];
  const double batch_size = first != nullptr && first->next < first->batches.size()
                                ? first->batches[first->next].records
                                : 0;
  const double interval_s = options.offered_per_s > 0
                                ? static_cast<double>(devices) * batch_size / options.offered_per_s
                                : 0;
  std::vector<Clock::time_point> due(devices);
  std::vector<bool> waiting(devices, false);
  auto send = [&](int i) {
    Device& d = fleet_[i];
    d.response.clear();
    curl_easy_setopt(handles_[i], CURLOPT_URL, push_urls_[i % push_urls_.size()].c_str());
    curl_easy_setopt(handles_[i], CURLOPT_POSTFIELDS, d.batches[d.next].bytes.data());
    curl_easy_setopt(handles_[i], CURLOPT_POSTFIELDSIZE,
                     static_cast<long>(d.batches[d.next].bytes.size()));
    curl_easy_setopt(handles_[i], CURLOPT_WRITEDATA, &d.response);
    // NOLINTNEXTLINE(performance-no-int-to-ptr): CURLOPT_PRIVATE carries the device's index.
    curl_easy_setopt(handles_[i], CURLOPT_PRIVATE,
                     reinterpret_cast<void*>(static_cast<intptr_t>(i)));
    d.sent_at = Clock::now();
    curl_multi_add_handle(multi_, handles_[i]);
  };
  auto start = Clock::now();
  auto every =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(interval_s));
  int pending = 0;  // devices with a request in flight or due
  for (int i = 0; i < devices; ++i) {
    if (fleet_[i].next >= fleet_[i].batches.size()) continue;
    ++pending;
    if (interval_s > 0) {
      due[i] = start + every * i / devices;  // staggered over one interval
      waiting[i] = true;
    } else {
      send(i);
    }
  }
  double cpu_before = ProcessCpuSeconds(syncd_pid);
  auto stop_at = start + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(options.seconds));
  int running = 0;
  while (pending > 0) {
    auto now = Clock::now();
    const bool drop_turns = !options.turns_after_stop && now >= stop_at;
    for (int i = 0; i < devices; ++i) {
      if (waiting[i] && (due[i] <= now || drop_turns)) {
        waiting[i] = false;
        if (!options.turns_after_stop && due[i] >= stop_at) {
          --pending;
        } else {
          send(i);
        }
      }
    }
    curl_multi_perform(multi_, &running);
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      void* priv = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
      int i = static_cast<int>(reinterpret_cast<intptr_t>(priv));
      long code = 0;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
      const CURLcode outcome = msg->data.result;
      curl_multi_remove_handle(multi_, msg->easy_handle);
      Device& d = fleet_[i];
      const Clock::time_point answered = Clock::now();
      if (outcome == CURLE_OK && code == 200) {
        result.latencies_ms.push_back(
            std::chrono::duration<double, std::milli>(answered - d.sent_at).count());
        const uint32_t records = d.batches[d.next].records;
        result.acked += records;
        ++d.next;
        if (options.on_ack) options.on_ack(answered, records);
      } else {
        ++result.errors;
      }
      if (Clock::now() < stop_at && d.next < d.batches.size()) {
        if (interval_s > 0) {
          due[i] = std::max(Clock::now(), due[i] + every);
          waiting[i] = true;
        } else {
          send(i);
        }
      } else {
        --pending;
      }
    }
    curl_multi_poll(multi_, nullptr, 0, interval_s > 0 ? 2 : 100, nullptr);
  }
  result.elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
  result.syncd_cpu_s = ProcessCpuSeconds(syncd_pid) - cpu_before;
  return result;
}

}  // namespace vigil::bench

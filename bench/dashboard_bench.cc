// Dashboard benchmark: syncd's coordinators' API and its Server-Sent Events under the load of
// 1,000 devices, over HTTPS on 127.0.0.1 (docs/dashboard.md, docs/performance.md).
//
// One syncd over a national-size country: 23,789 stations, 1,000 observers with a device
// each (23 or 24 stations per observer, spread over the country), the opening, voting and
// closing checklists published. Before measuring, every device pushes one batch holding the
// three checklists for 90 % of its stations, so that coverage is made of real masters. Then,
// in each round:
//  A. ingest alone: the fleet pushes batches of 50 closing checklists in a closed loop
//     (bench/ingest_load.h, as ingest_bench does) for S seconds;
//  B. the same with 50 dashboards' event streams open (GET /api/events, one session each):
//     the ingest rate against A's (the ratio), and on every stream the delay from each
//     batch's acknowledgement to the first `overview` event whose submission count includes
//     it;
//  C. the fleet paced at 5,000 checklists/s (ingest's floor target; less when the machine
//     did not carry that much in A), the 50 streams open, and two more dashboards asking, one
//     GET /api/overview every 100 ms, the other GET /api/coverage with four parameter sets in
//     turn (100 ms apart; 1.5 s after the national station list): the latency of each request.
// Before the rounds, each query is also timed with no load at all, for comparison.
// A and B swap order every round, so that drift in the machine's load or the store's growth
// favours neither. Figures are per round, then medians over the rounds.
//
// Every phase is bounded in time, the whole run in rounds; syncd is stopped at the end or
// when the benchmark dies.
#include <curl/curl.h>
#include <google/protobuf/util/json_util.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ingest_load.h"
#include "machine.h"
#include "vigil/v1/dashboard.pb.h"

namespace {

namespace fs = std::filesystem;
namespace v1 = vigil::v1;
using vigil::bench::Clock;
using vigil::bench::Device;
using vigil::bench::Die;
using vigil::bench::Median;
using vigil::bench::Percentile;

constexpr int kStations = 23789;
constexpr int kDevices = 1000;
constexpr int kBatch = 50;
constexpr int kStreams = 50;
constexpr double kPacedLoad = 5000;  // checklists/s, ingest's floor target
constexpr const char* kServerId = "bench-server";
constexpr const char* kCoordinator = "bench";
constexpr const char* kPassword = "bench-password-1";

double MsBetween(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

// ----- plain HTTPS requests to the API (one keep-alive connection per Api)

size_t CollectCookie(char* data, size_t size, size_t count, void* out) {
  std::string line(data, size * count);
  const std::string prefix = "set-cookie: vigil_session=";
  std::string lower = line.substr(0, prefix.size());
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  if (lower == prefix) {
    std::string value = line.substr(prefix.size());
    *static_cast<std::string*>(out) = value.substr(0, value.find(';'));
  }
  return size * count;
}

class Api {
 public:
  Api(std::string url, const std::string& pin)
      : url_(std::move(url)), h_(vigil::bench::NewHandle(pin)) {
    curl_easy_setopt(h_, CURLOPT_WRITEDATA, &body_);
  }
  ~Api() { curl_easy_cleanup(h_); }
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  // POST /api/login; returns the session cookie's value.
  std::string Login() {
    std::string cookie;
    const std::string body =
        std::string(R"({"name":")") + kCoordinator + R"(","password":")" + kPassword + R"("})";
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    const std::string url = url_ + "/api/login";
    curl_easy_setopt(h_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h_, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h_, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(h_, CURLOPT_HEADERFUNCTION, CollectCookie);
    curl_easy_setopt(h_, CURLOPT_HEADERDATA, &cookie);
    body_.clear();
    const CURLcode result = curl_easy_perform(h_);
    long code = 0;
    curl_easy_getinfo(h_, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_setopt(h_, CURLOPT_HTTPHEADER, nullptr);
    curl_easy_setopt(h_, CURLOPT_HEADERFUNCTION, nullptr);
    curl_easy_setopt(h_, CURLOPT_HEADERDATA, nullptr);  // or headers go to the write callback
    curl_easy_setopt(h_, CURLOPT_HTTPGET, 1L);
    curl_slist_free_all(headers);
    if (result != CURLE_OK || code != 200 || cookie.empty()) {
      Die("login failed: HTTP " + std::to_string(code) + " " + body_);
    }
    return cookie;
  }

  void UseSession(const std::string& cookie) {
    cookie_ = "vigil_session=" + cookie;
    curl_easy_setopt(h_, CURLOPT_COOKIE, cookie_.c_str());
  }

  // GET `target`; returns the HTTP status (0: no answer) and sets body().
  long Get(const std::string& target) {
    const std::string url = url_ + target;
    curl_easy_setopt(h_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h_, CURLOPT_HTTPGET, 1L);
    body_.clear();
    if (curl_easy_perform(h_) != CURLE_OK) return 0;
    long code = 0;
    curl_easy_getinfo(h_, CURLINFO_RESPONSE_CODE, &code);
    return code;
  }
  const std::string& body() const { return body_; }

 private:
  std::string url_;
  CURL* h_;
  std::string cookie_;
  std::string body_;
};

v1::Overview GetOverview(Api& api) {
  if (api.Get("/api/overview") != 200) Die("GET /api/overview: " + api.body());
  v1::Overview overview;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  if (!google::protobuf::util::JsonStringToMessage(api.body(), &overview, options).ok()) {
    Die("GET /api/overview: not an Overview");
  }
  return overview;
}

// ----- the event streams

// One open GET /api/events: the `overview` events it received, in order.
struct Stream {
  CURL* handle = nullptr;
  std::string cookie;
  std::string pending;  // Bytes of an event not yet complete.
  std::vector<Clock::time_point> at;
  std::vector<uint64_t> submissions;  // Overview.submissions of each event.
  bool ended = false;                 // The server closed it.
  std::atomic<int>* opened = nullptr;
};

// The top-level "submissions" of an Overview's JSON: the only string-valued (64-bit) field
// of that name (MinuteCount's are numbers). A string search: the reader thread must stay
// light beside 50 streams.
bool SubmissionsOf(const std::string& json, uint64_t* out) {
  static const std::string kKey = "\"submissions\":\"";
  size_t pos = json.find(kKey);
  if (pos == std::string::npos) {
    *out = 0;  // protobuf's JSON leaves out zero
    return json.find("\"stations\"") != std::string::npos;
  }
  *out = std::strtoull(json.c_str() + pos + kKey.size(), nullptr, 10);
  return true;
}

size_t OnStreamData(char* data, size_t size, size_t count, void* user) {
  Stream& s = *static_cast<Stream*>(user);
  const Clock::time_point now = Clock::now();
  s.pending.append(data, size * count);
  for (size_t end; (end = s.pending.find("\n\n")) != std::string::npos;) {
    const std::string block = s.pending.substr(0, end);
    s.pending.erase(0, end + 2);
    if (block.rfind("event: overview\n", 0) != 0) continue;  // retry:, keep-alive comments
    const size_t data_at = block.find("\ndata: ");
    uint64_t n = 0;
    if (data_at == std::string::npos || !SubmissionsOf(block.substr(data_at + 7), &n)) {
      Die("an overview event without its data");
    }
    if (s.at.empty()) s.opened->fetch_add(1);
    s.at.push_back(now);
    s.submissions.push_back(n);
  }
  return size * count;
}

// One event stream per session, all read by one thread of their own until Close().
class EventStreams {
 public:
  EventStreams(const std::string& url, const std::string& pin,
               const std::vector<std::string>& cookies)
      : streams_(cookies.size()), multi_(curl_multi_init()) {
    const std::string events_url = url + "/api/events";
    headers_ = curl_slist_append(nullptr, "Accept: text/event-stream");
    for (size_t i = 0; i < cookies.size(); ++i) {
      Stream& s = streams_[i];
      s.cookie = "vigil_session=" + cookies[i];
      s.opened = &opened_;
      s.handle = vigil::bench::NewHandle(pin);
      curl_easy_setopt(s.handle, CURLOPT_URL, events_url.c_str());
      curl_easy_setopt(s.handle, CURLOPT_TIMEOUT, 0L);  // a stream has no end
      curl_easy_setopt(s.handle, CURLOPT_COOKIE, s.cookie.c_str());
      curl_easy_setopt(s.handle, CURLOPT_HTTPHEADER, headers_);
      curl_easy_setopt(s.handle, CURLOPT_WRITEFUNCTION, OnStreamData);
      curl_easy_setopt(s.handle, CURLOPT_WRITEDATA, &s);
      curl_easy_setopt(s.handle, CURLOPT_PRIVATE, &s);
      curl_multi_add_handle(multi_, s.handle);
    }
    thread_ = std::thread([this] { Loop(); });
  }
  ~EventStreams() {
    Close();
    for (Stream& s : streams_) {
      curl_multi_remove_handle(multi_, s.handle);
      curl_easy_cleanup(s.handle);
    }
    curl_multi_cleanup(multi_);
    curl_slist_free_all(headers_);
  }
  EventStreams(const EventStreams&) = delete;
  EventStreams& operator=(const EventStreams&) = delete;

  // Waits until every stream has had its first event (the overview at subscription).
  void WaitOpen() {
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (opened_.load() < static_cast<int>(streams_.size())) {
      if (Clock::now() > deadline) {
        Die(std::to_string(opened_.load()) + " of " + std::to_string(streams_.size()) +
            " event streams opened in 60 s");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling a condition
    }
  }
  // Stops reading; the streams' records may then be read.
  void Close() {
    if (!thread_.joinable()) return;
    stop_ = true;
    curl_multi_wakeup(multi_);
    thread_.join();
  }
  const std::vector<Stream>& streams() const { return streams_; }

 private:
  void Loop() {
    int running = 0;
    while (!stop_) {
      curl_multi_perform(multi_, &running);
      int queued = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
        if (msg->msg != CURLMSG_DONE) continue;
        void* priv = nullptr;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        static_cast<Stream*>(priv)->ended = true;
      }
      curl_multi_poll(multi_, nullptr, 0, 100, nullptr);
    }
  }

  std::vector<Stream> streams_;
  CURLM* multi_;
  curl_slist* headers_ = nullptr;
  std::atomic<int> opened_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// What the streams saw during one push phase.
struct StreamFigures {
  double delay_p50_ms = 0;
  double delay_p99_ms = 0;
  int with_events = 0;     // Streams with at least one event after the first.
  int complete = 0;        // Streams whose last event counted every acknowledged checklist.
  int ended = 0;           // Streams the server closed.
  uint64_t unmatched = 0;  // (ack, stream) pairs with no event counting the ack.
  double events_per_stream = 0;
};

// Acknowledgements of one phase: when, and the phase's checklists acknowledged by then.
struct Ack {
  Clock::time_point at;
  uint64_t acked;
};

StreamFigures Measure(const EventStreams& es, const std::vector<Ack>& acks) {
  StreamFigures f;
  std::vector<double> delays;
  const uint64_t total = acks.empty() ? 0 : acks.back().acked;
  for (const Stream& s : es.streams()) {
    if (s.submissions.empty()) continue;
    // The first event is the overview at subscription, before the phase's first push.
    const uint64_t base = s.submissions.front();
    std::vector<uint64_t> seen(s.submissions.size());
    uint64_t high = 0;
    for (size_t k = 0; k < seen.size(); ++k) seen[k] = high = std::max(high, s.submissions[k]);
    f.with_events += s.submissions.size() > 1 ? 1 : 0;
    f.complete += high >= base + total ? 1 : 0;
    f.ended += s.ended ? 1 : 0;
    f.events_per_stream += static_cast<double>(s.submissions.size() - 1);
    for (const Ack& a : acks) {
      auto it = std::lower_bound(seen.begin(), seen.end(), base + a.acked);
      if (it == seen.end()) {
        ++f.unmatched;
        continue;
      }
      delays.push_back(MsBetween(a.at, s.at[it - seen.begin()]));
    }
  }
  f.events_per_stream /= static_cast<double>(std::max<size_t>(1, es.streams().size()));
  f.delay_p50_ms = Percentile(delays, 0.50);
  f.delay_p99_ms = Percentile(delays, 0.99);
  return f;
}

// ----- the querying dashboard

struct Query {
  const char* name;
  const char* target;
  int pause_ms;  // After each request: the querying dashboard's pace.
};

// The overview, then coverage: the provinces, one province's districts, one province's
// stations missing their closing checklist, and page 3 of the nation's stations in conflict.
// The last costs far more than the others (it reads every station); it is asked less often,
// as a person reading the page would.
const Query kQueries[] = {
    {"overview", "/api/overview", 100},
    {"coverage province", "/api/coverage?form=closing&level=province", 100},
    {"coverage district", "/api/coverage?form=closing&level=district&province=P7", 100},
    {"coverage station, 1 province, missing",
     "/api/coverage?form=closing&level=station&province=P7&status=missing", 100},
    {"coverage station, nation, conflict p3",
     "/api/coverage?form=closing&level=station&status=conflict&page=3", 1500},
};
constexpr size_t kQueryCount = sizeof kQueries / sizeof kQueries[0];

struct QueryFigures {
  std::vector<double> ms[kQueryCount];
  uint64_t errors[kQueryCount] = {};
  size_t bytes[kQueryCount] = {};
};

// Asks kQueries[first, last) in turn, each followed by its pause, until `stop`.
void QueryLoop(Api& api, size_t first, size_t last, const std::atomic<bool>& stop,
               QueryFigures& out) {
  while (!stop) {
    for (size_t q = first; q < last && !stop; ++q) {
      const Clock::time_point start = Clock::now();
      const long code = api.Get(kQueries[q].target);
      const double ms = MsBetween(start, Clock::now());
      if (code == 200) {
        out.ms[q].push_back(ms);
        out.bytes[q] = api.body().size();
      } else {
        ++out.errors[q];
        if (out.errors[q] == 1) {
          std::fprintf(stderr, "dashboard_bench: %s answered %ld: %s\n", kQueries[q].target, code,
                       api.body().substr(0, 200).c_str());
        }
      }
      // A pace, not a wait; cut short when the phase ends.
      const Clock::time_point until =
          Clock::now() + std::chrono::milliseconds(kQueries[q].pause_ms);
      while (!stop && Clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
  }
}

// ----- the run

struct Options {
  std::string syncd;
  fs::path forms;
  fs::path work;
  int rounds = 5;
  double seconds = 15;
};

struct Round {
  vigil::bench::PushResult alone, streamed, paced;
  StreamFigures closed_streams, paced_streams;
  QueryFigures queries;
  size_t ran_out_alone = 0, ran_out_streamed = 0;
  double offered = 0;  // Phase C's paced load, checklists/s.
  std::string load_before, load_after;
};

class Bench {
 public:
  explicit Bench(const Options& o) : o_(o) {}

  void Run();

 private:
  void SetUp();
  void Prefill();
  // Tops every device up to enough batches for `checklists` more checklists over the fleet.
  void Refill(double checklists);
  // One push phase; *ran_out: devices that sent every batch they had (closed loop: their
  // rate was capped by the batches made, not by syncd).
  vigil::bench::PushResult Push(double offered_per_s, std::vector<Ack>* acks, size_t* ran_out);
  Round RunRound(int r);
  // Times each query with no load at all (idle_ms_).
  void IdleQueries();
  void Print(int r, const Round& round);
  void Summary(const std::vector<Round>& rounds);

  const Options o_;
  std::vector<vigil::protocol::Form> forms_;  // opening, voting, closing
  fs::path data_;
  std::unique_ptr<vigil::bench::Syncd> syncd_;
  std::vector<Device> fleet_;
  std::string pin_;
  std::unique_ptr<vigil::bench::Pusher> pusher_;
  std::vector<std::string> cookies_;  // kStreams sessions for the streams, 2 for queries
  double best_rate_ = 10000;          // Closed-loop checklists/s, for Refill.
  double idle_ms_[kQueryCount] = {};  // Median latency of each query with no load.
};

void Bench::SetUp() {
  const fs::path dir = o_.work / "dashboard";
  fs::remove_all(dir);
  fs::create_directories(dir);
  data_ = dir / "data";
  std::vector<v1::Station> stations;
  std::vector<vigil::bench::ObserverPlan> observers(kDevices);
  for (int i = 0; i < kStations; ++i) {
    stations.push_back(vigil::bench::NationalStation(i));
    observers[i % kDevices].stations.push_back(stations.back().code());
    // One station in 20 has a second observer: two contributors, whose answers differ.
    if (i % 20 == 0) observers[(i + 1) % kDevices].stations.push_back(stations.back().code());
  }
  for (int k = 0; k < kDevices; ++k) observers[k].id = "obs-" + std::to_string(k);
  std::vector<fs::path> form_files;
  for (const char* id : {"opening", "voting", "closing"}) {
    form_files.push_back(o_.forms / (std::string(id) + ".json"));
    forms_.push_back(vigil::bench::LoadForm(form_files.back()));
  }
  vigil::bench::SetUpDataDir(o_.syncd, data_, kServerId, stations, observers, form_files);
  vigil::bench::Run("echo " + std::string(kPassword) + " | " + o_.syncd + " admin --data " +
                    vigil::bench::Quote(data_.string()) + " coordinators add " + kCoordinator +
                    " --role viewer --password-stdin >/dev/null");

  syncd_ = std::make_unique<vigil::bench::Syncd>(o_.syncd, data_);
  const Clock::time_point start = Clock::now();
  size_t fewest = kStations, most = 0;
  for (const vigil::bench::ObserverPlan& o : observers) {
    fewest = std::min(fewest, o.stations.size());
    most = std::max(most, o.stations.size());
  }
  fleet_ = vigil::bench::EnrollFleet(o_.syncd, data_, syncd_->url(), observers, &pin_);
  if (fleet_.size() != kDevices) Die("enrolled " + std::to_string(fleet_.size()) + " devices");
  std::printf(
      "setup: %d stations, %d observers with a device each (%zu-%zu stations each; 1 station "
      "in 20 has two observers), enrolled over HTTPS in %.1f s\n",
      kStations, kDevices, fewest, most,
      std::chrono::duration<double>(Clock::now() - start).count());
  pusher_ = std::make_unique<vigil::bench::Pusher>(fleet_, syncd_->url(), pin_);
}

void Bench::Prefill() {
  // Opening, voting and closing for 90 % of each device's stations, in one batch; small
  // seeds, so that the closing checklists pushed later supersede these. The load that follows
  // sends closing checklists for the stations that have one already, so that the share of
  // stations missing it stays as it is here from round to round.
  size_t records = 0;
  for (Device& d : fleet_) {
    v1::RecordList list;
    std::vector<std::string> with_closing;
    for (size_t j = 0; j < d.stations.size(); ++j) {
      for (size_t f = 0; f < forms_.size(); ++f) {
        if ((j * 7 + f * 3 + d.observer_id.size()) % 10 == 0) continue;
        *list.add_records() = vigil::bench::SampleRecord(forms_[f], j * 3 + f, d.stations[j]);
        if (f + 1 == forms_.size()) with_closing.push_back(d.stations[j]);
      }
    }
    records += static_cast<size_t>(list.records_size());
    vigil::bench::AppendBatch(d, list, kServerId);
    d.stations = std::move(with_closing);
  }
  vigil::bench::PushOptions options;
  options.seconds = 300;  // every device sends its one batch; bounded all the same
  vigil::bench::PushResult r = pusher_->Run(options, syncd_->pid());
  if (r.errors > 0 || r.acked != records) {
    Die("prefill: " + std::to_string(r.acked) + " of " + std::to_string(records) +
        " checklists acknowledged, " + std::to_string(r.errors) + " errors");
  }
  std::printf("prefill: %zu checklists (3 forms, 90 %% of stations) in %.1f s, %.0f/s\n", records,
              r.elapsed_s, r.checklists_per_s());
}

void Bench::Refill(double checklists) {
  const size_t per_device =
      static_cast<size_t>(checklists / kBatch / static_cast<double>(fleet_.size())) + 2;
  const vigil::protocol::Form& closing = forms_.back();
  for (Device& d : fleet_) {
    vigil::bench::DropPushedBatches(d);
    const size_t left = d.batches.size() - d.next;
    if (left < per_device) {
      vigil::bench::AppendChecklistBatches(d, closing, per_device - left, kBatch, kServerId);
    }
  }
}

vigil::bench::PushResult Bench::Push(double offered_per_s, std::vector<Ack>* acks,
                                     size_t* ran_out) {
  // Closed loop: twice the best rate seen, as syncd does not serve devices evenly.
  Refill((offered_per_s > 0 ? offered_per_s : std::max(2 * best_rate_, 10000.0)) * o_.seconds);
  vigil::bench::PushOptions options;
  options.seconds = o_.seconds;
  options.offered_per_s = offered_per_s;
  options.turns_after_stop = false;  // every phase ends on time
  uint64_t acked = 0;
  if (acks != nullptr) {
    acks->clear();
    options.on_ack = [&](Clock::time_point at, uint32_t n) {
      acked += n;
      acks->push_back({at, acked});
    };
  }
  vigil::bench::PushResult r = pusher_->Run(options, syncd_->pid());
  *ran_out = 0;
  for (const Device& d : fleet_) *ran_out += d.next == d.batches.size() ? 1 : 0;
  if (offered_per_s == 0) best_rate_ = std::max(best_rate_, r.checklists_per_s());
  return r;
}

// Streams open, then the push, then up to 5 s for the last acknowledgements to reach every
// stream (the overview is recomputed at most once a second).
template <typename PushFn>
StreamFigures WithStreams(const std::string& url, const std::string& pin,
                          const std::vector<std::string>& cookies, PushFn push) {
  EventStreams es(url, pin, cookies);
  es.WaitOpen();
  std::vector<Ack> acks;
  push(&acks);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // the ticker's period, twice
  es.Close();
  StreamFigures f = Measure(es, acks);
  if (f.complete < static_cast<int>(cookies.size())) {
    // Slow machine: one more look after a longer wait would need the streams open; report.
    std::printf("  (%d of %zu streams had not yet counted every acknowledged checklist)\n",
                static_cast<int>(cookies.size()) - f.complete, cookies.size());
  }
  return f;
}

Round Bench::RunRound(int r) {
  Round round;
  round.load_before = vigil::bench::LoadAverage();
  const std::vector<std::string> stream_cookies(cookies_.begin(), cookies_.begin() + kStreams);
  auto alone = [&] { round.alone = Push(0, nullptr, &round.ran_out_alone); };
  auto streamed = [&] {
    round.closed_streams = WithStreams(
        syncd_->url(), pin_, stream_cookies,
        [&](std::vector<Ack>* acks) { round.streamed = Push(0, acks, &round.ran_out_streamed); });
  };
  if (r % 2 == 1) {
    alone();
    streamed();
  } else {
    streamed();
    alone();
  }
  // C: paced, streams open, two dashboards querying: one asks for the overview every 100 ms,
  // the other for each coverage page in turn (kQueries' pauses). The pace is ingest's floor target,
  // or 60 % of what the machine carried in A when that is less (a shared machine may not
  // carry 5,000/s; beyond its ceiling the queue, not the dashboard, would set every latency).
  round.offered = std::min(kPacedLoad, 0.6 * round.alone.checklists_per_s());
  Api overview_api(syncd_->url(), pin_);
  Api coverage_api(syncd_->url(), pin_);
  overview_api.UseSession(cookies_[kStreams]);
  coverage_api.UseSession(cookies_[kStreams + 1]);
  for (Api* api : {&overview_api, &coverage_api}) {
    if (api->Get("/api/session") != 200) Die("GET /api/session: " + api->body());  // connects
  }
  std::atomic<bool> stop{false};
  round.paced_streams =
      WithStreams(syncd_->url(), pin_, stream_cookies, [&](std::vector<Ack>* acks) {
        std::thread overview([&] { QueryLoop(overview_api, 0, 1, stop, round.queries); });
        std::thread coverage([&] { QueryLoop(coverage_api, 1, kQueryCount, stop, round.queries); });
        size_t ignored = 0;
        round.paced = Push(round.offered, acks, &ignored);
        stop = true;
        overview.join();
        coverage.join();
      });
  round.load_after = vigil::bench::LoadAverage();
  return round;
}

double CpuUsPerChecklist(const vigil::bench::PushResult& r) {
  return r.acked > 0 ? r.syncd_cpu_s * 1e6 / static_cast<double>(r.acked) : 0;
}

void Bench::Print(int r, const Round& x) {
  std::printf("round %d (load average %s -> %s)\n", r, x.load_before.c_str(), x.load_after.c_str());
  std::printf(
      "  closed loop, 0 streams : %7.0f checklists/s, syncd %4.0f us/checklist, %llu errors%s\n",
      x.alone.checklists_per_s(), CpuUsPerChecklist(x.alone),
      static_cast<unsigned long long>(x.alone.errors),
      x.ran_out_alone > 0 ? " (some devices ran out of batches: a floor)" : "");
  std::printf(
      "  closed loop, %d streams: %7.0f checklists/s, syncd %4.0f us/checklist, %llu errors; "
      "ratio %.2f%s\n",
      kStreams, x.streamed.checklists_per_s(), CpuUsPerChecklist(x.streamed),
      static_cast<unsigned long long>(x.streamed.errors),
      x.streamed.checklists_per_s() / std::max(1.0, x.alone.checklists_per_s()),
      x.ran_out_streamed > 0 ? " (some devices ran out of batches: a floor)" : "");
  auto streams = [](const char* what, const StreamFigures& f) {
    std::printf(
        "  %s: ack -> event p50 %4.0f ms, p99 %5.0f ms; streams with events %d/%d, "
        "complete %d/%d, closed by server %d; %.1f events per stream; %llu unmatched\n",
        what, f.delay_p50_ms, f.delay_p99_ms, f.with_events, kStreams, f.complete, kStreams,
        f.ended, f.events_per_stream, static_cast<unsigned long long>(f.unmatched));
  };
  streams("events, closed loop", x.closed_streams);
  std::printf(
      "  paced %.0f/s + %d streams + 2 querying dashboards: %.0f checklists/s, push p99 "
      "%.1f ms, %llu errors\n",
      x.offered, kStreams, x.paced.checklists_per_s(), Percentile(x.paced.latencies_ms, 0.99),
      static_cast<unsigned long long>(x.paced.errors));
  streams("events, paced      ", x.paced_streams);
  for (size_t q = 0; q < kQueryCount; ++q) {
    std::printf("    %-40s p50 %6.1f ms  p99 %6.1f ms  n %4zu  errors %llu  %6zu B\n",
                kQueries[q].name, Percentile(x.queries.ms[q], 0.5),
                Percentile(x.queries.ms[q], 0.99), x.queries.ms[q].size(),
                static_cast<unsigned long long>(x.queries.errors[q]), x.queries.bytes[q]);
  }
  std::fflush(stdout);
}

void Bench::Summary(const std::vector<Round>& rounds) {
  auto median = [&](auto figure) {
    std::vector<double> v;
    v.reserve(rounds.size());
    for (const Round& x : rounds) v.push_back(figure(x));
    return Median(v);
  };
  auto worst = [&](auto figure) {
    double w = 0;
    for (const Round& x : rounds) w = std::max(w, figure(x));
    return w;
  };
  const double alone = median([](const Round& x) { return x.alone.checklists_per_s(); });
  const double streamed = median([](const Round& x) { return x.streamed.checklists_per_s(); });
  const double ratio = median([](const Round& x) {
    return x.streamed.checklists_per_s() / std::max(1.0, x.alone.checklists_per_s());
  });
  const double closed_p50 = median([](const Round& x) { return x.closed_streams.delay_p50_ms; });
  const double closed_p99 = median([](const Round& x) { return x.closed_streams.delay_p99_ms; });
  const double paced_p50 = median([](const Round& x) { return x.paced_streams.delay_p50_ms; });
  const double paced_p99 = median([](const Round& x) { return x.paced_streams.delay_p99_ms; });
  int streams_ok = kStreams;
  for (const Round& x : rounds) {
    streams_ok = std::min({streams_ok, x.closed_streams.with_events, x.paced_streams.with_events});
  }
  std::printf("median of %zu rounds (worst round in brackets):\n", rounds.size());
  std::printf(
      "  ingest, closed loop: %.0f checklists/s with 0 streams, %.0f with %d; ratio %.2f "
      "(target >= 0.90)\n",
      alone, streamed, kStreams, ratio);
  std::printf(
      "  ack -> overview event: closed loop p50 %.0f ms, p99 %.0f ms (%.0f); paced p50 "
      "%.0f ms, p99 %.0f ms (%.0f); every stream received events in every phase: %s "
      "(%d/%d)\n",
      closed_p50, closed_p99, worst([](const Round& x) { return x.closed_streams.delay_p99_ms; }),
      paced_p50, paced_p99, worst([](const Round& x) { return x.paced_streams.delay_p99_ms; }),
      streams_ok == kStreams ? "yes" : "NO", streams_ok, kStreams);
  double overview_p99 = 0, coverage_p99 = 0;
  for (size_t q = 0; q < kQueryCount; ++q) {
    auto p50 = [q](const Round& x) { return Percentile(x.queries.ms[q], 0.5); };
    auto p99 = [q](const Round& x) { return Percentile(x.queries.ms[q], 0.99); };
    std::printf("  %-40s p50 %6.1f ms  p99 %6.1f ms (%6.1f); no load %6.1f ms%s\n",
                kQueries[q].name, median(p50), median(p99), worst(p99), idle_ms_[q],
                q == 0 ? "  (target p99 < 100 ms)" : "");
    if (q == 0) {
      overview_p99 = median(p99);
    } else {
      coverage_p99 = std::max(coverage_p99, median(p99));
    }
  }
  std::printf(
      "dashboard overview_p99_ms=%.0f coverage_p99_ms=%.0f ingest_ratio_%d_streams=%.2f "
      "event_delay_p99_ms=%.0f streams_ok=%d/%d\n",
      overview_p99, coverage_p99, kStreams, ratio, closed_p99, streams_ok, kStreams);
}

void Bench::IdleQueries() {
  Api api(syncd_->url(), pin_);
  api.UseSession(cookies_[kStreams]);
  for (size_t q = 0; q < kQueryCount; ++q) {
    std::vector<double> ms;
    for (int i = 0; i < 5; ++i) {
      if (q == 0) {
        // The overview is cached for 1 s, or 10 s while the store does not change: a login
        // (its audit entry) is a change, so each of these requests recomputes it.
        (void)api.Login();
        std::this_thread::sleep_for(std::chrono::milliseconds(1100));
      }
      const Clock::time_point start = Clock::now();
      if (api.Get(kQueries[q].target) != 200)
        Die(std::string(kQueries[q].target) + ": " + api.body());
      ms.push_back(MsBetween(start, Clock::now()));
    }
    idle_ms_[q] = Median(ms);
    std::printf("no load: %-40s %7.1f ms (median of 5%s)\n", kQueries[q].name, idle_ms_[q],
                q == 0 ? ", each recomputed" : "");
  }
}

void Bench::Run() {
  const Clock::time_point run_start = Clock::now();
  std::printf(
      "dashboard benchmark: %s, %ld cores; syncd, the devices and the dashboards share "
      "this machine; load average %s\n",
      vigil::bench::CpuModel().c_str(), sysconf(_SC_NPROCESSORS_ONLN),
      vigil::bench::LoadAverage().c_str());
  std::printf("%d rounds of %.0f s phases; %d devices x batches of %d; %d event streams\n",
              o_.rounds, o_.seconds, kDevices, kBatch, kStreams);
  std::fflush(stdout);
  SetUp();
  Prefill();
  {
    // kStreams + 2 sessions, two logins at a time (syncd's two dashboard workers; scrypt
    // takes a worker's CPU for each).
    const Clock::time_point start = Clock::now();
    cookies_.resize(kStreams + 2);
    auto login = [&](size_t from) {
      Api api(syncd_->url(), pin_);
      for (size_t i = from; i < cookies_.size(); i += 2) cookies_[i] = api.Login();
    };
    std::thread other(login, 1);
    login(0);
    other.join();
    std::printf("logins: %zu sessions in %.1f s\n", cookies_.size(),
                std::chrono::duration<double>(Clock::now() - start).count());
    Api api(syncd_->url(), pin_);
    api.UseSession(cookies_.back());
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // past the overview's cache
    v1::Overview overview = GetOverview(api);
    for (const v1::FormCoverage& f : overview.forms()) {
      const v1::CoverageRow& n = f.nation();
      std::printf(
          "coverage after prefill, %-8s: %llu stations, %.0f %% complete, %.0f %% partial, "
          "%.0f %% conflict, %.0f %% missing\n",
          f.form_id().c_str(), static_cast<unsigned long long>(n.stations()), n.complete_pct(),
          n.partial_pct(), n.conflict_pct(), n.missing_pct());
    }
  }
  IdleQueries();
  std::fflush(stdout);
  std::vector<Round> rounds;
  for (int r = 1; r <= o_.rounds; ++r) {
    rounds.push_back(RunRound(r));
    Print(r, rounds.back());
  }
  Summary(rounds);
  syncd_.reset();
  std::printf("run took %.0f s; load average at the end %s\n",
              std::chrono::duration<double>(Clock::now() - run_start).count(),
              vigil::bench::LoadAverage().c_str());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr,
                 "usage: dashboard_bench SYNCD FORMS_DIR WORK_DIR [--quick] [--rounds N] "
                 "[--seconds S]\n");
    return 2;
  }
  Options o{argv[1], argv[2], fs::absolute(argv[3])};
  for (int i = 4; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick") {
      o.rounds = 2;
      o.seconds = 5;
    } else if (arg == "--rounds" && i + 1 < argc) {
      o.rounds = static_cast<int>(std::clamp(std::strtol(argv[++i], nullptr, 10), 1L, 20L));
    } else if (arg == "--seconds" && i + 1 < argc) {
      o.seconds = std::clamp(std::strtod(argv[++i], nullptr), 1.0, 120.0);
    } else {
      std::fprintf(stderr, "dashboard_bench: unknown argument %s\n", arg.c_str());
      return 2;
    }
  }
  fs::create_directories(o.work);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  Bench(o).Run();
  return 0;
}

// Idle-connection benchmark: does a legitimate device keep its push latency while thousands
// of hostile clients hold TLS connections open to syncd?
//
// One syncd over HTTPS on 127.0.0.1, one device enrolled for real pushing pre-signed batches
// of closing checklists at a steady pace over its keep-alive connection (bench/ingest_load.h's
// Pusher). In each of 3 rounds (2 with --quick): a phase with the server otherwise idle, then
// the same while N idle clients (5,000 by default) hold TLS connections from the address range
// 127.0.0.2 … 127.0.0.(1+K); the clients close between rounds.
//
// What a hostile idler realistically does: syncd closes a connection that has not sent a
// whole request within --read-timeout (30 s) after its handshake or its last answer, so
// holding one open costs the client a small request every < 30 s. Each idle client here
// completes the TLS handshake, then sends `GET /healthz` on its keep-alive connection at a
// random moment and every 20 s after (--ping S), and reconnects if syncd closes it.
//
// Printed: the machine, median and p99 push latency in both phases and their ratio (target
// p99 ratio ≤ 2), the connections syncd holds (its own gauge), and syncd's resident memory
// (VmRSS and peak VmHWM from /proc, target < 1 GiB). Bounded: every phase has a fixed
// length, opening the connections gives up after 120 s, their closing is awaited 30 s.
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>  // Before Asio: Boost 1.74 uses std::exchange without including it.
#include <vector>

#include "ingest_load.h"
#include "machine.h"

namespace {

namespace fs = std::filesystem;
namespace net = boost::asio;
namespace ssl = net::ssl;
namespace v1 = vigil::v1;
using tcp = net::ip::tcp;
using vigil::bench::Clock;
using vigil::bench::Device;
using vigil::bench::Die;

// IP_BIND_ADDRESS_NO_PORT from <linux/in.h>, which clashes with glibc's <netinet/in.h>.
constexpr int kBindAddressNoPort = 24;

// A line of /proc/PID/status in MiB ("VmRSS", "VmHWM"); 0 when absent.
double StatusMiB(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) / 1024;
  }
  return 0;
}

// ----- the idle clients

class IdleFleet;

// One idle client: connect from its source address, TLS handshake, then a GET /healthz now
// and then; reconnects when the connection ends, until the fleet stops.
class IdleClient : public std::enable_shared_from_this<IdleClient> {
 public:
  IdleClient(IdleFleet& fleet, const net::ip::address_v4& source);
  void Start();

 private:
  void OnConnect(const boost::system::error_code& ec);
  void OnHandshake(const boost::system::error_code& ec);
  void SchedulePing(Clock::duration after);
  void OnPinged(const boost::system::error_code& ec);
  void ReadAnswer();
  void Lost(bool was_open);

  IdleFleet& fleet_;
  net::ip::address_v4 source_;
  std::unique_ptr<ssl::stream<tcp::socket>> stream_;
  net::steady_timer timer_;
  std::string answer_;
};

// Holds `count` idle TLS connections to 127.0.0.1:`port`, spread over `addresses` source
// addresses, on one thread of its own. At most kOpening connects and handshakes at a time.
class IdleFleet {
 public:
  IdleFleet(uint16_t port, int count, int addresses, std::chrono::seconds ping)
      : port_(port), count_(count), addresses_(addresses), ping_(ping), tls_(ssl::context::tls) {
    // The server's key is not checked: it is our own syncd on loopback, and checking costs
    // nothing the server sees.
    tls_.set_verify_mode(ssl::verify_none);
    SSL_CTX_set_mode(tls_.native_handle(), SSL_MODE_RELEASE_BUFFERS);
  }

  void Start() {
    net::post(ioc_, [this] { Launch(); });
    thread_ = std::thread([this] { ioc_.run(); });
  }
  void Stop() {
    stopping_ = true;
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
  }

  int open() const { return open_.load(); }
  uint64_t failures() const { return failures_.load(); }
  uint64_t pings() const { return pings_.load(); }

 private:
  friend class IdleClient;
  static constexpr int kOpening = 64;
  static constexpr uint64_t kRetries = 10000;  // Failed opens replaced, in all.

  // Starts clients while fewer than kOpening are opening and fewer than count_ exist.
  void Launch() {
    while (opening_ < kOpening && started_ < count_) {
      const int i = started_++;
      // 127.0.0.2, 127.0.0.3, …: loopback answers every 127.0.0.0/8 address on Linux.
      net::ip::address_v4 source(0x7f000002u + static_cast<uint32_t>(i % addresses_));
      ++opening_;
      std::make_shared<IdleClient>(*this, source)->Start();
    }
  }
  // A client's connect and handshake ended (open or not).
  void Opened(bool ok) {
    --opening_;
    if (ok) {
      ++open_;
    } else if (++failures_ <= kRetries) {
      --started_;  // Launch starts another in its place.
    }
    Launch();
  }
  Clock::duration FirstPing() {
    std::uniform_int_distribution<int64_t> spread(0, ping_.count() * 1000);
    return std::chrono::milliseconds(spread(random_));
  }

  const uint16_t port_;
  const int count_;
  const int addresses_;
  const std::chrono::seconds ping_;
  net::io_context ioc_{1};
  ssl::context tls_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mt19937_64 random_{42};
  int started_ = 0;
  int opening_ = 0;
  std::atomic<int> open_{0};
  std::atomic<uint64_t> failures_{0};
  std::atomic<uint64_t> pings_{0};
};

IdleClient::IdleClient(IdleFleet& fleet, const net::ip::address_v4& source)
    : fleet_(fleet), source_(source), timer_(fleet.ioc_) {}

void IdleClient::Start() {
  stream_ = std::make_unique<ssl::stream<tcp::socket>>(fleet_.ioc_, fleet_.tls_);
  tcp::socket& socket = stream_->next_layer();
  boost::system::error_code ec;
  socket.open(tcp::v4(), ec);
  // The kernel picks the port at connect time, per (source, destination): no shortage of
  // ports with many connections from one source address.
  int yes = 1;
  if (!ec)
    setsockopt(socket.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &yes, sizeof yes);
  if (!ec) socket.bind(tcp::endpoint(source_, 0), ec);
  if (ec) return OnConnect(ec);
  socket.async_connect(
      tcp::endpoint(net::ip::address_v4::loopback(), fleet_.port_),
      [self = shared_from_this()](const boost::system::error_code& e) { self->OnConnect(e); });
}

void IdleClient::OnConnect(const boost::system::error_code& ec) {
  if (ec) return fleet_.Opened(false);
  stream_->async_handshake(
      ssl::stream_base::client,
      [self = shared_from_this()](const boost::system::error_code& e) { self->OnHandshake(e); });
}

void IdleClient::OnHandshake(const boost::system::error_code& ec) {
  fleet_.Opened(!ec);
  if (ec) return;
  SchedulePing(fleet_.FirstPing());
}

void IdleClient::SchedulePing(Clock::duration after) {
  timer_.expires_after(after);
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->fleet_.stopping_) return;
    static const std::string kPing = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    net::async_write(*self->stream_, net::buffer(kPing),
                     [self](const boost::system::error_code& e, size_t) { self->OnPinged(e); });
  });
}

void IdleClient::OnPinged(const boost::system::error_code& ec) {
  if (ec) return Lost(true);
  answer_.clear();
  ReadAnswer();
}

// Reads until the answer "…\r\n\r\nok\n" is complete (the health answer is that short).
void IdleClient::ReadAnswer() {
  net::async_read_until(*stream_, net::dynamic_buffer(answer_), "ok\n",
                        [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                          if (ec) return self->Lost(true);
                          ++self->fleet_.pings_;
                          self->SchedulePing(self->fleet_.ping_);
                        });
}

// The connection ended: count it and open another (as a hostile client would).
void IdleClient::Lost(bool was_open) {
  if (fleet_.stopping_) return;
  if (was_open) --fleet_.open_;
  ++fleet_.opening_;  // Until the new connection is open (IdleFleet::Opened).
  Start();
}

// ----- phases

struct Phase {
  std::vector<double> latencies_ms;
  uint64_t errors = 0;
  double rss_mib = 0;
};

Phase Push(vigil::bench::Pusher& pusher, pid_t syncd, double seconds, double checklists_per_s) {
  vigil::bench::PushOptions options;
  options.seconds = seconds;
  options.offered_per_s = checklists_per_s;
  options.turns_after_stop = false;
  vigil::bench::PushResult result = pusher.Run(options, syncd);
  Phase phase;
  phase.latencies_ms = std::move(result.latencies_ms);
  phase.errors = result.errors;
  phase.rss_mib = StatusMiB(syncd, "VmRSS");
  return phase;
}

// syncd's own count of open connections (GET /metrics), or -1.
long long OpenConnections(const std::string& url, const std::string& pin) {
  CURL* h = vigil::bench::NewHandle(pin);
  std::string body;
  const std::string metrics = url + "/metrics";
  curl_easy_setopt(h, CURLOPT_URL, metrics.c_str());
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  const CURLcode rc = curl_easy_perform(h);
  curl_easy_cleanup(h);
  const std::string name = "\nsyncd_open_connections ";
  size_t at = body.find(name);
  if (rc != CURLE_OK || at == std::string::npos) return -1;
  return std::stoll(body.substr(at + name.size()));
}

struct Flags {
  bool quick = false;
  int connections = 5000;
  int addresses = 10;
  int ping_s = 20;
  double seconds = 20;
  int rounds = 3;
  double pushes_per_s = 20;
  int batch = 10;
};

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 4; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> double {
      if (i + 1 >= argc) Die(arg + " wants a value");
      return std::stod(argv[++i]);
    };
    if (arg == "--quick") {
      f.quick = true;
      f.seconds = 8;
      f.rounds = 2;
    } else if (arg == "--connections") {
      f.connections = static_cast<int>(value());
    } else if (arg == "--addresses") {
      f.addresses = static_cast<int>(value());
    } else if (arg == "--ping") {
      f.ping_s = static_cast<int>(value());
    } else if (arg == "--seconds") {
      f.seconds = value();
    } else if (arg == "--rounds") {
      f.rounds = static_cast<int>(value());
    } else {
      Die("unknown flag " + arg);
    }
  }
  if (f.connections < 0 || f.connections > 100000 || f.addresses < 1 || f.addresses > 250 ||
      f.ping_s < 1 || f.ping_s > 29 || f.seconds <= 0 || f.seconds > 300 || f.rounds < 1 ||
      f.rounds > 10) {
    Die("flags out of range");
  }
  return f;
}

void RaiseOwnFileLimit(int needed) {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < static_cast<rlim_t>(needed) + 100) {
    Die("the open files limit (" + std::to_string(limit.rlim_cur) + ") is too low for " +
        std::to_string(needed) + " connections");
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr,
                 "usage: idle_bench SYNCD FORMS_DIR WORK_DIR [--quick] [--connections N] "
                 "[--addresses K] [--ping S] [--seconds S] [--rounds N]\n");
    return 2;
  }
  const Flags flags = ParseFlags(argc, argv);
  const std::string syncd = argv[1];
  const fs::path forms = argv[2];
  const fs::path work = fs::absolute(argv[3]);
  RaiseOwnFileLimit(flags.connections);
  std::printf(
      "idle-connection benchmark: %s, %ld cores, load %s; syncd and the clients share "
      "this machine\n",
      vigil::bench::CpuModel().c_str(), sysconf(_SC_NPROCESSORS_ONLN),
      vigil::bench::LoadAverage().c_str());
  std::printf(
      "one device pushing %.0f batches of %d closing checklists per second, %.0f s per "
      "phase, %d rounds; %d idle TLS clients from 127.0.0.2-127.0.0.%d, a GET /healthz every %d "
      "s\n",
      flags.pushes_per_s, flags.batch, flags.seconds, flags.rounds, flags.connections,
      1 + flags.addresses, flags.ping_s);
  std::fflush(stdout);

  const fs::path data = work / "idle" / "data";
  fs::create_directories(data.parent_path());
  const std::string station = "01-01-01-0001";
  v1::Station s;
  s.set_code(station);
  s.set_name("Station 1");
  s.set_province("P1");
  s.set_district("D1");
  s.set_commune("C1");
  s.set_registered_voters(600);
  const std::vector<vigil::bench::ObserverPlan> observers = {{"obs-1", {station}}};
  vigil::bench::SetUpDataDir(syncd, data, "bench-server", {s}, observers, {forms / "closing.json"});
  const vigil::protocol::Form form = vigil::bench::LoadForm(forms / "closing.json");

  vigil::bench::Syncd server(syncd, data);
  std::string pin;
  std::vector<Device> fleet = vigil::bench::EnrollFleet(syncd, data, server.url(), observers, &pin);
  const size_t batches =
      static_cast<size_t>(flags.pushes_per_s * flags.seconds * 2 * flags.rounds) + 10;
  vigil::bench::AppendChecklistBatches(fleet[0], form, batches, flags.batch, "bench-server");
  vigil::bench::Pusher pusher(fleet, server.url(), pin);
  const double checklists_per_s = flags.pushes_per_s * flags.batch;
  const double rss_start = StatusMiB(server.pid(), "VmRSS");
  const uint16_t port =
      static_cast<uint16_t>(std::stoi(server.url().substr(server.url().rfind(':') + 1)));

  // Rounds of (idle phase, loaded phase), so that the machine's noise falls on both alike;
  // the idle clients are closed between rounds and syncd given time to see them go.
  std::vector<double> all_idle, all_loaded, round_ratios;
  uint64_t errors = 0;
  double rss_loaded = 0;
  for (int round = 1; round <= flags.rounds; ++round) {
    Phase idle = Push(pusher, server.pid(), flags.seconds, checklists_per_s);
    IdleFleet idlers(port, flags.connections, flags.addresses, std::chrono::seconds(flags.ping_s));
    const auto opening = Clock::now();
    idlers.Start();
    const auto give_up = opening + std::chrono::seconds(120);
    while (idlers.open() < flags.connections && Clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a condition
    }
    const double open_s = std::chrono::duration<double>(Clock::now() - opening).count();
    const int opened = idlers.open();
    const long long held_before = OpenConnections(server.url(), pin);
    Phase loaded = Push(pusher, server.pid(), flags.seconds, checklists_per_s);
    const long long held_after = OpenConnections(server.url(), pin);
    const uint64_t pings = idlers.pings();
    const uint64_t failures = idlers.failures();
    idlers.Stop();
    rss_loaded = std::max(rss_loaded, loaded.rss_mib);
    const double idle_p99 = vigil::bench::Percentile(idle.latencies_ms, 0.99);
    const double loaded_p99 = vigil::bench::Percentile(loaded.latencies_ms, 0.99);
    const double ratio = idle_p99 > 0 ? loaded_p99 / idle_p99 : 0;
    round_ratios.push_back(ratio);
    std::printf(
        "round %d: opened %d of %d in %.1f s (%llu failed attempts); syncd holds %lld "
        "and %lld; %llu pings; p50 %.1f -> %.1f ms, p99 %.1f -> %.1f ms (ratio %.2f); "
        "RSS %.0f MiB\n",
        round, opened, flags.connections, open_s, static_cast<unsigned long long>(failures),
        held_before, held_after, static_cast<unsigned long long>(pings),
        vigil::bench::Median(idle.latencies_ms), vigil::bench::Median(loaded.latencies_ms),
        idle_p99, loaded_p99, ratio, loaded.rss_mib);
    std::fflush(stdout);
    all_idle.insert(all_idle.end(), idle.latencies_ms.begin(), idle.latencies_ms.end());
    all_loaded.insert(all_loaded.end(), loaded.latencies_ms.begin(), loaded.latencies_ms.end());
    errors += idle.errors + loaded.errors;
    if (opened < flags.connections) Die("not every idle connection opened");
    const auto gone_by = Clock::now() + std::chrono::seconds(30);
    while (OpenConnections(server.url(), pin) > 2 && Clock::now() < gone_by) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // polling a condition
    }
  }
  const double rss_peak = StatusMiB(server.pid(), "VmHWM");

  const double idle_p50 = vigil::bench::Median(all_idle);
  const double idle_p99 = vigil::bench::Percentile(all_idle, 0.99);
  const double loaded_p50 = vigil::bench::Median(all_loaded);
  const double loaded_p99 = vigil::bench::Percentile(all_loaded, 0.99);
  std::printf("all rounds together:\n");
  std::printf("%-34s %7s %9s %9s\n", "phase", "pushes", "p50 ms", "p99 ms");
  std::printf("%-34s %7zu %9.1f %9.1f\n", "idle server", all_idle.size(), idle_p50, idle_p99);
  std::printf("%-34s %7zu %9.1f %9.1f\n",
              ("under " + std::to_string(flags.connections) + " idle connections").c_str(),
              all_loaded.size(), loaded_p50, loaded_p99);
  const double ratio = idle_p99 > 0 ? loaded_p99 / idle_p99 : 0;
  std::printf(
      "p99 ratio loaded / idle: %.2f (target <= 2), median of the rounds' ratios %.2f; "
      "p50 ratio %.2f; %llu push errors\n",
      ratio, vigil::bench::Median(round_ratios), idle_p50 > 0 ? loaded_p50 / idle_p50 : 0,
      static_cast<unsigned long long>(errors));
  std::printf(
      "syncd resident memory: %.0f MiB at start, %.0f MiB holding the connections "
      "(largest of the rounds), peak %.0f MiB (target < 1024)\n",
      rss_start, rss_loaded, rss_peak);
  std::printf(
      "idle connections=%d rounds=%d p99_idle_ms=%.1f p99_loaded_ms=%.1f p99_ratio=%.2f "
      "rss_mib=%.0f peak_rss_mib=%.0f\n",
      flags.connections, flags.rounds, idle_p99, loaded_p99, ratio, rss_loaded, rss_peak);
  return 0;
}

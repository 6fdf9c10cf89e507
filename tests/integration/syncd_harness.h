// A real syncd for client tests: its data dir, admin commands, and a serve process on a
// port the OS picks (restartable on the same port after a SIGKILL).
#pragma once

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace vigil::testing {

// A temporary folder, removed with its content.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "vigil-it-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string path() const { return path_.string(); }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs a shell command; returns its exit code and stdout.
inline int Shell(const std::string& command, std::string* out = nullptr) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string text;
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) text.append(buf, n);
  int status = pclose(pipe);
  if (out != nullptr) *out = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A syncd data dir with one station and observer, the sample forms published, and a serve
// process. Stopped with SIGKILL on destruction (tests also kill it on purpose).
class Syncd {
 public:
  static constexpr const char* kServerId = "it-server";
  static constexpr const char* kStation = "12-03-07-0452";

  // Initializes the data dir: server id, two stations, observers obs1 and obs2 (both at
  // kStation), and every sample form published.
  explicit Syncd(const std::string& forms_dir) : data_(dir_ / "data") {
    std::string out;
    int rc = Shell(std::string(SYNCD_PATH) + " init --data " + data_ + " --server-id " + kServerId,
                   &out);
    REQUIRE_MESSAGE(rc == 0, out);
    std::ofstream(dir_ / "stations.csv")
        << "code,name,province,district,commune,registered_voters\n"
        << kStation << ",Wat Phnom School,Phnom Penh,Daun Penh,Wat Phnom,700\n"
        << "12-03-07-0453,Wat Phnom Pagoda,Phnom Penh,Daun Penh,Wat Phnom,650\n";
    Admin("stations import " + (dir_ / "stations.csv"));
    std::string files;
    for (const char* form : {"opening", "voting", "closing", "incident"}) {
      files += " " + forms_dir + "/" + form + ".json";
    }
    Admin("forms publish" + files);  // several files in one command
    Admin("observers add obs1 --name Sokha --stations " + std::string(kStation));
    Admin("observers add obs2 --name Dara --stations " + std::string(kStation));
  }

  ~Syncd() { Kill(); }

  // Runs `syncd admin ARGS --data DIR` and returns its output; a non-zero exit fails the test.
  std::string Admin(const std::string& args) {
    std::string out;
    std::string cmd = std::string(SYNCD_PATH) + " admin --data " + data_ + " " + args;
    int rc = Shell(cmd, &out);
    REQUIRE_MESSAGE(rc == 0, cmd << "\n" << out);
    return out;
  }

  // Starts serving on `port` (0: a free port the OS picks) and waits for the ready file.
  void Serve(int port = 0) {
    std::string ready = dir_ / "ready";
    std::filesystem::remove(ready);
    std::string log = dir_ / "syncd.log";
    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      if (freopen(log.c_str(), "a", stderr) == nullptr) _exit(126);
      std::string listen = "127.0.0.1:" + std::to_string(port);
      execl(SYNCD_PATH, SYNCD_PATH, "serve", "--data", data_.c_str(), "--listen", listen.c_str(),
            "--ready-file", ready.c_str(), "--rate", "0", nullptr);
      _exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!std::filesystem::exists(ready) || std::filesystem::file_size(ready) == 0) {
      int status = 0;
      REQUIRE_MESSAGE(waitpid(pid_, &status, WNOHANG) != pid_, "syncd exited early:\n"
                                                                   << ReadAll(log));
      REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline, "syncd not ready in 30 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polls the ready file
    }
    url_ = ReadAll(ready);
    while (!url_.empty() && (url_.back() == '\n' || url_.back() == '\r')) url_.pop_back();
    port_ = std::stoi(url_.substr(url_.rfind(':') + 1));
  }

  // Stops the server with SIGKILL: no clean shutdown, no flush.
  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  // A one-time enrollment payload for `observer` that points at the running server.
  std::string EnrollCode(const std::string& observer, const std::string& expires = "1h") {
    std::string out = Admin("enroll-code --observer " + observer + " --expires " + expires +
                            " --server-url " + url_);
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out.substr(out.rfind('\n') + 1);
  }

  const std::string& url() const { return url_; }
  int port() const { return port_; }
  std::string ca_file() const { return data_ + "/tls/cert.pem"; }
  std::string path(const std::string& name) const { return dir_ / name; }
  std::string data_path(const std::string& name) const { return data_ + "/" + name; }
  const std::string& data() const { return data_; }

 private:
  TempDir dir_;
  std::string data_;
  pid_t pid_ = -1;
  std::string url_;
  int port_ = 0;
};

}  // namespace vigil::testing

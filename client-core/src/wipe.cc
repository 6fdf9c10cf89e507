// Client::Wipe: destroying a store at once (docs/embedding.md, "Wiping a device").
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <vector>

#include "client_state.h"
#include "vigil/client/client.h"

namespace vigil::client {
namespace {

// The current errno as text (thread-safe, unlike strerror).
std::string ErrnoText() { return std::generic_category().message(errno); }

// Overwrites the whole file with zeros and flushes it; Ok when it does not exist.
Status Overwrite(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::Ok();
    return Status::Internal("cannot open " + path + " to wipe it: " + ErrnoText());
  }
  struct stat st {};
  Status result;
  if (::fstat(fd, &st) != 0) {
    result = Status::Internal("cannot stat " + path + ": " + ErrnoText());
  } else {
    const std::vector<char> zeros(64 * 1024, 0);
    auto left = static_cast<uint64_t>(st.st_size);
    while (left > 0 && result.ok()) {
      const size_t n = left < zeros.size() ? static_cast<size_t>(left) : zeros.size();
      const ssize_t w = ::write(fd, zeros.data(), n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        result = Status::Internal("cannot overwrite " + path + ": " + ErrnoText());
      } else {
        left -= static_cast<uint64_t>(w);
      }
    }
    if (result.ok() && ::fsync(fd) != 0) {
      result = Status::Internal("cannot flush " + path + ": " + ErrnoText());
    }
  }
  ::close(fd);
  return result;
}

}  // namespace

Status Client::Wipe(const std::string& home) {
  const std::string db = StorePath(home);
  // The main file first: it holds the wrapped data key and the sealed device key (the WAL may
  // hold newer copies of the same pages, so it follows at once).
  const std::vector<std::string> files = {db, db + "-wal", db + "-journal", db + "-shm"};
  Status first_failure;
  for (const std::string& f : files) {
    Status s = Overwrite(f);
    if (!s.ok() && first_failure.ok()) first_failure = s;
  }
  for (const std::string& f : files) {
    if (::unlink(f.c_str()) != 0 && errno != ENOENT && first_failure.ok()) {
      first_failure = Status::Internal("cannot remove " + f + ": " + ErrnoText());
    }
  }
  // The removals reach the disk too.
  const int dir = ::open(home.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    (void)::fsync(dir);
    ::close(dir);
  }
  return first_failure;
}

}  // namespace vigil::client

#include "http/connection_limits.h"

#include <sys/resource.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <utility>  // Before Asio: Boost 1.74 uses std::exchange without including it.

namespace vigil::syncd {

std::string ConnectionCapKey(const std::string& address) {
  namespace ip = boost::asio::ip;
  boost::system::error_code ec;
  ip::address parsed = ip::make_address(address, ec);
  if (ec || parsed.is_v4()) return address;
  ip::address_v6 v6 = parsed.to_v6();
  if (v6.is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, v6).to_string();
  ip::address_v6::bytes_type bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return ip::address_v6(bytes).to_string() + "/64";
}

uint64_t RaiseOpenFilesLimit(std::string* log_line) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    *log_line = "syncd: the open files limit cannot be read; assuming 1024";
    return 1024;
  }
  const rlim_t before = limit.rlim_cur;
  // Linux refuses more than fs.nr_open (2^20 by default) even when the hard limit is infinite.
  const rlim_t ceiling = limit.rlim_max == RLIM_INFINITY ? rlim_t{1} << 20 : limit.rlim_max;
  if (before == RLIM_INFINITY) {
    *log_line = "syncd: open files limit unlimited";
    return ceiling;
  }
  if (before < ceiling) {
    limit.rlim_cur = ceiling;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) limit.rlim_cur = before;
  }
  *log_line = "syncd: open files limit " + std::to_string(limit.rlim_cur) +
              (limit.rlim_cur > before ? " (raised from " + std::to_string(before) + ")"
                                       : " (the hard limit)");
  return limit.rlim_cur;
}

size_t ConnectionCap(size_t wanted, uint64_t open_files, std::string* log_line) {
  constexpr uint64_t kReserved = 256;
  const uint64_t room = open_files > 2 * kReserved ? open_files - kReserved : open_files / 2;
  log_line->clear();
  if (wanted <= room) return wanted;
  *log_line = "syncd: --max-connections " + std::to_string(wanted) + " lowered to " +
              std::to_string(room) + ": the open files limit is " + std::to_string(open_files) +
              " (raise the hard limit, ulimit -Hn, to allow more)";
  return static_cast<size_t>(room);
}

}  // namespace vigil::syncd

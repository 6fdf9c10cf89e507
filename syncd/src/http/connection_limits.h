// What bounds the connections syncd holds (docs/protocol.md §2, docs/operations.md §5): the
// process's open-files limit, and the key the per-address cap counts connections by.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace vigil::syncd {

// What --max-connections-per-address counts connections by: an IPv4 address as it is (an
// IPv4-mapped IPv6 address as IPv4), an IPv6 address by its /64 prefix ("2001:db8:1:2::/64"),
// since one IPv6 client commonly holds a whole /64. `address` is an IP literal; anything else
// is returned unchanged.
std::string ConnectionCapKey(const std::string& address);

// Raises the process's soft limit on open files to the hard limit (every connection is a
// descriptor) and returns the limit in force; sets *log_line to a line saying so.
uint64_t RaiseOpenFilesLimit(std::string* log_line);

// `wanted` connections, lowered to what `open_files` descriptors allow beside the few hundred
// the store, its readers, the log and the listener need. Sets *log_line when it lowers, else
// clears it.
size_t ConnectionCap(size_t wanted, uint64_t open_files, std::string* log_line);

}  // namespace vigil::syncd

#include "address_leases.hpp"

#include "atomic_file.hpp"

#include <hutch/error.hpp>

#include <algorithm>
#include <fstream>
#include <set>

namespace hutch::egress {
namespace fs = std::filesystem;

AddressLeases::AddressLeases(fs::path dir, Ipv4Cidr subnet) : dir_(std::move(dir)), subnet_(subnet) {
  std::error_code error;
  fs::create_directories(dir_, error);
  if (error) throw Error(Errc::io, "cannot create the address lease directory '" + dir_.string() + "': " + error.message());
}

std::vector<Lease> AddressLeases::all() const {
  std::vector<Lease> out;
  std::error_code error;
  for (fs::directory_iterator it(dir_, error), end; !error && it != end; it.increment(error)) {
    const auto address = parse_ipv4(it->path().filename().string());
    if (!address) continue;  // the lock file, a temporary file of write_file_atomic
    std::string id;
    std::getline(std::ifstream(it->path()), id);
    out.push_back({*address, id});
  }
  if (error) throw Error(Errc::io, "cannot list the address leases in '" + dir_.string() + "': " + error.message());
  std::sort(out.begin(), out.end(), [](const Lease& a, const Lease& b) { return a.address < b.address; });
  return out;
}

std::optional<std::uint32_t> AddressLeases::find(const std::string& sandbox_id) const {
  for (const auto& lease : all())
    if (lease.sandbox_id == sandbox_id) return lease.address;
  return std::nullopt;
}

Allocation AddressLeases::allocate(const std::string& sandbox_id) {
  std::set<std::uint32_t> taken;
  std::optional<std::uint32_t> held;
  for (const auto& lease : all()) {
    if (lease.sandbox_id == sandbox_id)
      held = lease.address;
    else
      taken.insert(lease.address);
  }
  if (held) return {*held, false, taken.size()};
  for (std::uint32_t candidate = gateway() + 1; candidate < subnet_.broadcast(); ++candidate) {
    if (taken.count(candidate) != 0) continue;
    // A lease names a veth pair and nft rules, which a reboot removes with the sandbox.
    write_file_atomic(dir_ / format_ipv4(candidate), sandbox_id + "\n", 0600, std::nullopt, Durability::process_crash);
    return {candidate, true, taken.size()};
  }
  throw Error(Errc::state, "sandbox " + sandbox_id + ": every address of the bridge subnet " + format_cidr(subnet_) +
                               " is taken (a larger subnet in the backend's configuration, or prune)");
}

void AddressLeases::release(const std::string& sandbox_id) noexcept {
  try {
    for (const auto& lease : all())
      if (lease.sandbox_id == sandbox_id) {
        std::error_code ignored;
        fs::remove(dir_ / format_ipv4(lease.address), ignored);
      }
  } catch (...) {
    // An unreadable directory: prune tries again.
  }
}

}  // namespace hutch::egress

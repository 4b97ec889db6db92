// Which sandbox holds which address of the bridge subnet, on disk so that every hutch process
// on the same state dir agrees and a crashed one leaks nothing for long.
//
// One file per address in `dir`, named after it ("10.213.0.2"), holding the sandbox id. The
// first address of the subnet is its network, the second the bridge's (the sandboxes'
// gateway), the last the broadcast: sandboxes get the ones between. The caller serializes
// every change with the lock file (lock_path()); see BridgeNetwork, which holds it while it
// changes leases and the kernel objects that go with them.
#pragma once

#include "ipv4.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace hutch::egress {

struct Lease {
  std::uint32_t address = 0;
  std::string sandbox_id;
};

// What AddressLeases::allocate found and did, from one reading of the directory.
struct Allocation {
  std::uint32_t address = 0;
  bool fresh = false;        // taken by this call: the sandbox held no address before
  std::size_t others = 0;    // the leases of other sandboxes
};

class AddressLeases {
 public:
  AddressLeases(std::filesystem::path dir, Ipv4Cidr subnet);

  std::filesystem::path lock_path() const { return dir_ / ".lock"; }
  // The bridge's own address: the subnet's first host address.
  std::uint32_t gateway() const { return subnet_.network() + 1; }
  const Ipv4Cidr& subnet() const { return subnet_; }

  // The address `sandbox_id` holds, taking the lowest free one if it holds none. Errc::state
  // when every address is taken; Errc::io when the directory cannot be written.
  Allocation allocate(const std::string& sandbox_id);
  // The address `sandbox_id` holds, if any.
  std::optional<std::uint32_t> find(const std::string& sandbox_id) const;
  // Frees the address `sandbox_id` holds; nothing when it holds none. Never throws.
  void release(const std::string& sandbox_id) noexcept;
  // Every lease, lowest address first.
  std::vector<Lease> all() const;

 private:
  std::filesystem::path dir_;
  Ipv4Cidr subnet_;
};

}  // namespace hutch::egress

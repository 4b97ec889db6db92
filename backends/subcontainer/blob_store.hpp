// Content-addressed blobs (compressed layer tars) of pulled images, each stored once by its
// digest and shared by every image that has it:
//   <root>/sha256/<hex>          a verified blob, never changed once renamed into place
//   <root>/sha256/<hex>.lock     held while the blob is being fetched
//   <root>/sha256/<hex>.tmp-*    a download in progress (or interrupted): never trusted
//   <root>/.pulls.lock           shared by every pull, exclusive while prune removes blobs
// Two processes that want one blob at once take turns on its lock; the second finds it stored
// and downloads nothing. A download lands under a temporary name and is renamed only after
// the fetcher verified it, so an interrupted pull leaves nothing a later one would use.
#pragma once

#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "egress_names.hpp"
#include "file_lock.hpp"

namespace hutch::subcontainer {

class BlobStore {
 public:
  explicit BlobStore(std::filesystem::path root);

  // Where `digest` ("sha256:<hex>") is, or would be, stored. Errc::invalid_argument for a
  // malformed digest.
  std::filesystem::path path_of(const std::string& digest) const;
  bool contains(const std::string& digest) const;

  // Writes the blob into the file it is given and verifies it; throws when it cannot.
  using Fetch = std::function<void(const std::filesystem::path& temporary)>;

  // The stored blob, fetched first under the blob's lock when it is not there. Returns true
  // when this call fetched it. Leftover temporaries of the blob are removed under the lock.
  bool ensure(const std::string& digest, const Fetch& fetch);

  // Held by a pull from its first blob until its image is stored, so prune never removes a
  // blob a pull has found and is about to apply.
  FileLock pull_lock() const;

  // Removes every stored blob whose digest is not in `keep()` (asked once no pull runs) and
  // returns their digests. Does nothing (returns an empty list) while a pull runs: the blobs
  // it found are in no image yet.
  std::vector<std::string> remove_unreferenced(const std::function<std::set<std::string>()>& keep);

 private:
  std::filesystem::path root_;
};

}  // namespace hutch::subcontainer

// The blob store; layout and guarantees in blob_store.hpp.
#include "blob_store.hpp"

#include "content_digest.hpp"
#include "egress_names.hpp"
#include "file_lock.hpp"

#include <hutch/error.hpp>

#include <sys/random.h>

#include <cerrno>
#include <cstring>

namespace fs = std::filesystem;

namespace hutch::subcontainer {

BlobStore::BlobStore(fs::path root) : root_(std::move(root)) {}

fs::path BlobStore::path_of(const std::string& digest) const {
  if (!is_well_formed_digest(digest))
    throw Error(Errc::invalid_argument, "blob digest '" + digest + "' is not sha256:<64 hex> or sha512:<128 hex>");
  const auto colon = digest.find(':');
  return root_ / digest.substr(0, colon) / digest.substr(colon + 1);
}

bool BlobStore::contains(const std::string& digest) const {
  std::error_code ec;
  return fs::is_regular_file(path_of(digest), ec);
}

bool BlobStore::ensure(const std::string& digest, const Fetch& fetch) {
  const fs::path blob = path_of(digest);
  if (contains(digest)) return false;
  std::error_code ec;
  fs::create_directories(blob.parent_path(), ec);
  if (ec) throw Error(Errc::io, "cannot create the blob store '" + blob.parent_path().string() + "': " + ec.message());
  const FileLock lock(blob.string() + ".lock");
  if (contains(digest)) return false;  // another process fetched it while we waited
  // Whoever left these is gone: they held the lock while writing them.
  const std::string prefix = blob.filename().string() + ".tmp-";
  for (const auto& entry : fs::directory_iterator(blob.parent_path(), ec))
    if (entry.path().filename().string().starts_with(prefix)) fs::remove(entry.path(), ec);
  unsigned char random[6];
  if (::getrandom(random, sizeof random, 0) != static_cast<ssize_t>(sizeof random))
    throw_system_error("getrandom", errno);
  const fs::path temporary = blob.string() + ".tmp-" + to_hex(random, sizeof random);
  try {
    fetch(temporary);
  } catch (...) {
    fs::remove(temporary, ec);
    throw;
  }
  if (::rename(temporary.c_str(), blob.c_str()) != 0) {
    const int error = errno;
    fs::remove(temporary, ec);
    throw Error(Errc::io, "cannot move blob '" + temporary.string() + "' into place: " + std::strerror(error));
  }
  return true;
}

FileLock BlobStore::pull_lock() const {
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (ec) throw Error(Errc::io, "cannot create the blob store '" + root_.string() + "': " + ec.message());
  return FileLock::shared(root_ / ".pulls.lock");
}

std::vector<std::string> BlobStore::remove_unreferenced(const std::function<std::set<std::string>()>& keep_digests) {
  std::vector<std::string> removed;
  std::error_code ec;
  if (!fs::is_directory(root_, ec)) return removed;
  const std::optional<FileLock> no_pulls = FileLock::try_lock(root_ / ".pulls.lock");
  if (!no_pulls) return removed;
  const std::set<std::string> keep = keep_digests();
  for (const auto& algorithm : fs::directory_iterator(root_, ec)) {
    if (!algorithm.is_directory()) continue;
    for (const auto& entry : fs::directory_iterator(algorithm.path(), ec)) {
      const std::string digest = algorithm.path().filename().string() + ":" + entry.path().filename().string();
      if (!is_well_formed_digest(digest) || keep.contains(digest)) continue;  // locks, temporaries, kept blobs
      std::error_code remove_error;
      if (fs::remove(entry.path(), remove_error)) removed.push_back(digest);
      else if (remove_error)
        throw Error(Errc::io, "cannot remove the blob '" + entry.path().string() + "': " + remove_error.message());
    }
  }
  return removed;
}

}  // namespace hutch::subcontainer

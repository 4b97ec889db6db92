#include "tree_removal.hpp"

#include <hutch/error.hpp>

#include <system_error>

namespace hutch::subcontainer {
namespace fs = std::filesystem;
namespace {

void make_dirs_writable(const fs::path& path) {
  std::error_code error;
  if (!fs::is_directory(fs::symlink_status(path, error))) return;
  fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, error);
  for (fs::directory_iterator it(path, error), end; !error && it != end; it.increment(error))
    make_dirs_writable(it->path());
}

}  // namespace

void remove_tree(const fs::path& path) {
  std::error_code error;
  fs::remove_all(path, error);
  if (!error) return;
  make_dirs_writable(path);
  error.clear();
  fs::remove_all(path, error);
  if (error) throw Error(Errc::io, "cannot remove " + path.string() + ": " + error.message());
}

}  // namespace hutch::subcontainer

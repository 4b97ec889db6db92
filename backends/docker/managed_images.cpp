#include "managed_images.hpp"

#include "images.hpp"
#include "sandbox_dir.hpp"

#include <hutch/error.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace fs = std::filesystem;

namespace hutch::docker {
namespace {

fs::path record_file(const Context& context) {
  return (context.state_dir.empty() ? docker_state_dir(context.config) : context.state_dir) / "images";
}

}  // namespace

void record_managed_image(const Context& context, const std::string& reference) {
  auto [repository, tag] = split_image_reference(reference);
  const std::string id = tag.empty() ? repository : repository + ":" + tag;
  const fs::path file = record_file(context);
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw Error(Errc::io, "cannot open '" + file.string() + "': " + std::strerror(errno));
  const std::string line = id + "\n";
  const ssize_t written = ::write(fd, line.data(), line.size());
  const int error = errno;
  ::close(fd);
  if (written != static_cast<ssize_t>(line.size()))
    throw Error(Errc::io, "cannot record image " + id + " in '" + file.string() + "': " + std::strerror(error));
}

std::set<std::string> managed_image_names(const Context& context) {
  std::set<std::string> ids;
  std::ifstream in(record_file(context));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) ids.insert(line);
  return ids;
}

void forget_managed_images_except(const Context& context, const std::set<std::string>& still_present) {
  const fs::path file = record_file(context);
  std::string kept;
  for (const auto& id : managed_image_names(context))
    if (still_present.contains(id)) kept += id + "\n";
  const fs::path temporary = file.string() + ".tmp-" + random_hex(8);
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << kept;
    if (!out) throw Error(Errc::io, "cannot write '" + temporary.string() + "'");
  }
  std::error_code ec;
  fs::rename(temporary, file, ec);
  if (ec) {
    fs::remove(temporary, ec);
    throw Error(Errc::io, "cannot replace '" + file.string() + "'");
  }
}

}  // namespace hutch::docker

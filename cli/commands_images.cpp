// `hutch pull IMAGE`, `hutch images`, `hutch image inspect|rm|prune|import`: the images in
// the backend's store. pull shows its progress on stderr (pull_display.hpp) and prints the
// image id on stdout.
#include "command.hpp"
#include "output.hpp"
#include "pull_display.hpp"

#include <hutch/backend.hpp>
#include <hutch/error.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <memory>

namespace hutch::cli {

namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

std::string human_size(std::uint64_t bytes) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1000.0 && unit + 1 < std::size(units)) {
    value /= 1000.0;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", value, units[unit]);
  return text;
}

boost::json::array strings_json(const std::vector<std::string>& items) {
  boost::json::array out;
  for (const auto& item : items) out.emplace_back(item);
  return out;
}

boost::json::object image_json(const ImageInfo& image, bool details) {
  boost::json::object object{{"id", image.id},
                             {"names", strings_json(image.names)},
                             {"size", image.size},
                             {"used_by", strings_json(image.used_by)},
                             {"managed", image.managed}};
  if (image.created) object["created"] = format_time(*image.created);
  if (!details) return object;
  object["source"] = image.source;
  object["layers"] = strings_json(image.layers);
  boost::json::object env;
  for (const auto& [key, value] : image.config.env) env[key] = value;
  object["config"] = boost::json::object{{"entrypoint", strings_json(image.config.entrypoint)},
                                         {"cmd", strings_json(image.config.cmd)},
                                         {"env", std::move(env)},
                                         {"workdir", image.config.workdir},
                                         {"user", image.config.user}};
  return object;
}

int pull(Session& session, const std::string& image) {
  PullDisplay display(image, stderr, ::isatty(STDERR_FILENO) == 1);
  const std::string id = session.backend().pull_image(image, [&](const PullProgress& event) { display(event); });
  std::cout << id << "\n";
  return 0;
}

int list(Session& session) {
  const std::vector<ImageInfo> images = session.backend().images();
  if (session.options.json) {
    boost::json::array array;
    for (const ImageInfo& image : images) array.emplace_back(image_json(image, false));
    print_json(array);
    return 0;
  }
  std::vector<std::vector<std::string>> rows{{"NAME", "ID", "SIZE", "CREATED", "USED BY"}};
  for (const ImageInfo& image : images) {
    const std::string id = image.id.substr(image.id.starts_with("sha256:") ? 7 : 0, 12);
    rows.push_back({image.names.empty() ? "<none>" : joined(image.names), id, human_size(image.size),
                    image.created ? format_time(*image.created) : "-", image.used_by.empty() ? "-" : joined(image.used_by)});
  }
  print_table(rows);
  return 0;
}

int inspect(Session& session, const std::string& image) {
  print_json(image_json(session.backend().inspect_image(image), true));
  return 0;
}

int remove(Session& session, const std::vector<std::string>& images) {
  SandboxBackend& backend = session.backend();
  return remove_each(images, [&](const std::string& image) { backend.remove_image(image); });
}

int prune(Session& session) {
  for (const std::string& id : session.backend().prune_images()) std::cout << id << "\n";
  return 0;
}

int import(Session& session, const std::string& path, const std::string& name) {
  std::error_code ec;
  const std::filesystem::path absolute = std::filesystem::absolute(path, ec);
  if (ec) throw Error(Errc::invalid_argument, "image path '" + path + "': " + ec.message());
  std::cout << session.backend().import_image(absolute.lexically_normal().string(), name) << "\n";
  return 0;
}

}  // namespace

void register_images_commands(CLI::App& app, Session& session, CommandTable& table) {
  auto image = std::make_shared<std::string>();
  CLI::App* pull_command = app.add_subcommand("pull", "fetch an image from its registry into the backend's image store");
  pull_command->add_option("IMAGE", *image, "image name, e.g. 127.0.0.1:5000/app:1 or python:3.12-slim")->required();
  table.add(pull_command, [&session, image] { return pull(session, *image); });

  CLI::App* images_command = app.add_subcommand("images", "list the images in the backend's store and the sandboxes made from them");
  table.add(images_command, [&session] { return list(session); });

  CLI::App* image_command = app.add_subcommand("image", "images in the backend's store (inspect, rm, prune, import)");
  image_command->require_subcommand(1);
  CLI::App* inspect_command = image_command->add_subcommand("inspect", "print an image's names, layers and config as JSON");
  inspect_command->add_option("IMAGE", *image, "image name or id")->required();
  table.add(inspect_command, [&session, image] { return inspect(session, *image); });

  auto images = std::make_shared<std::vector<std::string>>();
  CLI::App* remove_command =
      image_command->add_subcommand("rm", "remove images or names (not while a sandbox is made from one); print them");
  remove_command->add_option("IMAGE", *images, "image names or ids")->required();
  table.add(remove_command, [&session, images] { return remove(session, *images); });

  CLI::App* prune_command = image_command->add_subcommand(
      "prune", "remove the images hutch pulled or imported that no sandbox uses (and their unused layers); print their ids");
  table.add(prune_command, [&session] { return prune(session); });

  auto path = std::make_shared<std::string>();
  auto name = std::make_shared<std::string>();
  CLI::App* import_command = image_command->add_subcommand(
      "import", "store an image archive (docker save, OCI layout, rootfs tar) or a rootfs directory under a name");
  import_command->add_option("PATH", *path, "archive file or rootfs directory")->required();
  import_command->add_option("--name", *name, "the image's name, e.g. app:1")->required();
  table.add(import_command, [&session, path, name] { return import(session, *path, *name); });
}

}  // namespace hutch::cli

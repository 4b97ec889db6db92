// `hutch pull IMAGE`: fetches an image from its registry into the backend's store, printing
// one plain line per step (the manifest, each layer) on stderr and the image id on stdout.
#include "command.hpp"

#include <hutch/backend.hpp>

#include <iostream>
#include <memory>

namespace hutch::cli {

namespace {

int pull(Session& session, const std::string& image) {
  const std::string id = session.backend().pull_image(image, [&](const std::string& line) {
    std::cerr << image << ": " << line << std::endl;
  });
  std::cout << id << "\n";
  return 0;
}

}  // namespace

void register_images_commands(CLI::App& app, Session& session, CommandTable& table) {
  auto image = std::make_shared<std::string>();
  CLI::App* pull_command = app.add_subcommand("pull", "fetch an image from its registry into the backend's image store");
  pull_command->add_option("IMAGE", *image, "image name, e.g. 127.0.0.1:5000/app:1 or python:3.12-slim")->required();
  table.add(pull_command, [&session, image] { return pull(session, *image); });
}

}  // namespace hutch::cli

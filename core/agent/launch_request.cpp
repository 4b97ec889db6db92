#include "launch_request.hpp"

#include "host_file.hpp"

#include <fstream>
#include <sstream>

namespace hutch::agent {
namespace {

constexpr const char* kRequestFile = "main.request";

}  // namespace

void save_launch_request(const std::filesystem::path& dir, const wire::ExecMessage& message,
                         const std::string& sandbox_id) {
  replace_host_file(dir / kRequestFile, wire::encode(message), sandbox_id);
}

std::optional<wire::ExecMessage> load_launch_request(const std::filesystem::path& dir) {
  std::ifstream in(dir / kRequestFile, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream payload;
  payload << in.rdbuf();
  wire::ExecMessage message;
  if (!wire::decode(payload.str(), message) || !message.launch) return std::nullopt;
  return message;
}

}  // namespace hutch::agent

// The main command's launch request, kept in the sandbox's host-only directory (beside the
// files of main_command_files.hpp) as `main.request`, so that Handle::start launches it again
// after a stop, with the same argv, env, cwd and user — from whichever process starts it.
#pragma once

#include "wire.hpp"

#include <filesystem>
#include <optional>
#include <string>

namespace hutch::agent {

// Replaces the saved request (atomically; mode 0600: it holds the command's environment).
// Errc::io naming the sandbox when it cannot be written.
void save_launch_request(const std::filesystem::path& dir, const wire::ExecMessage& message,
                         const std::string& sandbox_id);

// The saved request; nullopt when nothing was launched (or what is there does not decode).
std::optional<wire::ExecMessage> load_launch_request(const std::filesystem::path& dir);

}  // namespace hutch::agent

// The logger sbx uses and hands to plugins: spdlog, writing to stderr only (stdout carries
// nothing but the output a command asked for).
#pragma once

#include <sbx/export.hpp>

#include <memory>
#include <string>

namespace spdlog {
class logger;
}

namespace sbx {

// The process-wide "sbx" logger, created on first use (level "warn").
SBX_API std::shared_ptr<spdlog::logger> logger();
// Sets its level: trace, debug, info, warn, error, critical, off. Throws invalid_argument.
SBX_API void set_log_level(const std::string& level);

}  // namespace sbx

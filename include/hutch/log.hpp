// The logger hutch uses and hands to plugins: spdlog, writing to stderr only (stdout carries
// nothing but the output a command asked for). spdlog is compiled into each module from its
// headers (hutch::spdlog), so spdlog's own registry and default logger (spdlog::get,
// spdlog::info, spdlog::set_level) are one per module: log through this logger (or
// PluginContext::logger), never through those.
#pragma once

#include <hutch/export.hpp>

#include <memory>
#include <string>

namespace spdlog {
class logger;
}

namespace hutch {

// The process-wide "hutch" logger, created on first use (level "warn").
HUTCH_API std::shared_ptr<spdlog::logger> logger();
// Sets its level: trace, debug, info, warn, error, critical, off. Throws invalid_argument.
HUTCH_API void set_log_level(const std::string& level);

}  // namespace hutch

#include <hutch/error.hpp>
#include <hutch/log.hpp>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <mutex>

namespace hutch {

std::shared_ptr<spdlog::logger> logger() {
  static std::once_flag once;
  static std::shared_ptr<spdlog::logger> instance;
  std::call_once(once, [] {
    // stderr only: stdout belongs to the output the user asked for.
    instance = spdlog::stderr_color_mt("hutch");
    instance->set_level(spdlog::level::warn);
    instance->set_pattern("hutch: %^%l%$: %v");
  });
  return instance;
}

void set_log_level(const std::string& level) {
  auto parsed = spdlog::level::from_str(level);
  // from_str answers "off" for anything it does not know; only accept "off" when asked.
  if (parsed == spdlog::level::off && level != "off")
    throw Error(Errc::invalid_argument,
                "log level '" + level +
                    "' is not one of: trace, debug, info, warn, error, critical, off");
  logger()->set_level(parsed);
}

}  // namespace hutch

#include "sandbox_stop.hpp"

#include "process_tree.hpp"
#include "shepherd_notice.hpp"

#include <signal.h>

#include <algorithm>
#include <cerrno>

namespace hutch::agent {
namespace {

// While a stop runs, how often the caller looks again (children's exits wake it sooner).
constexpr int kStopPollMs = 50;
// After the commands' trees got SIGKILL, how long their shepherds have to report the ends
// before everything left (shepherds, orphans) gets SIGKILL too.
constexpr auto kReportTime = std::chrono::milliseconds(300);

// kill(-1) from PID 1 reaches every process of its pid namespace and of those nested in it,
// except PID 1 itself.
void signal_everyone(int signal) { ::kill(-1, signal); }

bool anyone_left() { return ::kill(-1, 0) == 0 || errno != ESRCH; }

}  // namespace

void SandboxStop::begin(std::uint32_t grace_ms, const std::vector<pid_t>& shepherds) {
  if (phase_ != Phase::idle) return;
  phase_ = Phase::terminating;
  shepherds_ = shepherds;
  kill_at_ = Clock::now() + std::chrono::milliseconds(grace_ms);
  for (pid_t shepherd : shepherds_) ::kill(shepherd, kRetireSignal);
  if (grace_ms == 0) return;  // advance() kills at once
  signal_everyone(SIGTERM);
  // A stopped process cannot act on SIGTERM until it runs again.
  signal_everyone(SIGCONT);
}

bool SandboxStop::advance() {
  if (phase_ == Phase::idle) return false;
  if (!anyone_left()) return true;
  const auto now = Clock::now();
  if (phase_ == Phase::terminating && now >= kill_at_) {
    // The commands first, so that their shepherds report them killed to the host.
    phase_ = Phase::killing;
    for (pid_t shepherd : shepherds_) signal_tree(shepherd, SIGKILL);
    kill_at_ = now + kReportTime;
  } else if (phase_ == Phase::killing && now >= kill_at_) {
    // Repeated while anything is left: a process forked meanwhile is caught by the next round.
    signal_everyone(SIGKILL);
  }
  return false;
}

int SandboxStop::poll_timeout_ms() const {
  if (phase_ == Phase::idle) return -1;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(kill_at_ - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, kStopPollMs));
}

}  // namespace hutch::agent

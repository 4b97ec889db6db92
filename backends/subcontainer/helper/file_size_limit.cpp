#include "file_size_limit.hpp"

#include "fail.hpp"

#include <signal.h>
#include <sys/resource.h>

namespace hutch::subcontainer::helper {

void limit_file_size(const Plan& plan) {
  if (plan.max_file_bytes == 0) return;
  if (::signal(SIGXFSZ, SIG_IGN) == SIG_ERR) fail_errno("ignore SIGXFSZ");
  const rlimit limit{plan.max_file_bytes, plan.max_file_bytes};
  if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) fail_errno("set RLIMIT_FSIZE (max_file_bytes)");
}

}  // namespace hutch::subcontainer::helper

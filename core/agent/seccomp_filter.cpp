#include "seccomp_filter.hpp"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>

namespace hutch::agent {
namespace {

const sock_filter kDefaultFilter[] = {
#include "default_seccomp_filter.inc"
};

}  // namespace

int install_default_seccomp_filter() {
  sock_fprog program{};
  program.len = static_cast<unsigned short>(sizeof kDefaultFilter / sizeof kDefaultFilter[0]);
  program.filter = const_cast<sock_filter*>(kDefaultFilter);
  return ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program, 0, 0);
}

}  // namespace hutch::agent

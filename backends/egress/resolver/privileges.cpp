#include "privileges.hpp"

#include <sys/capability.h>
#include <sys/prctl.h>

#include <cerrno>
#include <memory>
#include <system_error>

namespace hutch::egress::resolver {

void keep_only_net_admin() {
  for (int cap = 0; cap <= CAP_LAST_CAP; ++cap)
    if (cap != CAP_NET_ADMIN && ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
      throw std::system_error(errno, std::generic_category(), "drop capabilities from the bounding set");
  std::unique_ptr<std::remove_pointer_t<cap_t>, int (*)(void*)> caps(cap_init(), cap_free);
  const cap_value_t kept[] = {CAP_NET_ADMIN};
  if (!caps || cap_set_flag(caps.get(), CAP_PERMITTED, 1, kept, CAP_SET) != 0 ||
      cap_set_flag(caps.get(), CAP_EFFECTIVE, 1, kept, CAP_SET) != 0 || cap_set_proc(caps.get()) != 0)
    throw std::system_error(errno, std::generic_category(), "keep only CAP_NET_ADMIN");
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    throw std::system_error(errno, std::generic_category(), "set no_new_privs");
}

}  // namespace hutch::egress::resolver

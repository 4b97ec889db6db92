// The sandbox's own network namespace starts with loopback down; bring it up.
#pragma once

namespace hutch::subcontainer::helper {
void bring_loopback_up();
}

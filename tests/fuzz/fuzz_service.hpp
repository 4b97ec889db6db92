// What the fuzz targets share: one Service over the fake backend per fuzzing process (its state
// in a temporary directory removed at exit), with one sandbox the inputs can name, and the
// rewriting that keeps an input from making the fake backend block (not hutch's code).
#pragma once

#include "service.hpp"

#include <string>

namespace hutch::fuzz {

// The process's service, made on first use: the fake plugin as its only backend, no tokens
// (every caller is the local operator), an exec timeout of 2 s, at most 8 sandboxes, logging off.
server::Service& service();

// The id of the sandbox inputs act on; made again when an input removed it.
std::string sandbox_id();

// `input` with every "@ID" replaced by sandbox_id(), so a seed can name the sandbox, and the
// fake commands that wait or flood (sleep, on-term, ignore-term, yes-flood) renamed to ones
// that end at once: an input spends its time in the service's code, not in the fake's sleeps.
std::string prepare_input(std::string input);

}  // namespace hutch::fuzz

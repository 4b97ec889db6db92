// Everything a host application needs.
#pragma once

#include <hutch/backend.hpp>
#include <hutch/base64.hpp>
#include <hutch/config.hpp>
#include <hutch/error.hpp>
#include <hutch/exec_result_json.hpp>
#include <hutch/fork.hpp>
#include <hutch/fs.hpp>
#include <hutch/handle.hpp>
#include <hutch/image_defaults.hpp>
#include <hutch/loader.hpp>
#include <hutch/log.hpp>
#include <hutch/owner.hpp>
#include <hutch/ports.hpp>
#include <hutch/process.hpp>
#include <hutch/scoped.hpp>
#include <hutch/service_labels.hpp>
#include <hutch/spec.hpp>
#include <hutch/types.hpp>
#include <hutch/units.hpp>

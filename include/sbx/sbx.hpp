// Everything a host application needs.
#pragma once

#include <sbx/backend.hpp>
#include <sbx/config.hpp>
#include <sbx/error.hpp>
#include <sbx/fork.hpp>
#include <sbx/fs.hpp>
#include <sbx/handle.hpp>
#include <sbx/loader.hpp>
#include <sbx/log.hpp>
#include <sbx/owner.hpp>
#include <sbx/process.hpp>
#include <sbx/scoped.hpp>
#include <sbx/spec.hpp>
#include <sbx/types.hpp>
#include <sbx/units.hpp>

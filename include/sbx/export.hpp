// Symbol visibility for libsbx. The library is built with hidden visibility; what is part of
// the SDK is marked SBX_API so hosts and plugins link against it.
#pragma once

#include <boost/config.hpp>

#if defined(SBX_CORE_BUILDING)
#define SBX_API BOOST_SYMBOL_EXPORT
#else
#define SBX_API BOOST_SYMBOL_IMPORT
#endif

// Interfaces implemented in one shared object and used from another must have visible
// typeinfo so dynamic_cast and exceptions work across the plugin boundary.
#define SBX_INTERFACE BOOST_SYMBOL_VISIBLE

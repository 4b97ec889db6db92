// Symbol visibility for libhutch. The library is built with hidden visibility; what is part of
// the SDK is marked HUTCH_API so hosts and plugins link against it.
#pragma once

#include <boost/config.hpp>

#if defined(HUTCH_CORE_BUILDING)
#define HUTCH_API BOOST_SYMBOL_EXPORT
#else
#define HUTCH_API BOOST_SYMBOL_IMPORT
#endif

// Interfaces implemented in one shared object and used from another must have visible
// typeinfo so dynamic_cast and exceptions work across the plugin boundary.
#define HUTCH_INTERFACE BOOST_SYMBOL_VISIBLE

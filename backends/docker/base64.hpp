// Base64 as the Engine uses it: standard alphabet for X-Docker-Container-Path-Stat, URL-safe
// alphabet for X-Registry-Auth. The codec itself is libhutch's.
#pragma once

#include <hutch/base64.hpp>

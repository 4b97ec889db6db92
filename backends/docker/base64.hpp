// Base64 as the Engine uses it: standard alphabet for X-Docker-Container-Path-Stat, URL-safe
// alphabet for X-Registry-Auth.
#pragma once

#include <string>
#include <string_view>

namespace hutch::docker {

std::string base64_encode(std::string_view data, bool url_safe);
// Accepts both alphabets, with or without padding; throws Errc::backend on other characters.
std::string base64_decode(std::string_view text);

}  // namespace hutch::docker

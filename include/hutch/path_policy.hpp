// Which host paths a sandbox may bind-mount: only those under a configured prefix. Shared by
// every backend so the rule is written once. The comparison is by whole path component
// ("/data" allows "/data/x", not "/database") and happens after symlinks are resolved on the
// host, so a link inside an allowed tree cannot point out of it.
#pragma once

#include <hutch/export.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace hutch {

// "/a/./b/../c//" -> "/a/c"; ".." at the root stays at the root. Purely lexical.
HUTCH_API std::string lexically_normal_absolute(std::string_view path);

// True when `path` equals `prefix` or lies below it, compared component by component after
// both are normalized lexically. False when either is not absolute.
HUTCH_API bool path_within(std::string_view path, std::string_view prefix);

// Resolves `host_path` on the host (symlinks followed; trailing components that do not exist
// yet are taken lexically) and returns it when it lies within one of `allowed_prefixes`
// (resolved the same way; relative ones never match).
// Throws Errc::invalid_argument for a relative path, Errc::permission_denied otherwise; the
// message starts with `what`, names the path, what it resolves to and the allowed prefixes,
// and says to add a prefix to `setting` (e.g. "[backends.docker] bind_allow").
HUTCH_API std::string check_host_path_allowed(const std::string& host_path,
                                            const std::vector<std::string>& allowed_prefixes,
                                            const std::string& setting,
                                            const std::string& what = "bind mount");

}  // namespace hutch

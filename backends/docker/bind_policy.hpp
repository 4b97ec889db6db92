// Which host paths a sandbox may bind-mount: only those under a configured `bind_allow`
// prefix. The comparison is by path component ("/data" allows "/data/x", not "/database"),
// after resolving symlinks on the host, so a link inside an allowed tree cannot point out.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sbx::docker {

// Lexical, component-wise: is `path` equal to `prefix` or below it? Both must be absolute;
// "." and ".." components and duplicate slashes are resolved lexically first.
bool is_under_prefix(std::string_view path, std::string_view prefix);

// Lexically normalized absolute path ("/a/./b/../c//" -> "/a/c").
std::string lexically_normal_absolute(std::string_view path);

// Resolves `source` on the host (symlinks included, the path need not exist entirely) and
// returns it if it lies under one of `allowed` (themselves resolved); otherwise throws
// Errc::permission_denied naming the path and the allowed prefixes.
std::string check_bind_source(const std::string& source, const std::vector<std::string>& allowed);

}  // namespace sbx::docker

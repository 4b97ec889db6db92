#include "tokens.hpp"

#include <hutch/error.hpp>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <fstream>
#include <set>
#include <sstream>
#include <sys/stat.h>

namespace hutch::server {

namespace {

std::array<unsigned char, 32> sha256(std::string_view text) {
  std::array<unsigned char, 32> digest{};
  if (::EVP_Digest(text.data(), text.size(), digest.data(), nullptr, ::EVP_sha256(), nullptr) != 1)
    throw Error(Errc::backend, "SHA-256 failed (OpenSSL)");
  return digest;
}

}  // namespace

Tokens Tokens::load(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw Error(Errc::config, "tokens file '" + file.string() + "' cannot be read");
  struct stat info {};
  if (::stat(file.c_str(), &info) == 0 && (info.st_mode & 0007) != 0)
  {
    std::ostringstream mode;
    mode << std::oct << (info.st_mode & 0777);
    throw Error(Errc::config, "tokens file '" + file.string() + "' is open to other users (mode 0" + mode.str() +
                                  "): it holds secrets; chmod o-rwx it");
  }
  Tokens tokens;
  std::set<std::string> names;
  std::set<std::array<unsigned char, 32>> digests;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    const std::string where = file.string() + ":" + std::to_string(number) + ": ";
    std::istringstream words(line);
    std::string name, token, extra, more;
    if (!(words >> name) || name.front() == '#') continue;
    if (!(words >> token)) throw Error(Errc::config, where + "expected NAME TOKEN [tenant=VALUE], got only '" + name + "'");
    Entry entry;
    entry.caller.name = name;
    if (words >> extra) {
      if (extra.rfind("tenant=", 0) != 0 || extra.size() == 7)
        throw Error(Errc::config, where + "expected tenant=VALUE after the token, got '" + extra + "'");
      entry.caller.tenant = extra.substr(7);
    }
    if (words >> more) throw Error(Errc::config, where + "unexpected '" + more + "' (NAME TOKEN [tenant=VALUE])");
    if (token.size() < 16) throw Error(Errc::config, where + "the token of '" + name + "' is shorter than 16 characters");
    if (!names.insert(name).second) throw Error(Errc::config, where + "token name '" + name + "' appears twice");
    entry.digest = sha256(token);
    if (!digests.insert(entry.digest).second) throw Error(Errc::config, where + "the token of '" + name + "' is used twice");
    tokens.entries_.push_back(std::move(entry));
  }
  return tokens;
}

std::optional<Caller> Tokens::find(std::string_view presented) const {
  const auto digest = sha256(presented);
  const Entry* match = nullptr;
  // Every entry is compared, whichever matches.
  for (const Entry& entry : entries_)
    if (CRYPTO_memcmp(entry.digest.data(), digest.data(), digest.size()) == 0) match = &entry;
  if (match == nullptr) return std::nullopt;
  return match->caller;
}

}  // namespace hutch::server

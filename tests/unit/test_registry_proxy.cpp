// The registry client's proxy choice (core/registry/proxy.hpp) from HTTPS_PROXY, HTTP_PROXY
// and NO_PROXY, with an environment of the test's own.
#include "proxy.hpp"

#include "error_of.hpp"

#include <hutch/error.hpp>

#include <gtest/gtest.h>

#include <map>

namespace hutch::registry {
namespace {

EnvLookup env_of(std::map<std::string, std::string> values) {
  return [values](const char* name) -> std::optional<std::string> {
    auto found = values.find(name);
    return found == values.end() ? std::nullopt : std::optional<std::string>(found->second);
  };
}

std::string proxy_of(const std::string& url, const std::map<std::string, std::string>& env) {
  auto proxy = proxy_for(parse_url(url), env_of(env));
  return proxy ? proxy->authority() : "direct";
}

TEST(RegistryProxy, HttpsAndHttpUrlsUseTheirOwnVariableInEitherCase) {
  const std::map<std::string, std::string> env{{"HTTPS_PROXY", "http://proxy.lan:3128"}, {"http_proxy", "plain.lan:8080"}};
  EXPECT_EQ(proxy_of("https://registry.example.com/v2/", env), "proxy.lan:3128");
  EXPECT_EQ(proxy_of("http://registry.example.com:5000/v2/", env), "plain.lan:8080");
  EXPECT_EQ(proxy_of("https://registry.example.com/v2/", {}), "direct");
}

TEST(RegistryProxy, LoopbackIsNeverProxied) {
  const std::map<std::string, std::string> env{{"HTTPS_PROXY", "http://proxy.lan:3128"}, {"HTTP_PROXY", "http://proxy.lan:3128"}};
  EXPECT_EQ(proxy_of("http://127.0.0.1:5117/v2/", env), "direct");
  EXPECT_EQ(proxy_of("http://127.8.0.1:5117/v2/", env), "direct");
  EXPECT_EQ(proxy_of("https://localhost/v2/", env), "direct");
  EXPECT_EQ(proxy_of("https://[::1]:5000/v2/", env), "direct");
}

TEST(RegistryProxy, NoProxyListsHostsDomainsPortsAndEverything) {
  std::map<std::string, std::string> env{{"HTTPS_PROXY", "http://proxy.lan:3128"},
                                         {"NO_PROXY", " internal.example, .corp.lan,registry.io:5000, 10.1.2.3"}};
  EXPECT_EQ(proxy_of("https://internal.example/v2/", env), "direct");
  EXPECT_EQ(proxy_of("https://r.internal.example/v2/", env), "direct") << "a subdomain";
  EXPECT_EQ(proxy_of("https://notinternal.example/v2/", env), "proxy.lan:3128") << "a suffix that is no subdomain";
  EXPECT_EQ(proxy_of("https://a.corp.lan/v2/", env), "direct");
  EXPECT_EQ(proxy_of("https://corp.lan/v2/", env), "direct");
  EXPECT_EQ(proxy_of("https://registry.io:5000/v2/", env), "direct");
  EXPECT_EQ(proxy_of("https://registry.io/v2/", env), "proxy.lan:3128") << "NO_PROXY named another port";
  EXPECT_EQ(proxy_of("https://10.1.2.3/v2/", env), "direct");
  EXPECT_EQ(proxy_of("https://ghcr.io/v2/", env), "proxy.lan:3128");
  env["NO_PROXY"] = "*";
  EXPECT_EQ(proxy_of("https://ghcr.io/v2/", env), "direct");
}

TEST(RegistryProxy, ProxiesHutchCannotUseAreRefusedNamingTheVariable) {
  for (const std::string& value : {"https://proxy.lan:3128", "http://user:pw@proxy.lan:3128"}) {
    const Error error = hutch::test::error_of([&] { proxy_of("https://ghcr.io/v2/", {{"HTTPS_PROXY", value}}); });
    EXPECT_EQ(error.code(), Errc::invalid_argument) << value;
    EXPECT_NE(std::string(error.what()).find("HTTPS_PROXY"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace hutch::registry

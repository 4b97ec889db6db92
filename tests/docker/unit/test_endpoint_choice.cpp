// Which daemon the docker backend talks to, as the docker CLI chooses: [backends.docker] host
// > DOCKER_HOST > DOCKER_CONTEXT > config.json's currentContext > the default socket; TLS from
// tls_verify/cert_path, DOCKER_TLS_VERIFY/DOCKER_TLS/DOCKER_CERT_PATH, or the context's
// stored certificates. Contexts are laid out here as `docker context create` writes them.
#include "engine/docker_context.hpp"
#include "engine/endpoint.hpp"
#include "temp_dir.hpp"

#include <hutch/error.hpp>

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cstdlib>
#include <fstream>

namespace hutch::docker {
namespace {

namespace fs = std::filesystem;

std::string sha256_hex(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr);
  char hex[3];
  std::string out;
  for (unsigned int i = 0; i < size; ++i) {
    std::snprintf(hex, sizeof hex, "%02x", digest[i]);
    out += hex;
  }
  return out;
}

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

class EndpointChoice : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : kVariables) {
      if (const char* value = std::getenv(name)) saved_.emplace_back(name, value);
      ::unsetenv(name);
    }
    ::setenv("DOCKER_CONFIG", config_dir().c_str(), 1);
  }
  void TearDown() override {
    for (const char* name : kVariables) ::unsetenv(name);
    for (const auto& [name, value] : saved_) ::setenv(name.c_str(), value.c_str(), 1);
  }

  fs::path config_dir() const { return dir_ / "docker-config"; }

  // A context as `docker context create NAME --docker host=HOST[,ca=,cert=,key=]` stores it.
  void make_context(const std::string& name, const std::string& host, bool with_certificates, bool skip_verify = false) {
    const std::string hash = sha256_hex(name);
    write(config_dir() / "contexts/meta" / hash / "meta.json",
          R"({"Name":")" + name + R"(","Metadata":{},"Endpoints":{"docker":{"Host":")" + host +
              R"(","SkipTLSVerify":)" + (skip_verify ? "true" : "false") + "}}}");
    if (with_certificates)
      for (const char* file : {"ca.pem", "cert.pem", "key.pem"})
        write(config_dir() / "contexts/tls" / hash / "docker" / file, "pem");
  }

  static constexpr const char* kVariables[] = {"DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "DOCKER_TLS_VERIFY",
                                                "DOCKER_TLS", "DOCKER_CERT_PATH"};
  test::TempDir dir_;
  std::vector<std::pair<std::string, std::string>> saved_;
};

TEST_F(EndpointChoice, ConfiguredHostWinsOverDockerHostWhichWinsOverContexts) {
  // Only parsed, never connected to; loopback addresses all the same.
  make_context("remote", "tcp://127.0.0.99:2375", false);
  write(config_dir() / "config.json", R"({"currentContext":"remote"})");
  ::setenv("DOCKER_HOST", "tcp://127.0.0.11:2375", 1);
  EXPECT_EQ(choose_endpoint({.host = "unix:///x.sock"}).path, "/x.sock");
  EXPECT_EQ(choose_endpoint({}).host, "127.0.0.11");
  ::unsetenv("DOCKER_HOST");
  EXPECT_EQ(choose_endpoint({}).host, "127.0.0.99") << "config.json's currentContext";
  make_context("other", "unix:///other.sock", false);
  ::setenv("DOCKER_CONTEXT", "other", 1);
  EXPECT_EQ(choose_endpoint({}).path, "/other.sock") << "DOCKER_CONTEXT wins over currentContext";
  ::setenv("DOCKER_CONTEXT", "default", 1);
  EXPECT_EQ(choose_endpoint({}).path, "/var/run/docker.sock") << "'default' is no context";
}

TEST_F(EndpointChoice, NoContextAndNoHostIsTheDefaultSocket) {
  EXPECT_EQ(choose_endpoint({}).path, "/var/run/docker.sock");
  write(config_dir() / "config.json", "not json");
  EXPECT_EQ(choose_endpoint({}).path, "/var/run/docker.sock") << "an unreadable config.json names no context";
}

TEST_F(EndpointChoice, AContextWithCertificatesIsTls) {
  make_context("secure", "tcp://127.0.0.1", true);
  ::setenv("DOCKER_CONTEXT", "secure", 1);
  const Endpoint endpoint = choose_endpoint({});
  ASSERT_TRUE(endpoint.tls.has_value());
  EXPECT_EQ(endpoint.port, 2376) << "TLS's default port";
  EXPECT_TRUE(endpoint.tls->verify);
  EXPECT_EQ(fs::path(endpoint.tls->ca).filename(), "ca.pem");
  EXPECT_EQ(fs::path(endpoint.tls->cert).filename(), "cert.pem");
  EXPECT_EQ(endpoint.to_string(), "tcp://127.0.0.1:2376 (TLS)");
  make_context("insecure", "tcp://127.0.0.1:2376", false, /*skip_verify=*/true);
  ::setenv("DOCKER_CONTEXT", "insecure", 1);
  ASSERT_TRUE(choose_endpoint({}).tls.has_value());
  EXPECT_FALSE(choose_endpoint({}).tls->verify);
}

TEST_F(EndpointChoice, AMissingContextIsAConfigErrorNamingItAndWhereItCameFrom) {
  ::setenv("DOCKER_CONTEXT", "nowhere", 1);
  try {
    choose_endpoint({});
    FAIL() << "a missing context was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::config);
    EXPECT_NE(std::string(e.what()).find("'nowhere'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("DOCKER_CONTEXT"), std::string::npos) << e.what();
  }
}

TEST_F(EndpointChoice, DockerTlsVerifyTakesTheCertificatesFromDockerCertPath) {
  const fs::path certs = dir_ / "certs";
  for (const char* file : {"ca.pem", "cert.pem", "key.pem"}) write(certs / file, "pem");
  ::setenv("DOCKER_HOST", "tcp://127.0.0.1", 1);
  ::setenv("DOCKER_TLS_VERIFY", "1", 1);
  ::setenv("DOCKER_CERT_PATH", certs.c_str(), 1);
  Endpoint endpoint = choose_endpoint({});
  ASSERT_TRUE(endpoint.tls.has_value());
  EXPECT_EQ(endpoint.port, 2376);
  EXPECT_EQ(endpoint.tls->ca, (certs / "ca.pem").string());
  EXPECT_EQ(endpoint.tls->key, (certs / "key.pem").string());
  // No ca.pem to verify against: an error naming the directory.
  fs::remove(certs / "ca.pem");
  try {
    choose_endpoint({});
    FAIL() << "TLS verification without a CA was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::config);
    EXPECT_NE(std::string(e.what()).find(certs.string()), std::string::npos) << e.what();
  }
  // A key without its certificate: refused.
  ::unsetenv("DOCKER_TLS_VERIFY");
  ::setenv("DOCKER_TLS", "1", 1);
  fs::remove(certs / "cert.pem");
  EXPECT_THROW(choose_endpoint({}), Error);
  fs::remove(certs / "key.pem");
  endpoint = choose_endpoint({});
  ASSERT_TRUE(endpoint.tls.has_value());
  EXPECT_FALSE(endpoint.tls->verify) << "DOCKER_TLS alone encrypts without checking";
}

TEST_F(EndpointChoice, ConfiguredTlsUsesCertPath) {
  const fs::path certs = dir_ / "configured";
  for (const char* file : {"ca.pem", "cert.pem", "key.pem"}) write(certs / file, "pem");
  const Endpoint endpoint =
      choose_endpoint({.host = "tcp://localhost:2400", .tls_verify = true, .cert_path = certs.string()});
  ASSERT_TRUE(endpoint.tls.has_value());
  EXPECT_EQ(endpoint.port, 2400);
  EXPECT_EQ(endpoint.tls->cert, (certs / "cert.pem").string());
  EXPECT_FALSE(choose_endpoint({.host = "tcp://localhost:2400"}).tls.has_value());
}

}  // namespace
}  // namespace hutch::docker

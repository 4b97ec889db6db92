// The remote backend and curl against a real `hutch serve` speaking TLS, with certificates the
// test makes (hutch-test-certs): calls, files and a streamed command over https://, a client
// certificate the service requires, and each failure said plainly — an unknown CA, a
// certificate for another name, an expired one, a missing client certificate, plain HTTP to
// the TLS port and TLS to a plain one; the service's own refusals of bad TLS settings.
#include "error_of.hpp"
#include "remote_backend.hpp"
#include "service_process.hpp"
#include "settings.hpp"

#include <hutch/fs.hpp>
#include <hutch/handle.hpp>
#include <hutch/process.hpp>

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <memory>

namespace hutch::remote {
namespace {

using test::ServiceProcess;

// The certificates, made once for the whole run (removed at its end).
const test::TempDir& certificates() {
  static const test::TempDir dir("hutch-tls-certs-");
  static const bool made = [] {
    const std::string command = std::string(HUTCH_TEST_CERTS) + " " + dir.path().string();
    if (std::system(command.c_str()) != 0) throw std::runtime_error("hutch-test-certs failed");
    return true;
  }();
  (void)made;
  return dir;
}

std::string cert(const std::string& name) { return (certificates() / name).string(); }

// [serve] lines for TLS with the certificate `name` (and its key); with `client_ca`, client
// certificates signed by the test CA are required.
std::string tls_lines(const std::string& name, bool client_ca = false) {
  std::string lines = "tls_cert = \"" + cert(name + ".pem") + "\"\ntls_key = \"" + cert(name + "-key.pem") + "\"\n";
  if (client_ca) lines += "tls_client_ca = \"" + cert("ca.pem") + "\"\n";
  return lines;
}

// The remote backend's settings for https://127.0.0.1:PORT with the CA `ca` and, when
// `client`, the test client's certificate.
Settings https_settings(const ServiceProcess& service, const std::string& ca = "ca.pem", const std::string& client = "") {
  Settings settings;
  settings.address = server::parse_listen_address("https://127.0.0.1:" + std::to_string(service.port()), true);
  settings.token = ServiceProcess::kToken;
  settings.tls.ca = tls::PemFile{cert(ca), "test tls_ca"};
  if (!client.empty()) {
    settings.tls.cert = tls::PemFile{cert(client + ".pem"), "test tls_cert"};
    settings.tls.key = tls::PemFile{cert(client + "-key.pem"), "test tls_key"};
  }
  return settings;
}

// `curl -sS ARGS` with its stdout and stderr; the exit status in `status`.
std::string curl(const std::string& args, int& status) {
  const std::string command = "curl -sS --max-time 20 " + args + " 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  std::string output;
  std::array<char, 4096> buffer;
  for (std::size_t n; (n = std::fread(buffer.data(), 1, buffer.size(), pipe.get())) > 0;) output.append(buffer.data(), n);
  status = ::pclose(pipe.release());
  return output;
}

// A list call through the backend; the message it fails with.
std::string list_failure(const Settings& settings) {
  return test::message_of(Errc::io, [&] { RemoteBackend("remote", settings).list({}); });
}

TEST(Tls, CallsFilesAndAStreamedCommandWorkOverHttpsWithAClientCertificate) {
  ServiceProcess service(tls_lines("server", true), true);
  EXPECT_NE(service.log().find("(TLS)"), std::string::npos) << service.log();
  RemoteBackend backend("remote", https_settings(service, "ca.pem", "client"));
  auto sandbox = backend.create(SandboxSpec{});
  ExecRequest echo;
  echo.argv = {"echo", "over", "tls"};
  EXPECT_EQ(sandbox->exec(echo).stdout_data, "over tls\n");
  sandbox->fs().write("/tls.txt", "a file through TLS");
  EXPECT_EQ(sandbox->fs().read("/tls.txt"), "a file through TLS");
  // A streamed command: the WebSocket, both ways.
  ExecRequest cat;
  cat.argv = {"cat"};
  auto process = sandbox->spawn(cat);
  process->write_stdin("streamed through TLS");
  process->close_stdin();
  std::string out;
  while (auto chunk = process->read_output()) out += chunk->data;
  EXPECT_EQ(out, "streamed through TLS");
  EXPECT_EQ(process->wait().exit_code, 0);
  backend.destroy(sandbox->id());
  EXPECT_TRUE(backend.list({}).empty());
}

TEST(Tls, CurlReachesTheServiceWithTheTestCaAndItsClientCertificate) {
  ServiceProcess service(tls_lines("server", true), true);
  const std::string url = " https://127.0.0.1:" + std::to_string(service.port()) + "/healthz";
  int status = 0;
  const std::string with_cert =
      curl("--cacert " + cert("ca.pem") + " --cert " + cert("client.pem") + " --key " + cert("client-key.pem") + url, status);
  EXPECT_EQ(status, 0) << with_cert;
  EXPECT_NE(with_cert.find("\"ok\""), std::string::npos) << with_cert;
  const std::string without_cert = curl("--cacert " + cert("ca.pem") + url, status);
  EXPECT_NE(status, 0) << without_cert;
  EXPECT_NE(without_cert.find("certificate required"), std::string::npos) << without_cert;
}

TEST(Tls, AServerCertificateOfAnUnknownCaIsRefusedSayingSo) {
  ServiceProcess service(tls_lines("server"), true);
  const std::string message = list_failure(https_settings(service, "other-ca.pem"));
  EXPECT_NE(message.find("unable to get local issuer certificate"), std::string::npos) << message;
  EXPECT_NE(message.find("not signed by a CA this client trusts"), std::string::npos) << message;
}

TEST(Tls, ACertificateForAnotherNameIsRefusedSayingSo) {
  ServiceProcess service(tls_lines("wrong-name"), true);
  const std::string message = list_failure(https_settings(service));
  EXPECT_NE(message.find("IP address mismatch"), std::string::npos) << message;
  EXPECT_NE(message.find("another name"), std::string::npos) << message;
}

TEST(Tls, AnExpiredCertificateIsRefusedSayingSo) {
  ServiceProcess service(tls_lines("expired"), true);
  const std::string message = list_failure(https_settings(service));
  EXPECT_NE(message.find("certificate has expired"), std::string::npos) << message;
}

TEST(Tls, AServiceWithAClientCaRefusesAClientWithoutACertificateOrWithAnotherCasOne) {
  ServiceProcess service(tls_lines("server", true), true);
  std::string message = list_failure(https_settings(service));
  EXPECT_NE(message.find("refused this client's certificate, or its absence"), std::string::npos) << message;
  EXPECT_NE(message.find("tls_cert and tls_key"), std::string::npos) << message;
  message = list_failure(https_settings(service, "ca.pem", "other-client"));
  EXPECT_NE(message.find("refused this client's certificate"), std::string::npos) << message;
}

TEST(Tls, PlainHttpToTheTlsPortAndTlsToAPlainPortAreSaidPlainly) {
  {
    ServiceProcess service(tls_lines("server"), true);
    Settings settings;
    settings.address = server::parse_listen_address("tcp://127.0.0.1:" + std::to_string(service.port()));
    settings.token = ServiceProcess::kToken;
    const std::string message =
        test::message_of(Errc::invalid_argument, [&] { RemoteBackend("remote", settings).list({}); });
    EXPECT_NE(message.find("this port speaks TLS only: use https://"), std::string::npos) << message;
    int status = 0;
    const std::string answer = curl("http://127.0.0.1:" + std::to_string(service.port()) + "/healthz", status);
    EXPECT_NE(answer.find("speaks TLS only"), std::string::npos) << answer;
  }
  ServiceProcess plain("", true);
  const std::string message = list_failure(https_settings(plain));
  EXPECT_NE(message.find("does it listen with TLS?"), std::string::npos) << message;
}

TEST(Tls, TlsSettingsWithAPlainAddressAreRefused) {
  PluginContext context;
  context.config = ConfigTable::parse("host = \"tcp://127.0.0.1:9\"\ntls_ca = \"/x/ca.pem\"\n", "client.toml");
  const std::string message = test::message_of(Errc::config, [&] { read_settings(context); });
  EXPECT_NE(message.find("tls_ca"), std::string::npos) << message;
  EXPECT_NE(message.find("https://"), std::string::npos) << message;
}

TEST(Tls, TheServiceRefusesMissingOrMismatchedFilesNamingTheSettingAndTheFile) {
  auto [status, log] = ServiceProcess::run_failing(
      "tls_cert = \"" + cert("server.pem") + "\"\ntls_key = \"" + cert("missing-key.pem") + "\"\n", {"--listen", "tcp://127.0.0.1:0"});
  EXPECT_EQ(status, 125) << log;
  EXPECT_NE(log.find("tls_key " + cert("missing-key.pem") + ": cannot read"), std::string::npos) << log;
  std::tie(status, log) = ServiceProcess::run_failing(
      "", {"--listen", "tcp://127.0.0.1:0", "--tls-cert", cert("server.pem"), "--tls-key", cert("client-key.pem")});
  EXPECT_EQ(status, 125) << log;
  EXPECT_NE(log.find("--tls-key " + cert("client-key.pem")), std::string::npos) << log;
  EXPECT_NE(log.find("mismatch"), std::string::npos) << log;
  std::tie(status, log) = ServiceProcess::run_failing("", {"--listen", "tcp://127.0.0.1:0", "--tls-cert", cert("ca-key.pem"),
                                                           "--tls-key", cert("client-key.pem")});
  EXPECT_EQ(status, 125) << log;
  EXPECT_NE(log.find("--tls-cert " + cert("ca-key.pem") + ": not usable as a certificate"), std::string::npos) << log;
  std::tie(status, log) = ServiceProcess::run_failing("tls_cert = \"" + cert("server.pem") + "\"\n", {"--listen", "tcp://127.0.0.1:0"});
  EXPECT_EQ(status, 125) << log;
  EXPECT_NE(log.find("needs both tls_cert and tls_key"), std::string::npos) << log;
}

TEST(Tls, ANonLoopbackAddressIsServedWithTlsAndRefusedWithout) {
  auto [status, log] = ServiceProcess::run_failing("", {"--listen", "tcp://0.0.0.0:0"});
  EXPECT_EQ(status, 125) << log;
  EXPECT_NE(log.find("plain TCP is refused on a non-loopback address"), std::string::npos) << log;
  // With TLS the same address is served (reached here over loopback only).
  ServiceProcess service(tls_lines("server"), false, {"--listen", "tcp://0.0.0.0:0"});
  EXPECT_NE(service.log().find("listening on tcp://0.0.0.0:"), std::string::npos) << service.log();
}

}  // namespace
}  // namespace hutch::remote

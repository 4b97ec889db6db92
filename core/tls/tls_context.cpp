#include "tls_context.hpp"

#include <hutch/error.hpp>

#include <boost/asio/ip/address.hpp>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace hutch::tls {

namespace ssl = boost::asio::ssl;

namespace {

// OpenSSL's queued errors as one line (the queue emptied), or `fallback` when there are none.
std::string openssl_errors(const std::string& fallback) {
  std::string text;
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    text += (text.empty() ? "" : "; ") + std::string(buffer);
  }
  return text.empty() ? fallback : text;
}

// Runs `step(ec)` (an Asio context call that loads `file`); Errc::config naming the setting,
// the file and what went wrong. A file that cannot be opened is said so before OpenSSL tries
// it (its own message would be a bare "system lib").
template <class Step>
void load(const PemFile& file, const std::string& what, Step&& step) {
  const std::string where = file.setting + " " + file.path + ": ";
  if (file.path.empty()) throw Error(Errc::config, file.setting + ": expected the path of " + what + ", got \"\"");
  if (std::ifstream probe(file.path); !probe)
    throw Error(Errc::config, where + "cannot read " + what + ": " + std::strerror(errno));
  ERR_clear_error();
  boost::system::error_code ec;
  step(ec);
  if (ec) throw Error(Errc::config, where + "not usable as " + what + " (a PEM file is expected): " + openssl_errors(ec.message()));
}

ssl::context base_context(ssl::context::method method) {
  ssl::context context(method);
  context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                      ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  return context;
}

void load_identity(ssl::context& context, const PemFile& cert, const PemFile& key) {
  load(cert, "a certificate", [&](auto& ec) { context.use_certificate_chain_file(cert.path, ec); });
  // OpenSSL checks that the key belongs to the certificate as it loads it ("key values mismatch").
  load(key, "the private key of " + cert.path, [&](auto& ec) { context.use_private_key_file(key.path, ssl::context::pem, ec); });
  if (SSL_CTX_check_private_key(context.native_handle()) != 1)
    throw Error(Errc::config, key.setting + " " + key.path + ": the key does not belong to the certificate " + cert.path +
                                  " (" + cert.setting + "): " + openssl_errors("key values mismatch"));
}

}  // namespace

ssl::context make_server_context(const PemFile& cert, const PemFile& key, const std::optional<PemFile>& client_ca) {
  ssl::context context = base_context(ssl::context::tls_server);
  load_identity(context, cert, key);
  if (client_ca) {
    load(*client_ca, "a CA certificate", [&](auto& ec) { context.load_verify_file(client_ca->path, ec); });
    // The CA's name goes to clients in the certificate request (which certificate to show).
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(client_ca->path.c_str()))
      SSL_CTX_set_client_CA_list(context.native_handle(), names);
    context.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  }
  return context;
}

ssl::context make_client_context(const std::optional<PemFile>& ca, const std::optional<PemFile>& cert,
                                 const std::optional<PemFile>& key) {
  ssl::context context = base_context(ssl::context::tls_client);
  if (ca) {
    load(*ca, "a CA certificate", [&](auto& ec) { context.load_verify_file(ca->path, ec); });
  } else {
    boost::system::error_code ec;
    context.set_default_verify_paths(ec);
    if (ec) throw Error(Errc::config, "cannot load the system's CA store: " + openssl_errors(ec.message()));
  }
  if (cert.has_value() != key.has_value()) {
    const PemFile& given = cert ? *cert : *key;
    throw Error(Errc::config, given.setting + " is set without " + (cert ? "the key" : "the certificate") +
                                  ": a client certificate needs both");
  }
  if (cert) load_identity(context, *cert, *key);
  context.set_verify_mode(ssl::verify_peer);
  return context;
}

void expect_peer(SSL* ssl, const std::string& host) {
  boost::system::error_code not_an_address;
  const auto address = boost::asio::ip::make_address(host, not_an_address);
  // SNI carries names only (RFC 6066).
  if (not_an_address) SSL_set_tlsext_host_name(ssl, host.c_str());
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (not_an_address)
    X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
  else
    X509_VERIFY_PARAM_set1_ip_asc(param, address.to_string().c_str());
}

std::string describe_failure(SSL* ssl, const std::string& reason, const std::string& peer, const std::string& ca_setting,
                             const std::string& client_files) {
  const long verdict = ssl == nullptr ? X509_V_OK : SSL_get_verify_result(ssl);
  if (verdict == X509_V_OK) {
    // The service's alert about this client's certificate (a missing one, one signed by a CA
    // it does not trust).
    const bool about_certificate = reason.find("certificate") != std::string::npos || reason.find("unknown ca") != std::string::npos;
    if (reason.find("alert") != std::string::npos && about_certificate)
      return peer + " refused this client's certificate, or its absence (" + reason + "): give " + client_files +
             ", signed by a CA the service trusts (its tls_client_ca)";
    if (reason.find("wrong version number") != std::string::npos || reason.find("packet length too long") != std::string::npos)
      return "TLS failed with " + peer + ": " + reason + " (does it listen with TLS? without tls_cert it speaks plain HTTP)";
    return "TLS failed with " + peer + ": " + reason;
  }
  std::string why = X509_verify_cert_error_string(verdict);
  switch (verdict) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      why += " (its certificate is not signed by a CA this client trusts: check " + ca_setting + ")";
      break;
    case X509_V_ERR_CERT_HAS_EXPIRED: why += " (its certificate has expired)"; break;
    case X509_V_ERR_CERT_NOT_YET_VALID: why += " (its certificate is not valid yet: check the clocks)"; break;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      why += " (its certificate is for another name than the host this client connects to)";
      break;
    default: break;
  }
  return "the certificate of " + peer + " was refused: " + why;
}

}  // namespace hutch::tls

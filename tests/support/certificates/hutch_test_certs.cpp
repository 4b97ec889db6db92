// hutch-test-certs DIR: the certificates the TLS tests use, made fresh in DIR with OpenSSL's
// API (the openssl command cannot make an expired certificate without a CA database):
//   ca.pem                 the test CA ("hutch test CA"), key in ca-key.pem
//   server.pem, -key.pem   for 127.0.0.1 and localhost, signed by the CA
//   client.pem, -key.pem   a client certificate (clientAuth) signed by the CA
//   expired.pem, -key.pem  for 127.0.0.1 and localhost, signed by the CA, expired yesterday
//   wrong-name.pem, -key.pem  for other.example only, signed by the CA
//   other-ca.pem           a CA that signed nothing here (an unknown CA to the service)
//   other-client.pem, -key.pem  a client certificate signed by other-ca
// Exits 0, or 1 with a message.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

namespace {

struct Deleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
  void operator()(X509* cert) const { X509_free(cert); }
};
using Key = std::unique_ptr<EVP_PKEY, Deleter>;
using Cert = std::unique_ptr<X509, Deleter>;

void check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what + " failed");
}

Key new_key() {
  Key key(EVP_EC_gen("P-256"));
  check(key != nullptr, "EVP_EC_gen");
  return key;
}

struct Issued {
  Cert cert;
  Key key;
};

// A certificate for `common_name` valid from now+`from_days` to now+`to_days`, with the
// extensions `extensions` (name, value), signed by `issuer` (itself when null).
Issued issue(const std::string& common_name, long from_days, long to_days,
             std::initializer_list<std::pair<int, const char*>> extensions, const Issued* issuer) {
  static long serial = 1;
  Issued made{Cert(X509_new()), new_key()};
  X509* cert = made.cert.get();
  check(X509_set_version(cert, 2) == 1, "X509_set_version");
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert), from_days * 86400);
  X509_gmtime_adj(X509_getm_notAfter(cert), to_days * 86400);
  check(X509_set_pubkey(cert, made.key.get()) == 1, "X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0);
  X509* issuer_cert = issuer ? issuer->cert.get() : cert;
  check(X509_set_issuer_name(cert, X509_get_subject_name(issuer_cert)) == 1, "X509_set_issuer_name");
  X509V3_CTX context;
  X509V3_set_ctx(&context, issuer_cert, cert, nullptr, nullptr, 0);
  for (const auto& [nid, value] : extensions) {
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
    check(extension != nullptr, std::string("extension ") + value);
    X509_add_ext(cert, extension, -1);
    X509_EXTENSION_free(extension);
  }
  check(X509_sign(cert, issuer ? issuer->key.get() : made.key.get(), EVP_sha256()) > 0, "X509_sign");
  return made;
}

void write(const std::string& dir, const std::string& name, const Issued& issued, bool with_key = true) {
  const std::string cert_path = dir + "/" + name + ".pem", key_path = dir + "/" + name + "-key.pem";
  FILE* out = std::fopen(cert_path.c_str(), "w");
  check(out != nullptr && PEM_write_X509(out, issued.cert.get()) == 1, "writing " + cert_path);
  std::fclose(out);
  if (!with_key) return;
  out = std::fopen(key_path.c_str(), "w");
  check(out != nullptr && PEM_write_PrivateKey(out, issued.key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "writing " + key_path);
  std::fclose(out);
}

Issued make_ca(const std::string& name) {
  return issue(name, -1, 30, {{NID_basic_constraints, "critical,CA:TRUE"}, {NID_key_usage, "critical,keyCertSign,cRLSign"},
                              {NID_subject_key_identifier, "hash"}}, nullptr);
}

Issued make_server(const std::string& names, long from_days, long to_days, const Issued& ca) {
  return issue("hutch test server", from_days, to_days,
               {{NID_basic_constraints, "critical,CA:FALSE"}, {NID_ext_key_usage, "serverAuth"},
                {NID_subject_alt_name, names.c_str()}, {NID_authority_key_identifier, "keyid"}}, &ca);
}

Issued make_client(const std::string& name, const Issued& ca) {
  return issue(name, -1, 30, {{NID_basic_constraints, "critical,CA:FALSE"}, {NID_ext_key_usage, "clientAuth"},
                              {NID_authority_key_identifier, "keyid"}}, &ca);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: hutch-test-certs DIR\n");
    return 1;
  }
  const std::string dir = argv[1];
  try {
    const Issued ca = make_ca("hutch test CA"), other_ca = make_ca("hutch unknown CA");
    write(dir, "ca", ca);
    write(dir, "other-ca", other_ca, false);
    write(dir, "server", make_server("IP:127.0.0.1,DNS:localhost", -1, 30, ca));
    write(dir, "expired", make_server("IP:127.0.0.1,DNS:localhost", -3, -1, ca));
    write(dir, "wrong-name", make_server("DNS:other.example", -1, 30, ca));
    write(dir, "client", make_client("test-client", ca));
    write(dir, "other-client", make_client("other-client", other_ca));
  } catch (const std::exception& error) {
    std::fprintf(stderr, "hutch-test-certs: %s\n", error.what());
    return 1;
  }
  return 0;
}

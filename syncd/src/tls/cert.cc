#include "tls/cert.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <memory>

#include "vigil/protocol/crypto.h"

namespace vigil::syncd {
namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
  void operator()(FILE* p) const { fclose(p); }
};

Status AddExtension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, Free> ext(
      X509V3_EXT_conf_nid(nullptr, &ctx, nid, const_cast<char*>(value)));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return Status::Internal(std::string("cannot add certificate extension ") + value);
  }
  return Status::Ok();
}

}  // namespace

Status GenerateSelfSignedCert(const std::string& cert_path, const std::string& key_path) {
  std::unique_ptr<EVP_PKEY, Free> key(EVP_EC_gen("P-256"));
  if (!key) return Status::Internal("cannot generate an EC P-256 key");
  std::unique_ptr<X509, Free> cert(X509_new());
  if (!cert) return Status::Internal("X509_new failed");
  X509_set_version(cert.get(), 2);
  std::unique_ptr<BIGNUM, Free> serial(BN_new());
  if (!serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return Status::Internal("cannot make a certificate serial number");
  }
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Vigil"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  VIGIL_RETURN_IF_ERROR(AddExtension(cert.get(), NID_basic_constraints, "critical,CA:TRUE"));
  VIGIL_RETURN_IF_ERROR(
      AddExtension(cert.get(), NID_key_usage, "critical,digitalSignature,keyCertSign"));
  VIGIL_RETURN_IF_ERROR(AddExtension(cert.get(), NID_ext_key_usage, "serverAuth"));
  VIGIL_RETURN_IF_ERROR(AddExtension(cert.get(), NID_subject_key_identifier, "hash"));
  VIGIL_RETURN_IF_ERROR(
      AddExtension(cert.get(), NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"));
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
    return Status::Internal("cannot sign the certificate");
  }

  {
    mode_t old_mask = umask(077);
    std::unique_ptr<FILE, Free> out(fopen(key_path.c_str(), "wx"));
    umask(old_mask);
    if (!out) return Status::FailedPrecondition("cannot create " + key_path + " (exists?)");
    if (PEM_write_PrivateKey(out.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
      return Status::Internal("cannot write " + key_path);
    }
  }
  std::unique_ptr<FILE, Free> out(fopen(cert_path.c_str(), "wx"));
  if (!out) return Status::FailedPrecondition("cannot create " + cert_path + " (exists?)");
  if (PEM_write_X509(out.get(), cert.get()) != 1) {
    return Status::Internal("cannot write " + cert_path);
  }
  return Status::Ok();
}

Result<std::string> PinOfCertFile(const std::string& cert_path) {
  std::unique_ptr<FILE, Free> in(fopen(cert_path.c_str(), "r"));
  if (!in) return Status::NotFound("cannot read " + cert_path);
  std::unique_ptr<X509, Free> cert(PEM_read_X509(in.get(), nullptr, nullptr, nullptr));
  if (!cert) return Status::InvalidArgument(cert_path + " holds no PEM certificate");
  EVP_PKEY* key = X509_get0_pubkey(cert.get());
  if (key == nullptr) return Status::InvalidArgument(cert_path + ": no public key");
  int len = i2d_PUBKEY(key, nullptr);
  if (len <= 0) return Status::Internal("cannot encode the public key");
  std::string der(static_cast<size_t>(len), '\0');
  unsigned char* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_PUBKEY(key, &p);
  return protocol::Sha256(der);
}

std::string PinForCurl(const std::string& raw_pin) {
  std::string out(4 * ((raw_pin.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(raw_pin.data()),
                          static_cast<int>(raw_pin.size()));
  out.resize(static_cast<size_t>(n));
  return "sha256//" + out;
}

}  // namespace vigil::syncd

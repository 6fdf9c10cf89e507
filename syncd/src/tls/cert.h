// The server's TLS identity: a self-signed certificate made with OpenSSL for a fresh
// deployment, and the public-key pin devices use (docs/architecture.md §4 step 1).
#pragma once

#include <string>

#include "vigil/status.h"

namespace vigil::syncd {

// Writes a new EC P-256 key (mode 0600) and a self-signed certificate valid for ten years,
// with subjectAltName IP:127.0.0.1, DNS:localhost.
Status GenerateSelfSignedCert(const std::string& cert_path, const std::string& key_path);

// SHA-256 of the DER SubjectPublicKeyInfo of the first certificate in `cert_path`: 32 raw
// bytes, what EnrollmentPayload.tls_pin holds.
Result<std::string> PinOfCertFile(const std::string& cert_path);

// "sha256//BASE64" (standard base64), the form CURLOPT_PINNEDPUBLICKEY takes.
std::string PinForCurl(const std::string& raw_pin);

}  // namespace vigil::syncd

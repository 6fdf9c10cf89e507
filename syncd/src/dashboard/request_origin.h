// Where a state-changing dashboard request comes from (docs/dashboard.md "Access"): a browser
// names the page that sent it in `Origin` and `Sec-Fetch-Site`; only syncd's own page may
// change anything or log in. A second wall behind the CSRF token and SameSite=Strict.
#pragma once

#include <string>

#include "http/http_types.h"
#include "vigil/status.h"

namespace vigil::syncd::dashboard {

// OK when the request may come from syncd's own page:
//  - `Origin`, when present, is exactly the server's own origin: the scheme ("https" when
//    `tls`; with --no-tls behind a TLS-terminating proxy "http" or "https"), and the host and
//    port of the request's `Host` header, compared without case and with the scheme's default
//    port (443, 80) implied. "null" and any other origin are refused;
//  - `Sec-Fetch-Site`, when present, is "same-origin" or "none".
// A request with neither header comes from a program, not a browser page (browsers send
// `Origin` with every POST), and is accepted; it still needs the session and CSRF token.
// PermissionDenied names what did not match.
Status CheckRequestOrigin(const HttpRequest& request, bool tls);

// Whether a Content-Type header value is JSON: "application/json", any case, with optional
// parameters ("; charset=utf-8").
bool IsJsonContentType(const std::string& content_type);

}  // namespace vigil::syncd::dashboard

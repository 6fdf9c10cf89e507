// The HTTPS server's TLS context (http/server_internal.h).
#include <openssl/ssl.h>

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <utility>  // Before Asio: Boost 1.74 uses std::exchange without including it.

#include "http/server_internal.h"

namespace vigil::syncd::server_internal {

Status ConfigureTls(ssl::context& ctx, const ServerOptions& options) {
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                  ssl::context::single_dh_use);
  SSL_CTX* native = ctx.native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  // Session resumption: a server-side session cache and (OpenSSL's default) tickets.
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_SERVER);
  static const unsigned char kContext[] = "vigil-syncd";
  SSL_CTX_set_session_id_context(native, kContext, sizeof kContext - 1);
  SSL_CTX_sess_set_cache_size(native, 20000);
  // An idle connection gives OpenSSL's record buffers back (a small part of what an idle TLS
  // connection costs with OpenSSL 3: docs/performance.md, idle connections).
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  beast::error_code ec;
  ctx.use_certificate_chain_file(options.cert_path, ec);
  if (ec)
    return Status::FailedPrecondition("TLS certificate " + options.cert_path + ": " + ec.message());
  ctx.use_private_key_file(options.key_path, ssl::context::pem, ec);
  if (ec) return Status::FailedPrecondition("TLS key " + options.key_path + ": " + ec.message());
  return Status::Ok();
}

}  // namespace vigil::syncd::server_internal

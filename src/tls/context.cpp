// SPDX-License-Identifier: MIT
// tls::context: building and configuring the SSL_CTX, as ssl.SSLContext does.
#include "aio/tls/context.hpp"

#include <dirent.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "context_state.hpp"
#include "openssl.hpp"

namespace aio::tls {

namespace detail {

namespace {

// The server's ALPN choice: the first of its own protocols the client offers.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void* arg) {
  auto* s = static_cast<const context_state*>(arg);
  if (s->alpn.empty() || inlen == 0) return SSL_TLSEXT_ERR_NOACK;
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, outlen, s->alpn.data(), static_cast<unsigned>(s->alpn.size()),
                            in, inlen) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

context_state::context_state(bool server_side) : server(server_side) {
  ctx = SSL_CTX_new(server_side ? TLS_server_method() : TLS_client_method());
  if (!ctx) throw_config_error("cannot create an SSL_CTX");
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION);
  // OpenSSL's 34 KiB of record buffers go back to malloc while a connection
  // is idle, as CPython and nginx set it: 10,000 quiet connections keep 340 MB less.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  if (server_side) {
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
    // Without it, resuming a session of a verified client fails.
    static const unsigned char sid[] = "aiocpp";
    SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1);
    SSL_CTX_set_alpn_select_cb(ctx, &select_alpn, this);
  } else {
    check_hostname = true;
    mode = verify_mode::required;
    // Tickets go to our per-server cache (OpenSSL's own is for servers).
    resume_sessions = true;
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, &remember_session);
  }
  apply_verify_mode();
}

context_state::~context_state() { SSL_CTX_free(ctx); }

void context_state::apply_verify_mode() noexcept {
  int flags = SSL_VERIFY_NONE;
  if (mode != verify_mode::none) flags = SSL_VERIFY_PEER;
  if (server && mode == verify_mode::required) flags |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  SSL_CTX_set_verify(ctx, flags, nullptr);
}

}  // namespace detail

namespace {

using detail::bio_ptr;
using detail::pkey_ptr;
using detail::throw_config_error;
using detail::x509_ptr;

// An encrypted key is decrypted with the given password; without one the
// callback refuses instead of letting OpenSSL prompt on the terminal.
int password_cb(char* buf, int size, int /*rwflag*/, void* u) {
  auto* pw = static_cast<const std::optional<std::string>*>(u);
  if (!pw || !pw->has_value()) return -1;
  const std::string& p = **pw;
  if (p.size() > static_cast<std::size_t>(size)) return -1;
  std::memcpy(buf, p.data(), p.size());
  return static_cast<int>(p.size());
}

// Python raises FileNotFoundError before OpenSSL sees a missing file; so do we.
void require_readable(const std::string& path, const char* what) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f)
    throw std::system_error(errno, std::generic_category(),
                            std::string("cannot open ") + what + " " + path);
  std::fclose(f);
}

void require_directory(const std::string& path) {
  DIR* d = ::opendir(path.c_str());
  if (!d)
    throw std::system_error(errno, std::generic_category(), "cannot open CA directory " + path);
  ::closedir(d);
}

bio_ptr memory_bio(std::string_view text) {
  bio_ptr b(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!b) throw_config_error("cannot allocate a memory BIO");
  return b;
}

// OpenSSL fills each certificate's extension cache on first use, testing its
// "done" flag outside the lock: loops on several threads verifying against one
// context race on it (ThreadSanitizer sees it). Filling the caches of the CA
// certificates here, before the context is shared, leaves nothing to race on.
// Certificates a capath loads lazily still fill theirs at first use.
void fill_extension_caches(X509_STORE* store) noexcept {
  STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(store);
  for (int i = 0; i < sk_X509_OBJECT_num(objects); ++i)
    if (X509* cert = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objects, i)))
      X509_check_purpose(cert, -1, 0);
}

int openssl_version(version v) { return v == version::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION; }

}  // namespace

context context::client() { return context(std::make_shared<detail::context_state>(false)); }

context context::server() { return context(std::make_shared<detail::context_state>(true)); }

context context::server(const std::string& certfile, const std::string& keyfile) {
  context c = server();
  c.load_cert_chain(certfile, keyfile);
  return c;
}

context context::server_from_pem(std::string_view cert_chain_pem, std::string_view key_pem) {
  context c = server();
  c.load_cert_chain_pem(cert_chain_pem, key_pem);
  return c;
}

void context::load_verify_locations(const verify_locations& where) {
  state_->changed();
  SSL_CTX* ctx = state_->ctx;
  ERR_clear_error();
  if (!where.cafile.empty()) require_readable(where.cafile, "CA file");
  if (!where.capath.empty()) require_directory(where.capath);
  if (!where.cafile.empty() || !where.capath.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, where.cafile.empty() ? nullptr : where.cafile.c_str(),
                                      where.capath.empty() ? nullptr : where.capath.c_str()) != 1)
      throw_config_error("cannot load CA certificates from " +
                         (where.cafile.empty() ? where.capath : where.cafile));
  }
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  if (where.cadata.empty()) return fill_extension_caches(store);
  int added = 0;
  if (where.cadata.find("-----BEGIN") != std::string::npos) {
    bio_ptr b = memory_bio(where.cadata);
    while (x509_ptr cert{PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr)}) {
      if (X509_STORE_add_cert(store, cert.get()) != 1)
        throw_config_error("cannot add a CA certificate from cadata");
      ++added;
    }
  } else {
    auto* p = reinterpret_cast<const unsigned char*>(where.cadata.data());
    const unsigned char* end = p + where.cadata.size();
    while (p < end) {
      x509_ptr cert{d2i_X509(nullptr, &p, static_cast<long>(end - p))};
      if (!cert) throw_config_error("cadata holds bytes that are not a DER certificate");
      if (X509_STORE_add_cert(store, cert.get()) != 1)
        throw_config_error("cannot add a CA certificate from cadata");
      ++added;
    }
  }
  ERR_clear_error();  // the PEM loop ends on a "no start line" entry
  if (added == 0) throw error(errc::invalid_configuration, "cadata holds no PEM certificate");
  fill_extension_caches(store);
}

void context::load_default_certs() {
  state_->changed();
  ERR_clear_error();
  if (SSL_CTX_set_default_verify_paths(state_->ctx) != 1)
    throw_config_error("cannot load the system CA store");
  fill_extension_caches(SSL_CTX_get_cert_store(state_->ctx));
}

void context::load_cert_chain(const std::string& certfile, const std::string& keyfile,
                              const std::optional<std::string>& password) {
  state_->changed();
  SSL_CTX* ctx = state_->ctx;
  const std::string& keypath = keyfile.empty() ? certfile : keyfile;
  require_readable(certfile, "certificate file");
  require_readable(keypath, "key file");
  ERR_clear_error();
  // The callback stays installed only for this call: it points at `password`.
  SSL_CTX_set_default_passwd_cb(ctx, &password_cb);
  SSL_CTX_set_default_passwd_cb_userdata(ctx, const_cast<std::optional<std::string>*>(&password));
  struct reset {
    SSL_CTX* ctx;
    ~reset() { SSL_CTX_set_default_passwd_cb_userdata(ctx, nullptr); }
  } reset_userdata{ctx};
  if (SSL_CTX_use_certificate_chain_file(ctx, certfile.c_str()) != 1)
    throw_config_error("cannot load the certificate chain from " + certfile);
  if (SSL_CTX_use_PrivateKey_file(ctx, keypath.c_str(), SSL_FILETYPE_PEM) != 1)
    throw_config_error("cannot load the private key from " + keypath);
  if (SSL_CTX_check_private_key(ctx) != 1)
    throw_config_error("the private key in " + keypath + " does not match the certificate in " +
                       certfile);
}

void context::load_cert_chain_pem(std::string_view cert_chain_pem, std::string_view key_pem,
                                  const std::optional<std::string>& password) {
  state_->changed();
  SSL_CTX* ctx = state_->ctx;
  ERR_clear_error();
  bio_ptr certs = memory_bio(cert_chain_pem);
  x509_ptr leaf{PEM_read_bio_X509_AUX(certs.get(), nullptr, nullptr, nullptr)};
  if (!leaf) throw_config_error("cannot read the certificate from PEM text");
  if (SSL_CTX_use_certificate(ctx, leaf.get()) != 1)
    throw_config_error("cannot use the certificate");
  SSL_CTX_clear_chain_certs(ctx);
  while (x509_ptr ca{PEM_read_bio_X509(certs.get(), nullptr, nullptr, nullptr)}) {
    if (SSL_CTX_add0_chain_cert(ctx, ca.get()) != 1)
      throw_config_error("cannot add a chain certificate");
    ca.release();  // owned by the SSL_CTX now
  }
  ERR_clear_error();  // the loop ends on a "no start line" entry
  bio_ptr keys = memory_bio(key_pem.empty() ? cert_chain_pem : key_pem);
  pkey_ptr key{PEM_read_bio_PrivateKey(keys.get(), nullptr, &password_cb,
                                       const_cast<std::optional<std::string>*>(&password))};
  if (!key) throw_config_error("cannot read the private key from PEM text");
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1) throw_config_error("cannot use the private key");
  if (SSL_CTX_check_private_key(ctx) != 1)
    throw_config_error("the private key does not match the certificate");
}

void context::set_alpn_protocols(const std::vector<std::string>& protocols) {
  state_->changed();
  std::vector<unsigned char> wire;
  for (const auto& p : protocols) {
    if (p.empty() || p.size() > 255)
      throw std::invalid_argument("ALPN protocol names must be 1 to 255 bytes long: '" + p + "'");
    wire.push_back(static_cast<unsigned char>(p.size()));
    wire.insert(wire.end(), p.begin(), p.end());
  }
  if (!state_->server) {
    // Returns 0 on success, unlike the rest of OpenSSL.
    if (SSL_CTX_set_alpn_protos(state_->ctx, wire.empty() ? nullptr : wire.data(),
                                static_cast<unsigned>(wire.size())) != 0)
      throw_config_error("cannot set the ALPN protocols");
  }
  state_->alpn = std::move(wire);
}

void context::set_verify_mode(tls::verify_mode mode) {
  state_->changed();
  if (mode == tls::verify_mode::none && state_->check_hostname)
    throw std::invalid_argument("cannot set verify_mode to none when check_hostname is enabled");
  state_->mode = mode;
  state_->apply_verify_mode();
}

tls::verify_mode context::verify_mode() const noexcept { return state_->mode; }

void context::set_check_hostname(bool on) {
  state_->changed();
  state_->check_hostname = on;
  if (on && state_->mode == tls::verify_mode::none) {
    state_->mode = tls::verify_mode::required;
    state_->apply_verify_mode();
  }
}

bool context::check_hostname() const noexcept { return state_->check_hostname; }

void context::set_minimum_version(version v) {
  state_->changed();
  ERR_clear_error();
  if (SSL_CTX_set_min_proto_version(state_->ctx, openssl_version(v)) != 1)
    throw_config_error("cannot set the minimum TLS version");
}

void context::set_maximum_version(version v) {
  state_->changed();
  ERR_clear_error();
  if (SSL_CTX_set_max_proto_version(state_->ctx, openssl_version(v)) != 1)
    throw_config_error("cannot set the maximum TLS version");
}

void context::set_ciphers(const std::string& ciphers) {
  state_->changed();
  ERR_clear_error();
  if (SSL_CTX_set_cipher_list(state_->ctx, ciphers.c_str()) != 1)
    throw_config_error("no usable cipher in '" + ciphers + "'");
}

void context::set_ciphersuites(const std::string& suites) {
  state_->changed();
  ERR_clear_error();
  if (SSL_CTX_set_ciphersuites(state_->ctx, suites.c_str()) != 1)
    throw_config_error("no usable TLS 1.3 cipher suite in '" + suites + "'");
}

void context::set_session_resumption(bool on) {
  state_->changed();
  state_->resume_sessions = on && !state_->server;
}

bool context::session_resumption() const noexcept { return state_->resume_sessions; }

bool context::server_side() const noexcept { return state_->server; }

void* context::native_handle() const noexcept { return state_->ctx; }

task<std::unique_ptr<transport>> context::wrap_client(std::unique_ptr<transport> inner,
                                                      std::string server_hostname,
                                                      std::string leftover) const {
  return state_->wrap_client(std::move(inner), std::move(server_hostname), std::move(leftover));
}

task<std::unique_ptr<transport>> context::wrap_server(std::unique_ptr<transport> inner,
                                                      std::string leftover) const {
  return state_->wrap_server(std::move(inner), std::move(leftover));
}

context::operator std::shared_ptr<const secure_layer>() const noexcept { return state_; }

std::shared_ptr<const secure_layer> context::layer() const noexcept { return state_; }

context create_default_context(purpose p) {
  context c = p == purpose::server_auth ? context::client() : context::server();
  c.load_default_certs();
  return c;
}

context create_default_context(purpose p, const verify_locations& where) {
  context c = create_default_context(p);
  c.load_verify_locations(where);
  return c;
}

}  // namespace aio::tls

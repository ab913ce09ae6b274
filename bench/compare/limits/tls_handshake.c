// SPDX-License-Identifier: MIT
// The ceiling OpenSSL itself puts on the tls_handshake workload: full TLS
// handshakes between a client and a server SSL object in memory (a BIO pair,
// no sockets, no event loop), with the same contexts as the benchmark: a
// P-256 certificate, the client verifying it and the host name, one 100-byte
// round trip, close_notify both ways. One thread per core, each running
// client and server in turn: what the machine could do if everything but
// OpenSSL cost nothing.
//
//   tls_handshake CERT KEY [TOTAL] [THREADS]   -> prints handshakes/s
#define _GNU_SOURCE
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static SSL_CTX *server_ctx, *client_ctx;
static long per_thread;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static void fail(const char* what) {
  fprintf(stderr, "tls_handshake: %s\n", what);
  ERR_print_errors_fp(stderr);
  exit(1);
}

// Drives both ends until neither wants to make progress; true once both are done.
static int pump(SSL* client, SSL* server, int (*step)(SSL*)) {
  for (int round = 0; round < 64; round++) {
    int c = step(client), s = step(server);
    if (c > 0 && s > 0) return 1;
    if (c <= 0 && SSL_get_error(client, c) != SSL_ERROR_WANT_READ) return 0;
    if (s <= 0 && SSL_get_error(server, s) != SSL_ERROR_WANT_READ) return 0;
  }
  return 0;
}

static int handshake(SSL* s) { return SSL_do_handshake(s); }

static void* run(void* unused) {
  (void)unused;
  char msg[100], back[100];
  memset(msg, 'a', sizeof msg);
  for (long i = 0; i < per_thread; i++) {
    SSL* client = SSL_new(client_ctx);
    SSL* server = SSL_new(server_ctx);
    BIO *cb, *sb;
    if (!client || !server || !BIO_new_bio_pair(&cb, 0, &sb, 0)) fail("SSL_new");
    SSL_set_bio(client, cb, cb);
    SSL_set_bio(server, sb, sb);
    SSL_set_connect_state(client);
    SSL_set_accept_state(server);
    SSL_set_tlsext_host_name(client, "localhost");
    SSL_set1_host(client, "localhost");
    if (!pump(client, server, handshake)) fail("handshake");
    // One round trip, as the benchmark's clients make; the server's session
    // tickets are read here too.
    if (SSL_write(client, msg, sizeof msg) != sizeof msg) fail("client write");
    if (SSL_read(server, back, sizeof back) != sizeof back) fail("server read");
    if (SSL_write(server, back, sizeof back) != sizeof back) fail("server write");
    if (SSL_read(client, back, sizeof back) != sizeof back) fail("client read");
    SSL_shutdown(client);
    SSL_shutdown(server);
    SSL_free(client);
    SSL_free(server);
  }
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: tls_handshake CERT KEY [TOTAL] [THREADS]\n");
    return 2;
  }
  long total = argc > 3 ? atol(argv[3]) : 20000;
  int threads = argc > 4 ? atoi(argv[4]) : 2;
  per_thread = total / threads;
  server_ctx = SSL_CTX_new(TLS_server_method());
  client_ctx = SSL_CTX_new(TLS_client_method());
  if (!server_ctx || !client_ctx) fail("SSL_CTX_new");
  if (SSL_CTX_use_certificate_chain_file(server_ctx, argv[1]) != 1 ||
      SSL_CTX_use_PrivateKey_file(server_ctx, argv[2], SSL_FILETYPE_PEM) != 1)
    fail("server certificate");
  SSL_CTX_set_min_proto_version(client_ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(client_ctx, SSL_VERIFY_PEER, NULL);
  if (SSL_CTX_load_verify_locations(client_ctx, argv[1], NULL) != 1) fail("client trust");
  SSL_CTX_set_session_cache_mode(client_ctx, SSL_SESS_CACHE_OFF);  // full handshakes, as measured

  pthread_t tid[64];
  if (threads < 1 || threads > 64) fail("THREADS must be 1..64");
  double t0 = now();
  for (int i = 0; i < threads; i++) pthread_create(&tid[i], NULL, run, NULL);
  for (int i = 0; i < threads; i++) pthread_join(tid[i], NULL);
  printf("%.0f\n", (double)(per_thread * threads) / (now() - t0));
  SSL_CTX_free(server_ctx);
  SSL_CTX_free(client_ctx);
  return 0;
}

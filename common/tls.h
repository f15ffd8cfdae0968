/* SPDX-License-Identifier: ISC */
/*
 * TLS server contexts: TLS 1.2 and 1.3 only, modern ciphers, buffers
 * released while idle (SSL_MODE_RELEASE_BUFFERS) so idle TLS sessions stay
 * small.  Contexts are reference counted by OpenSSL: a SIGHUP reload makes a
 * new one for new handshakes while running sessions keep theirs.
 */
#ifndef POSTROOM_TLS_H
#define POSTROOM_TLS_H

#include <openssl/ssl.h>

/* Build a server context from PEM files.  Returns NULL and an error text
 * in *err_r (static or thread-local storage) on failure. */
SSL_CTX *tls_server_ctx_new(const char *cert_path, const char *key_path,
    const char **err_r);

/*
 * If cert_path or key_path does not exist, create a self-signed certificate
 * (EC P-256, 10 years) for hostname with subjectAltName DNS:hostname,
 * DNS:localhost, IP:127.0.0.1 (and DNS:127.0.0.1 for clients that ignore IP
 * entries).  The key file is written mode 0600.  Returns 0, 1 when it made a
 * new pair, -1 on error with *err_r set.
 */
int tls_ensure_selfsigned(const char *cert_path, const char *key_path,
    const char *hostname, const char **err_r);

#endif

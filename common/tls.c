/* SPDX-License-Identifier: ISC */
/*
 * TLS server contexts and the self-signed certificate made on first start.
 *
 * The context policy is deliberately fixed rather than configurable: TLS
 * 1.2 and 1.3 only, forward-secret AEAD suites for 1.2 (1.3 suites are all
 * fine), no compression (CRIME), no renegotiation (a cheap DoS lever).
 *
 * The self-signed pair exists so that STARTTLS works out of the box; real
 * deployments point the configuration at a proper certificate.  Files are
 * written under temporary names and renamed into place, so a crash leaves
 * either the old state or a complete new file, never half a key.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "common/tls.h"
#include "common/xmalloc.h"

/* ECDHE key exchange and AEAD ciphers only, for TLS 1.2 clients. */
#define TLS12_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

#define SELFSIGNED_DAYS	3650

static _Thread_local char tls_errbuf[512];

/* Format an error for *err_r, with OpenSSL's reason appended if any. */
static const char *
tls_error(const char *what, const char *path)
{
	unsigned long e = ERR_peek_last_error();
	const char *why = e != 0 ? ERR_reason_error_string(e) : NULL;

	if (why == NULL && errno != 0)
		why = strerror(errno);
	snprintf(tls_errbuf, sizeof(tls_errbuf), "%s%s%s: %s", what,
	    path != NULL ? " " : "", path != NULL ? path : "",
	    why != NULL ? why : "unknown error");
	ERR_clear_error();
	return tls_errbuf;
}

SSL_CTX *
tls_server_ctx_new(const char *cert_path, const char *key_path,
    const char **err_r)
{
	SSL_CTX *ctx;

	ERR_clear_error();
	errno = 0;
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		*err_r = tls_error("cannot create TLS context", NULL);
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
		*err_r = tls_error("cannot set TLS versions", NULL);
		goto fail;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1) {
		*err_r = tls_error("cannot set TLS 1.2 ciphers", NULL);
		goto fail;
	}
	/* Idle sessions give their 30+ KB of record buffers back. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);

	if (SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1) {
		*err_r = tls_error("cannot load certificate chain", cert_path);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1) {
		*err_r = tls_error("cannot load private key", key_path);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		*err_r = tls_error("private key does not match certificate",
		    key_path);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* mkdir -p for the directory part of path; new directories are 0700. */
static int
tls_make_parent_dirs(const char *path, const char **err_r)
{
	char *dir = xstrdup(path);
	struct stat st;

	for (char *p = dir + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (stat(dir, &st) == -1) {
			if (errno != ENOENT || (mkdir(dir, 0700) == -1 &&
			    errno != EEXIST)) {
				*err_r = tls_error("cannot create directory",
				    dir);
				free(dir);
				return -1;
			}
		} else if (!S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			*err_r = tls_error("not a directory", dir);
			free(dir);
			return -1;
		}
		*p = '/';
	}
	free(dir);
	return 0;
}

static int
tls_add_dns(GENERAL_NAMES *gens, const char *name)
{
	GENERAL_NAME *gen;
	ASN1_IA5STRING *ia5;

	/* The same name twice (hostname "localhost") is legal but noise. */
	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		int type;
		const ASN1_IA5STRING *v =
		    GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(gens, i),
		    &type);

		if (type == GEN_DNS && (size_t)ASN1_STRING_length(v) ==
		    strlen(name) && memcmp(ASN1_STRING_get0_data(v), name,
		    strlen(name)) == 0)
			return 0;
	}
	if ((gen = GENERAL_NAME_new()) == NULL)
		return -1;
	if ((ia5 = ASN1_IA5STRING_new()) == NULL ||
	    ASN1_STRING_set(ia5, name, -1) != 1) {
		ASN1_IA5STRING_free(ia5);
		GENERAL_NAME_free(gen);
		return -1;
	}
	GENERAL_NAME_set0_value(gen, GEN_DNS, ia5);
	if (sk_GENERAL_NAME_push(gens, gen) == 0) {
		GENERAL_NAME_free(gen);
		return -1;
	}
	return 0;
}

static int
tls_add_ipv4(GENERAL_NAMES *gens, const unsigned char addr[4])
{
	GENERAL_NAME *gen;
	ASN1_OCTET_STRING *ip;

	if ((gen = GENERAL_NAME_new()) == NULL)
		return -1;
	if ((ip = ASN1_OCTET_STRING_new()) == NULL ||
	    ASN1_OCTET_STRING_set(ip, addr, 4) != 1) {
		ASN1_OCTET_STRING_free(ip);
		GENERAL_NAME_free(gen);
		return -1;
	}
	GENERAL_NAME_set0_value(gen, GEN_IPADD, ip);
	if (sk_GENERAL_NAME_push(gens, gen) == 0) {
		GENERAL_NAME_free(gen);
		return -1;
	}
	return 0;
}

/*
 * The extensions that make the certificate acceptable to hostname
 * checking clients: names in subjectAltName (CN alone is ignored by
 * modern clients), and an end-entity basicConstraints.
 */
static int
tls_add_extensions(X509 *x, const char *hostname)
{
	static const unsigned char loopback[4] = { 127, 0, 0, 1 };
	GENERAL_NAMES *gens;
	BASIC_CONSTRAINTS *bc;
	int ok;

	if ((gens = GENERAL_NAMES_new()) == NULL)
		return -1;
	ok = tls_add_dns(gens, hostname) == 0 &&
	    tls_add_dns(gens, "localhost") == 0 &&
	    tls_add_dns(gens, "127.0.0.1") == 0 &&
	    tls_add_ipv4(gens, loopback) == 0 &&
	    X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0,
	    X509V3_ADD_DEFAULT) == 1;
	GENERAL_NAMES_free(gens);
	if (!ok)
		return -1;

	if ((bc = BASIC_CONSTRAINTS_new()) == NULL)
		return -1;
	bc->ca = 0;
	ok = X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1,
	    X509V3_ADD_DEFAULT) == 1;
	BASIC_CONSTRAINTS_free(bc);
	return ok ? 0 : -1;
}

/* A self-signed certificate for key, or NULL. */
static X509 *
tls_make_cert(EVP_PKEY *key, const char *hostname)
{
	X509 *x;
	X509_NAME *name;
	BIGNUM *serial = NULL;

	if ((x = X509_new()) == NULL)
		return NULL;
	if (X509_set_version(x, X509_VERSION_3) != 1)
		goto fail;
	/* 159 random bits: positive and within the 20-octet limit. */
	if ((serial = BN_new()) == NULL ||
	    BN_rand(serial, 159, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
	    BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) == NULL)
		goto fail;
	if (X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), SELFSIGNED_DAYS, 0,
	    NULL) == NULL)
		goto fail;
	if (X509_set_pubkey(x, key) != 1)
		goto fail;
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)hostname, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1)
		goto fail;
	if (tls_add_extensions(x, hostname) == -1)
		goto fail;
	if (X509_sign(x, key, EVP_sha256()) == 0)
		goto fail;
	BN_free(serial);
	return x;
fail:
	BN_free(serial);
	X509_free(x);
	return NULL;
}

/*
 * Write a PEM file atomically: a fresh temporary file created with the
 * final mode (never readable by others, even briefly, for the key),
 * flushed to disk, then renamed over path.
 */
static int
tls_write_pem(const char *path, mode_t mode, EVP_PKEY *key, X509 *cert,
    const char **err_r)
{
	char *tmp = xasprintf("%s.tmp%ld", path, (long)getpid());
	FILE *f;
	int fd, ok;

	(void)unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    mode)) == -1) {
		*err_r = tls_error("cannot create", tmp);
		free(tmp);
		return -1;
	}
	/* The umask must not loosen or tighten what we asked for. */
	if (fchmod(fd, mode) == -1 || (f = fdopen(fd, "w")) == NULL) {
		*err_r = tls_error("cannot open", tmp);
		close(fd);
		goto fail;
	}
	if (key != NULL)
		ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	else
		ok = PEM_write_X509(f, cert);
	if (!ok || fflush(f) != 0 || fsync(fileno(f)) != 0) {
		*err_r = tls_error("cannot write", tmp);
		fclose(f);
		goto fail;
	}
	if (fclose(f) != 0) {
		*err_r = tls_error("cannot write", tmp);
		goto fail;
	}
	if (rename(tmp, path) == -1) {
		*err_r = tls_error("cannot rename to", path);
		goto fail;
	}
	free(tmp);
	return 0;
fail:
	(void)unlink(tmp);
	free(tmp);
	return -1;
}

int
tls_ensure_selfsigned(const char *cert_path, const char *key_path,
    const char *hostname, const char **err_r)
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	int ret = -1;

	ERR_clear_error();
	errno = 0;
	if (access(cert_path, F_OK) == 0 && access(key_path, F_OK) == 0)
		return 0;
	if (hostname == NULL || *hostname == '\0') {
		*err_r = "self-signed certificate: empty hostname";
		return -1;
	}
	if (tls_make_parent_dirs(key_path, err_r) == -1 ||
	    tls_make_parent_dirs(cert_path, err_r) == -1)
		return -1;

	errno = 0;
	if ((key = EVP_EC_gen("P-256")) == NULL) {
		*err_r = tls_error("cannot generate EC P-256 key", NULL);
		goto done;
	}
	if ((cert = tls_make_cert(key, hostname)) == NULL) {
		*err_r = tls_error("cannot make certificate for", hostname);
		goto done;
	}
	/*
	 * A lone surviving half of a pair is useless.  Remove the old
	 * certificate and write the key first: a crash in between leaves
	 * the certificate missing, so the next start makes a new pair
	 * instead of loading a key that does not match.
	 */
	if (unlink(cert_path) == -1 && errno != ENOENT) {
		*err_r = tls_error("cannot remove", cert_path);
		goto done;
	}
	if (tls_write_pem(key_path, 0600, key, NULL, err_r) == -1 ||
	    tls_write_pem(cert_path, 0644, NULL, cert, err_r) == -1)
		goto done;
	ret = 1;
done:
	X509_free(cert);
	EVP_PKEY_free(key);
	return ret;
}

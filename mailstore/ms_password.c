/* SPDX-License-Identifier: ISC */
/*
 * Password hashing with yescrypt through libxcrypt, and the password check
 * against a user's stored hash.
 *
 * crypt_ra() keeps its working memory in a buffer we own, so hashing is
 * safe on several threads at once (auth workers, the CLI); the buffer is
 * wiped before it is freed because it held the password.  The check hashes
 * even for an unknown user, against a fixed dummy hash, so the answer time
 * does not tell which addresses exist.  Recent successes are remembered
 * (ms_authcache.c) so repeated logins of a client do not pay the hash.
 */
#include "autoconfig.h"

#include <crypt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "mailstore/ms_addr.h"
#include "mailstore/ms_authcache.h"
#include "mailstore/ms_internal.h"

/* Compare without an early exit, so timing does not reveal how many
 * leading bytes of a guess were right. */
static bool
ct_streq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned char diff = la != lb;

	if (la != lb)
		b = a;
	for (i = 0; i < la; i++)
		diff |= (unsigned char)a[i] ^ (unsigned char)b[i];
	return diff == 0;
}

/* crypt_ra() with the scratch buffer wiped; a malloc'ed result or NULL.
 * libxcrypt reports failure with a string starting with '*'. */
static char *
hash_with(const char *password, const char *setting)
{
	void *data = NULL;
	int size = 0;
	const char *out;
	char *res = NULL;

	out = crypt_ra(password, setting, &data, &size);
	if (out != NULL && out[0] != '*')
		res = xstrdup(out);
	if (data != NULL) {
		explicit_bzero(data, (size_t)size);
		free(data);
	}
	return res;
}

char *
ms_password_hash(const char *password)
{
	char *setting, *res;

	/* Count 0 picks libxcrypt's default cost for yescrypt. */
	setting = crypt_gensalt_ra("$y$", 0, NULL, 0);
	if (setting == NULL) {
		log_warn("mailstore: crypt_gensalt");
		return NULL;
	}
	res = hash_with(password, setting);
	free(setting);
	if (res == NULL)
		log_warnx("mailstore: password hashing failed");
	return res;
}

bool
ms_password_verify(const char *password, const char *hash)
{
	char *computed;
	bool ok;

	if (hash == NULL || hash[0] == '\0' || hash[0] == '*')
		return false;
	if ((computed = hash_with(password, hash)) == NULL)
		return false;
	ok = ct_streq(computed, hash);
	explicit_bzero(computed, strlen(computed));
	free(computed);
	return ok;
}

static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char *dummy_hash;

static void
dummy_init(void)
{
	dummy_hash = ms_password_hash("postroom-no-such-user");
}

int
ms_user_check_password(struct ms_store *ms, const char *address,
    const char *password, ms_id *user_id_r)
{
	static const char sql[] =
	    "SELECT id, password_hash FROM users WHERE address = ?1";
	sqlite3_stmt *st;
	char *addr, *hash = NULL;
	ms_id id = 0;
	int rc, status;

	if ((addr = ms_addr_normalize(address, false)) == NULL)
		return MS_INVALID;
	if ((st = ms_stmt(ms, sql)) == NULL) {
		free(addr);
		return MS_ERROR;
	}
	sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
	rc = ms_step(ms, st);
	if (rc == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		hash = xstrdup((const char *)sqlite3_column_text(st, 1));
	}
	/* Reset before hashing: the read transaction must not stay open
	 * for the tens of milliseconds yescrypt takes. */
	sqlite3_reset(st);
	free(addr);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return MS_ERROR;
	if (hash == NULL) {
		pthread_once(&dummy_once, dummy_init);
		(void)ms_password_verify(password, dummy_hash);
		return MS_NOT_FOUND;
	}
	if (ms_authcache_check(id, hash, password)) {
		*user_id_r = id;
		status = MS_OK;
	} else if (ms_password_verify(password, hash)) {
		ms_authcache_add(id, hash, password);
		*user_id_r = id;
		status = MS_OK;
	} else
		status = MS_INVALID;
	free(hash);
	return status;
}

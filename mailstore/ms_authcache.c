/* SPDX-License-Identifier: ISC */
/*
 * Recent successful password checks; see ms_authcache.h for the why.
 * The table is small and direct-mapped on the user id: a collision just
 * costs one extra yescrypt run later.
 */
#include "autoconfig.h"

#include <pthread.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "common/log.h"
#include "mailstore/ms_authcache.h"

#define CACHE_SLOTS	1024
#define DIGEST_LEN	32

struct cache_entry {
	ms_id		 user_id;	/* 0 = empty */
	time_t		 added;		/* monotonic seconds */
	unsigned char	 hash_digest[DIGEST_LEN];	/* of the stored hash */
	unsigned char	 pass_mac[DIGEST_LEN];		/* HMAC(key, password) */
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cache_entry cache[CACHE_SLOTS];
static unsigned char cache_key[32];
static bool cache_key_ready;

static time_t
now_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* HMAC-SHA256 of s under the process key; false if OpenSSL fails (then we
 * simply do not cache).  Called with cache_lock held. */
static bool
mac(const char *s, unsigned char out[DIGEST_LEN])
{
	unsigned int len = 0;

	if (!cache_key_ready) {
		if (RAND_bytes(cache_key, sizeof(cache_key)) != 1)
			return false;
		cache_key_ready = true;
	}
	if (HMAC(EVP_sha256(), cache_key, (int)sizeof(cache_key),
	    (const unsigned char *)s, strlen(s), out, &len) == NULL)
		return false;
	return len == DIGEST_LEN;
}

static struct cache_entry *
slot_for(ms_id user_id)
{
	return &cache[(uint64_t)user_id % CACHE_SLOTS];
}

bool
ms_authcache_check(ms_id user_id, const char *stored_hash, const char *password)
{
	unsigned char hd[DIGEST_LEN], pm[DIGEST_LEN];
	struct cache_entry *e;
	bool hit = false;

	if (user_id <= 0)
		return false;
	pthread_mutex_lock(&cache_lock);
	e = slot_for(user_id);
	if (e->user_id == user_id &&
	    now_monotonic() - e->added < MS_AUTHCACHE_TTL &&
	    mac(stored_hash, hd) && mac(password, pm))
		hit = CRYPTO_memcmp(hd, e->hash_digest, DIGEST_LEN) == 0 &&
		    CRYPTO_memcmp(pm, e->pass_mac, DIGEST_LEN) == 0;
	pthread_mutex_unlock(&cache_lock);
	return hit;
}

void
ms_authcache_add(ms_id user_id, const char *stored_hash, const char *password)
{
	struct cache_entry e = { .user_id = user_id };

	if (user_id <= 0)
		return;
	pthread_mutex_lock(&cache_lock);
	if (mac(stored_hash, e.hash_digest) && mac(password, e.pass_mac)) {
		e.added = now_monotonic();
		*slot_for(user_id) = e;
	}
	pthread_mutex_unlock(&cache_lock);
}

void
ms_authcache_clear(void)
{
	pthread_mutex_lock(&cache_lock);
	memset(cache, 0, sizeof(cache));
	pthread_mutex_unlock(&cache_lock);
}

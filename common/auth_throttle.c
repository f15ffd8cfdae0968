/* SPDX-License-Identifier: ISC */
/*
 * The login throttle table (see auth_throttle.h for the policy).
 *
 * One hash table holds both kinds of record.  A per-IP record's key is the
 * IP text; a per-user record's key is the IP text, a NUL byte and the
 * lower-cased user name, so the two kinds never collide.  Every record is
 * also on a list ordered by last update, newest first: the oldest end is
 * swept of expired records at each update and gives up its last record when
 * the table is full, which keeps memory bounded whatever peers send.
 *
 * Failures per IP are counted in ten one-minute slots, a cheap sliding
 * window that needs no per-failure timestamps.
 */
#include "autoconfig.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/auth_throttle.h"
#include "common/xmalloc.h"

#define IP_SLOTS	(AUTH_THROTTLE_IP_WINDOW / 60)
#define KEY_IP_MAX	128	/* longer IP text is cut (never seen in practice) */
#define KEY_USER_MAX	255	/* longest useful address; longer names are cut */

struct throttle_entry {
	struct throttle_entry	*chain;		/* next in the same bucket */
	struct throttle_entry	*newer;		/* update-order list */
	struct throttle_entry	*older;
	uint64_t		 hash;
	bool			 is_ip;

	/* per (user, ip) */
	unsigned		 fails;		/* consecutive failures */
	double			 last_fail;	/* seconds */

	/* per ip */
	double			 last_success;	/* -HUGE_VAL: none */
	double			 blocked_until;	/* -HUGE_VAL: never blocked */
	int64_t			 slot_minute[IP_SLOTS];
	uint32_t		 slot_fails[IP_SLOTS];

	size_t			 keylen;
	char			 key[];		/* not NUL-terminated */
};

struct auth_throttle {
	struct throttle_entry	**buckets;
	size_t			 nbuckets;	/* power of two */
	size_t			 count;
	size_t			 max;
	struct throttle_entry	*newest;
	struct throttle_entry	*oldest;
	uint64_t		 k0, k1;	/* hash key */
};

/* ----------------------------------------------------------- the hash */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static void
sip_round(uint64_t v[4])
{
	v[0] += v[1]; v[1] = ROTL(v[1], 13); v[1] ^= v[0]; v[0] = ROTL(v[0], 32);
	v[2] += v[3]; v[3] = ROTL(v[3], 16); v[3] ^= v[2];
	v[0] += v[3]; v[3] = ROTL(v[3], 21); v[3] ^= v[0];
	v[2] += v[1]; v[1] = ROTL(v[1], 17); v[1] ^= v[2]; v[2] = ROTL(v[2], 32);
}

static uint64_t
load_le64(const unsigned char *p, size_t n)
{
	uint64_t w = 0;

	while (n-- > 0)
		w = (w << 8) | p[n];
	return w;
}

/*
 * SipHash-2-4: keyed, so bucket choice is unpredictable to a peer that
 * picks user names or source addresses to lengthen one chain.
 */
static uint64_t
throttle_hash(const struct auth_throttle *t, const char *key, size_t len)
{
	const unsigned char *p = (const unsigned char *)key;
	uint64_t v[4] = {
		t->k0 ^ 0x736f6d6570736575ULL, t->k1 ^ 0x646f72616e646f6dULL,
		t->k0 ^ 0x6c7967656e657261ULL, t->k1 ^ 0x7465646279746573ULL,
	};
	size_t left = len;
	uint64_t m;

	for (; left >= 8; p += 8, left -= 8) {
		m = load_le64(p, 8);
		v[3] ^= m;
		sip_round(v);
		sip_round(v);
		v[0] ^= m;
	}
	m = load_le64(p, left) | ((uint64_t)len << 56);
	v[3] ^= m;
	sip_round(v);
	sip_round(v);
	v[0] ^= m;
	v[2] ^= 0xff;
	for (int i = 0; i < 4; i++)
		sip_round(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* ---------------------------------------------------------- the table */

struct auth_throttle *
auth_throttle_new(size_t max_entries, const unsigned char key[16])
{
	struct auth_throttle *t;
	size_t n = 16;

	assert(max_entries >= 2);
	while (n < max_entries && n < ((size_t)1 << 20))
		n <<= 1;
	t = xcalloc(1, sizeof(*t));
	t->buckets = xcalloc(n, sizeof(*t->buckets));
	t->nbuckets = n;
	t->max = max_entries;
	t->k0 = load_le64(key, 8);
	t->k1 = load_le64(key + 8, 8);
	return t;
}

void
auth_throttle_free(struct auth_throttle **tp)
{
	struct auth_throttle *t = *tp;
	struct throttle_entry *e, *next;

	if (t == NULL)
		return;
	for (e = t->newest; e != NULL; e = next) {
		next = e->older;
		free(e);
	}
	free(t->buckets);
	free(t);
	*tp = NULL;
}

size_t
auth_throttle_entries(const struct auth_throttle *t)
{
	return t->count;
}

/* Build the key for ip alone (user NULL) or for (user, ip) into buf. */
static size_t
make_key(char *buf, const char *ip, const char *user)
{
	size_t n = strnlen(ip, KEY_IP_MAX);

	memcpy(buf, ip, n);
	if (user == NULL)
		return n;
	buf[n++] = '\0';
	for (size_t i = 0; i < KEY_USER_MAX && user[i] != '\0'; i++) {
		char c = user[i];

		buf[n++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	return n;
}

static struct throttle_entry *
lookup(const struct auth_throttle *t, const char *key, size_t len, uint64_t h)
{
	struct throttle_entry *e;

	for (e = t->buckets[h & (t->nbuckets - 1)]; e != NULL; e = e->chain)
		if (e->hash == h && e->keylen == len && memcmp(e->key, key, len) == 0)
			return e;
	return NULL;
}

static void
list_unlink(struct auth_throttle *t, struct throttle_entry *e)
{
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		t->newest = e->older;
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		t->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void
list_push(struct auth_throttle *t, struct throttle_entry *e)
{
	e->older = t->newest;
	e->newer = NULL;
	if (t->newest != NULL)
		t->newest->newer = e;
	else
		t->oldest = e;
	t->newest = e;
}

static void
entry_remove(struct auth_throttle *t, struct throttle_entry *e)
{
	struct throttle_entry **pp = &t->buckets[e->hash & (t->nbuckets - 1)];

	while (*pp != e)
		pp = &(*pp)->chain;
	*pp = e->chain;
	list_unlink(t, e);
	free(e);
	t->count--;
}

/*
 * Find the record for key, or make one, and move it to the newest end.
 * A full table first drops its oldest record; the caller's other record
 * from the same operation was touched just before, so it is the newest and
 * safe (max_entries >= 2).
 */
static struct throttle_entry *
get_or_add(struct auth_throttle *t, const char *key, size_t len, bool is_ip)
{
	uint64_t h = throttle_hash(t, key, len);
	struct throttle_entry *e = lookup(t, key, len, h);
	size_t b;

	if (e != NULL) {
		list_unlink(t, e);
		list_push(t, e);
		return e;
	}
	if (t->count >= t->max)
		entry_remove(t, t->oldest);
	e = xcalloc(1, sizeof(*e) + len);
	memcpy(e->key, key, len);
	e->keylen = len;
	e->hash = h;
	e->is_ip = is_ip;
	e->last_success = -HUGE_VAL;
	e->blocked_until = -HUGE_VAL;
	b = h & (t->nbuckets - 1);
	e->chain = t->buckets[b];
	t->buckets[b] = e;
	list_push(t, e);
	t->count++;
	return e;
}

static int64_t
minute_of(double now)
{
	return (int64_t)floor(now / 60.0);
}

static size_t
slot_of(int64_t minute)
{
	return (size_t)(((minute % IP_SLOTS) + IP_SLOTS) % IP_SLOTS);
}

static uint32_t
ip_window_fails(const struct throttle_entry *e, double now)
{
	int64_t m = minute_of(now);
	uint32_t sum = 0;

	for (size_t i = 0; i < IP_SLOTS; i++)
		if (e->slot_fails[i] != 0 && m - e->slot_minute[i] < IP_SLOTS)
			sum += e->slot_fails[i];
	return sum;
}

static bool
ip_trusted(const struct throttle_entry *e, double now)
{
	return now - e->last_success < AUTH_THROTTLE_IP_TRUST;
}

/* A record that no longer changes any decision. */
static bool
entry_expired(const struct throttle_entry *e, double now)
{
	if (!e->is_ip)
		return now - e->last_fail >= AUTH_THROTTLE_FORGET;
	return now >= e->blocked_until && !ip_trusted(e, now) &&
	    ip_window_fails(e, now) == 0;
}

/*
 * Drop expired records from the oldest end.  Records expire at different
 * ages, so an unexpired old one can shelter expired newer ones for a while;
 * the size cap still bounds them.
 */
static void
sweep(struct auth_throttle *t, double now)
{
	while (t->oldest != NULL && entry_expired(t->oldest, now))
		entry_remove(t, t->oldest);
}

/* ------------------------------------------------------------- policy */

static unsigned
delay_for(unsigned fails)
{
	if (fails > 5)
		return AUTH_THROTTLE_MAX_DELAY;
	return (1u << (fails - 1)) < AUTH_THROTTLE_MAX_DELAY ?
	    (1u << (fails - 1)) : AUTH_THROTTLE_MAX_DELAY;
}

unsigned
auth_throttle_failure(struct auth_throttle *t, const char *user,
    const char *ip, double now)
{
	char key[KEY_IP_MAX + 1 + KEY_USER_MAX];
	struct throttle_entry *ipe, *ue;
	int64_t m = minute_of(now);
	size_t len, s = slot_of(m);

	sweep(t, now);

	len = make_key(key, ip, NULL);
	ipe = get_or_add(t, key, len, true);
	if (ipe->slot_minute[s] != m) {
		ipe->slot_minute[s] = m;
		ipe->slot_fails[s] = 0;
	}
	if (ipe->slot_fails[s] < UINT32_MAX)
		ipe->slot_fails[s]++;
	if (ip_window_fails(ipe, now) > AUTH_THROTTLE_IP_MAX_FAILS &&
	    !ip_trusted(ipe, now))
		ipe->blocked_until = now + AUTH_THROTTLE_IP_BLOCK;

	len = make_key(key, ip, user);
	ue = get_or_add(t, key, len, false);
	if (ue->fails > 0 && now - ue->last_fail >= AUTH_THROTTLE_FORGET)
		ue->fails = 0;
	if (ue->fails < 64)
		ue->fails++;
	ue->last_fail = now;
	return delay_for(ue->fails);
}

void
auth_throttle_success(struct auth_throttle *t, const char *user,
    const char *ip, double now)
{
	char key[KEY_IP_MAX + 1 + KEY_USER_MAX];
	struct throttle_entry *e;
	size_t len;

	sweep(t, now);

	len = make_key(key, ip, user);
	if ((e = lookup(t, key, len, throttle_hash(t, key, len))) != NULL)
		entry_remove(t, e);

	len = make_key(key, ip, NULL);
	e = get_or_add(t, key, len, true);
	e->last_success = now;
	e->blocked_until = -HUGE_VAL;
}

bool
auth_throttle_ip_blocked(const struct auth_throttle *t, const char *ip,
    double now)
{
	char key[KEY_IP_MAX];
	const struct throttle_entry *e;
	size_t len = make_key(key, ip, NULL);

	e = lookup(t, key, len, throttle_hash(t, key, len));
	return e != NULL && now < e->blocked_until && !ip_trusted(e, now);
}

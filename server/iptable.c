/* SPDX-License-Identifier: ISC */
/*
 * Per-IP counters: see iptable.h.  Slots hold the key and its count; a
 * count of 0 marks an empty slot.  The table doubles when it would become
 * more than half full, which keeps linear probe chains short.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "server/iptable.h"

#define IPTABLE_MIN_SLOTS	64	/* power of two */

struct ip_slot {
	uint8_t	 key[IPTABLE_KEY_LEN];
	unsigned count;			/* 0 = empty slot */
};

struct iptable {
	struct ip_slot	*slots;
	size_t		 mask;		/* slots - 1 */
	size_t		 used;		/* slots with count > 0 */
	uint64_t	 seed;
};

/* The 64-bit finaliser from MurmurHash3, applied to both halves of the
 * key mixed with the seed. */
static uint64_t
mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64_C(0xc4ceb9fe1a85ec53);
	x ^= x >> 33;
	return x;
}

static size_t
slot_of(const struct iptable *t, const uint8_t key[IPTABLE_KEY_LEN])
{
	uint64_t a, b;

	memcpy(&a, key, 8);
	memcpy(&b, key + 8, 8);
	return (size_t)mix64(mix64(a ^ t->seed) ^ b) & t->mask;
}

struct iptable *
iptable_new(uint64_t seed)
{
	struct iptable *t = xcalloc(1, sizeof(*t));

	t->slots = xcalloc(IPTABLE_MIN_SLOTS, sizeof(*t->slots));
	t->mask = IPTABLE_MIN_SLOTS - 1;
	t->seed = seed;
	return t;
}

void
iptable_free(struct iptable **tp)
{
	if (*tp == NULL)
		return;
	free((*tp)->slots);
	free(*tp);
	*tp = NULL;
}

int
iptable_key_from_text(const char *ip, uint8_t key[IPTABLE_KEY_LEN])
{
	struct in_addr a4;

	if (inet_pton(AF_INET, ip, &a4) == 1) {
		memset(key, 0, 10);
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &a4, 4);
		return 0;
	}
	return inet_pton(AF_INET6, ip, key) == 1 ? 0 : -1;
}

/* The slot holding key, or the empty slot where it would go. */
static size_t
probe(const struct iptable *t, const uint8_t key[IPTABLE_KEY_LEN])
{
	size_t i = slot_of(t, key);

	while (t->slots[i].count != 0 &&
	    memcmp(t->slots[i].key, key, IPTABLE_KEY_LEN) != 0)
		i = (i + 1) & t->mask;
	return i;
}

static void
grow(struct iptable *t)
{
	struct ip_slot *old = t->slots;
	size_t oldn = t->mask + 1;

	t->slots = xcalloc(oldn * 2, sizeof(*t->slots));
	t->mask = oldn * 2 - 1;
	for (size_t i = 0; i < oldn; i++)
		if (old[i].count != 0)
			t->slots[probe(t, old[i].key)] = old[i];
	free(old);
}

unsigned
iptable_get(const struct iptable *t, const uint8_t key[IPTABLE_KEY_LEN])
{
	return t->slots[probe(t, key)].count;
}

unsigned
iptable_incr(struct iptable *t, const uint8_t key[IPTABLE_KEY_LEN])
{
	size_t i = probe(t, key);

	if (t->slots[i].count == 0) {
		if ((t->used + 1) * 2 > t->mask + 1) {
			grow(t);
			i = probe(t, key);
		}
		memcpy(t->slots[i].key, key, IPTABLE_KEY_LEN);
		t->used++;
	}
	return ++t->slots[i].count;
}

/*
 * Removing from a linear-probing table: walk the chain after the hole and
 * move back every entry whose home slot is not cyclically inside
 * (hole, current], so lookups never stop early at the hole.
 */
int
iptable_decr(struct iptable *t, const uint8_t key[IPTABLE_KEY_LEN])
{
	size_t hole = probe(t, key), j;

	if (t->slots[hole].count == 0)
		return -1;
	if (--t->slots[hole].count != 0)
		return 0;
	t->used--;
	for (j = (hole + 1) & t->mask; t->slots[j].count != 0;
	    j = (j + 1) & t->mask) {
		size_t home = slot_of(t, t->slots[j].key);
		bool stays = hole <= j ? (hole < home && home <= j) :
		    (hole < home || home <= j);

		if (stays)
			continue;
		t->slots[hole] = t->slots[j];
		t->slots[j].count = 0;
		hole = j;
	}
	return 0;
}

size_t
iptable_entries(const struct iptable *t)
{
	return t->used;
}

/* SPDX-License-Identifier: ISC */
/*
 * The per-command bump allocator.  Everything the parser builds for one
 * command (argument tree, unescaped strings, sequence ranges, search and
 * fetch structures) lives here and goes away in one imap_arena_reset()
 * after the tagged reply, so the parsers never free anything.
 *
 * Blocks are a singly linked list, newest first; allocations are carved
 * from the head block.  A request bigger than a quarter of the standard
 * block gets a block of its own, linked behind the head, so a large
 * literal does not waste the rest of the current block.  Reset keeps one
 * standard block (the oldest): an idle session holds ARENA_BLOCK bytes,
 * whatever its largest command was.
 */
#include "autoconfig.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "imap-lite/imap_parser.h"

#define ARENA_BLOCK	4096		/* bytes of payload per standard block */
#define ARENA_ALIGN	alignof(max_align_t)

struct imap_arena_block {
	struct imap_arena_block *next;
	size_t	 size;			/* payload bytes */
	size_t	 pos;			/* payload bytes handed out */
	alignas(max_align_t) unsigned char data[];
};

static struct imap_arena_block *
block_new(size_t size)
{
	struct imap_arena_block *b;

	if (size > SIZE_MAX - sizeof(*b))
		fatalx("arena block too large: %zu bytes", size);
	b = xmalloc(sizeof(*b) + size);
	b->next = NULL;
	b->size = size;
	b->pos = 0;
	return b;
}

void *
imap_arena_alloc(struct imap_arena *a, size_t size)
{
	struct imap_arena_block *b = a->blocks;
	size_t need;
	void *p;

	/* Round up so that the next allocation stays aligned. */
	if (size > SIZE_MAX - ARENA_ALIGN)
		fatalx("arena allocation too large: %zu bytes", size);
	need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (need == 0)
		need = ARENA_ALIGN;

	if (need > ARENA_BLOCK / 4) {
		struct imap_arena_block *big = block_new(need);

		if (b == NULL)
			a->blocks = big;
		else {
			big->next = b->next;
			b->next = big;
		}
		big->pos = need;
		a->used += need;
		memset(big->data, 0, need);
		return big->data;
	}
	if (b == NULL || b->size - b->pos < need) {
		b = block_new(ARENA_BLOCK);
		b->next = a->blocks;
		a->blocks = b;
	}
	p = b->data + b->pos;
	b->pos += need;
	a->used += need;
	memset(p, 0, need);
	return p;
}

char *
imap_arena_strndup(struct imap_arena *a, const char *s, size_t n)
{
	char *p;

	if (n == SIZE_MAX)
		fatalx("arena string too large");
	p = imap_arena_alloc(a, n + 1);
	if (n > 0)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void
imap_arena_reset(struct imap_arena *a)
{
	struct imap_arena_block *b, *next, *keep = NULL;

	/* Blocks are newest first: keeping the last standard one keeps the
	 * first block ever allocated in the common case. */
	for (b = a->blocks; b != NULL; b = next) {
		next = b->next;
		if (b->size == ARENA_BLOCK) {
			free(keep);
			keep = b;
		} else
			free(b);
	}
	if (keep != NULL) {
		keep->next = NULL;
		keep->pos = 0;
	}
	a->blocks = keep;
	a->used = 0;
}

void
imap_arena_free(struct imap_arena *a)
{
	struct imap_arena_block *b, *next;

	for (b = a->blocks; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	a->blocks = NULL;
	a->used = 0;
}

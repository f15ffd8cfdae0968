/* SPDX-License-Identifier: ISC */
/*
 * Allocation wrappers that abort on out-of-memory, so callers never check
 * for NULL.  Memory that a peer can make us allocate is bounded by the
 * protocol limits long before these could fail.
 */
#ifndef POSTROOM_XMALLOC_H
#define POSTROOM_XMALLOC_H

#include <stddef.h>
#include "common/log.h"

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) PR_PRINTF(1, 2);
/* Free *p and set it to NULL. */
#define XFREE(p) do { free(p); (p) = NULL; } while (0)

#endif

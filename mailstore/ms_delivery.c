/* SPDX-License-Identifier: ISC */
/*
 * The delivery object on the loop side: the bytes of a message being
 * received, and the list of places it goes to.
 *
 * Bytes stay in memory up to MS_DELIVERY_MEM_MAX.  The first write beyond
 * that creates an anonymous file in the spool directory (O_TMPFILE, or
 * mkstemp and unlink where the filesystem lacks it) and from then on the
 * memory buffer is only a write-behind buffer in front of that file, so a
 * big message costs one buffer of memory and large write(2)s however it
 * is cut into lines.  The file is never fsynced: the message becomes
 * durable when the writer thread commits it to the database, and if we
 * crash before that the unlinked file simply disappears.
 *
 * The whole message is therefore the file's bytes followed by the buffer's;
 * ms_delivery_job.c reads it in that order.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "mailstore/ms_delivery.h"

/* Create the anonymous spill file; -1 (logged) on failure. */
static int
spill_open(const char *dir)
{
	char *path;
	int fd;

#ifdef O_TMPFILE
	if ((fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) != -1)
		return fd;
#endif
	/* Not supported here (or no such dir: then mkstemp fails too). */
	path = xasprintf("%s/postroom-spill.XXXXXX", dir);
	if ((fd = mkostemp(path, O_CLOEXEC)) != -1)
		unlink(path);
	else
		log_warn("mailstore: spool file in %s", dir);
	free(path);
	return fd;
}

static int
write_all(int fd, const unsigned char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("mailstore: spool write");
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void
buf_append(struct ms_delivery *d, const void *p, size_t n)
{
	size_t cap;

	if (d->buf_len + n > d->buf_cap) {
		cap = d->buf_cap == 0 ? 4096 : d->buf_cap;
		while (cap < d->buf_len + n)
			cap *= 2;
		if (cap > MS_DELIVERY_MEM_MAX)
			cap = MS_DELIVERY_MEM_MAX;
		d->buf = xreallocarray(d->buf, cap, 1);
		d->buf_cap = cap;
	}
	memcpy(d->buf + d->buf_len, p, n);
	d->buf_len += n;
}

static int
spill_flush(struct ms_delivery *d)
{
	if (write_all(d->fd, d->buf, d->buf_len) == -1)
		return -1;
	d->file_len += d->buf_len;
	d->buf_len = 0;
	return 0;
}

struct ms_delivery *
ms_delivery_new(struct ms_store *ms)
{
	struct ms_delivery *d = xcalloc(1, sizeof(*d));

	d->job.kind = &ms_delivery_kind;
	d->ms = ms;
	d->fd = -1;
	return d;
}

int
ms_delivery_write(struct ms_delivery *d, const void *p, size_t n)
{
	const char *dir;

	if (d->failed)
		return -1;
	if (d->fd == -1) {
		if (d->buf_len + n <= MS_DELIVERY_MEM_MAX) {
			buf_append(d, p, n);
			d->size += n;
			return 0;
		}
		dir = d->ms->spool_dir != NULL ? d->ms->spool_dir : P_tmpdir;
		if ((d->fd = spill_open(dir)) == -1)
			goto fail;
	}
	if (d->buf_len + n > MS_DELIVERY_MEM_MAX && spill_flush(d) == -1)
		goto fail;
	if (n >= MS_DELIVERY_MEM_MAX) {
		/* Bigger than the buffer: straight to the file. */
		if (write_all(d->fd, p, n) == -1)
			goto fail;
		d->file_len += n;
	} else
		buf_append(d, p, n);
	d->size += n;
	return 0;
fail:
	/* Sticky: the message is incomplete, so it must never commit. */
	d->failed = true;
	return -1;
}

uint64_t
ms_delivery_size(const struct ms_delivery *d)
{
	return d->size;
}

void
ms_delivery_set_sender(struct ms_delivery *d, const char *reverse_path)
{
	free(d->sender);
	d->sender = xstrdup(reverse_path);
}

static struct ms_target *
target_new(struct ms_delivery *d, enum ms_target_kind kind)
{
	struct ms_target *t;

	d->targets = xreallocarray(d->targets, d->ntargets + 1,
	    sizeof(*d->targets));
	t = &d->targets[d->ntargets++];
	*t = (struct ms_target){ .kind = kind };
	return t;
}

void
ms_delivery_add_local(struct ms_delivery *d, ms_id user_id)
{
	size_t i;

	for (i = 0; i < d->ntargets; i++)
		if (d->targets[i].kind == MS_TARGET_USER &&
		    d->targets[i].id == user_id)
			return;
	target_new(d, MS_TARGET_USER)->id = user_id;
}

void
ms_delivery_add_mailbox(struct ms_delivery *d, ms_id mailbox_id,
    unsigned flags, const char *keywords, int64_t internaldate)
{
	struct ms_target *t = target_new(d, MS_TARGET_MAILBOX);

	t->id = mailbox_id;
	t->flags = flags;
	t->keywords = keywords != NULL ? xstrdup(keywords) : NULL;
	t->internaldate = internaldate;
}

void
ms_delivery_add_remote(struct ms_delivery *d, const char *address)
{
	size_t i;

	for (i = 0; i < d->ntargets; i++)
		if (d->targets[i].kind == MS_TARGET_REMOTE &&
		    strcasecmp(d->targets[i].address, address) == 0)
			return;
	target_new(d, MS_TARGET_REMOTE)->address = xstrdup(address);
}

void
ms_delivery_commit(struct ms_delivery *d, ms_delivery_done_fn *cb, void *arg)
{
	d->cb = cb;
	d->cb_arg = arg;
	ms_job_submit(d->ms, &d->job);
}

void
ms_delivery_release_data(struct ms_delivery *d)
{
	if (d->fd != -1)
		close(d->fd);
	d->fd = -1;
	free(d->buf);
	d->buf = NULL;
	d->buf_len = d->buf_cap = 0;
	d->file_len = 0;
}

void
ms_delivery_free(struct ms_delivery *d)
{
	size_t i;

	ms_delivery_release_data(d);
	for (i = 0; i < d->ntargets; i++) {
		free(d->targets[i].keywords);
		free(d->targets[i].address);
	}
	free(d->targets);
	free(d->sender);
	free(d);
}

void
ms_delivery_abort(struct ms_delivery **dp)
{
	if (*dp == NULL)
		return;
	ms_delivery_free(*dp);
	*dp = NULL;
}

/* SPDX-License-Identifier: ISC */
/*
 * The delivery object, shared by its loop-side half (ms_delivery.c: bytes
 * and targets) and its writer-side half (ms_delivery_job.c: storing it).
 * Once committed, a delivery is its own writer job: the struct embeds
 * struct ms_job first and belongs to the writer thread until its
 * completion callback has run on the loop.
 */
#ifndef POSTROOM_MS_DELIVERY_H
#define POSTROOM_MS_DELIVERY_H

#include "mailstore/ms_internal.h"

enum ms_target_kind {
	MS_TARGET_USER,		/* a local user's INBOX */
	MS_TARGET_MAILBOX,	/* a given mailbox (APPEND) */
	MS_TARGET_REMOTE,	/* the outbound queue */
};

struct ms_target {
	enum ms_target_kind kind;
	ms_id		 id;		/* user or mailbox */
	unsigned	 flags;		/* MS_FLAG_*, MAILBOX only */
	char		*keywords;	/* MAILBOX only, may be NULL */
	int64_t		 internaldate;	/* MAILBOX only; 0 = now */
	char		*address;	/* REMOTE only */
};

struct ms_delivery {
	struct ms_job	 job;		/* must be first */
	struct ms_store	*ms;		/* the loop's store */
	unsigned char	*buf;		/* all bytes, or those after the file's */
	size_t		 buf_len;
	size_t		 buf_cap;	/* <= MS_DELIVERY_MEM_MAX */
	int		 fd;		/* spill file, -1 until needed */
	uint64_t	 file_len;	/* bytes in the spill file */
	uint64_t	 size;		/* file_len + buf_len */
	bool		 failed;	/* a write failed: never store it */
	char		*sender;	/* NULL: stored as "" */
	struct ms_target *targets;
	size_t		 ntargets;
	ms_delivery_done_fn *cb;
	void		*cb_arg;
	struct ms_delivery_result result;
};

extern const struct ms_job_kind ms_delivery_kind;

/* Close the spill file and free the buffer (the bytes are stored or
 * abandoned); the targets and the result stay. */
void ms_delivery_release_data(struct ms_delivery *d);
void ms_delivery_free(struct ms_delivery *d);

#endif

/* SPDX-License-Identifier: ISC */
/*
 * Shared by the mailstore unit tests (check_mailstore*.c): the per-test
 * fixture state and helpers from check_mailstore_util.c, and the test
 * cases each file contributes to the suite.
 */
#ifndef POSTROOM_CHECK_MAILSTORE_H
#define POSTROOM_CHECK_MAILSTORE_H

#include <check.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mailstore/ms.h"

/* Per test: a fresh directory with the database and the spool dir. */
extern char tmpdir[PATH_MAX];
extern char dbpath[PATH_MAX];
extern char spooldir[PATH_MAX];
extern struct ms_store *ms;
extern struct ev_loop *loop;

void t_setup(void);		/* store open, no writer thread */
void t_setup_writer(void);	/* and the writer thread started */
void t_teardown(void);
void t_store_open(void);	/* (re)open ms on dbpath */

/* A plain connection (busy timeout 5 s); and a one-value query on one. */
sqlite3 *t_side_open(void);
long long t_side_count(const char *sql);

/* Reproducible pseudo-random numbers, and message bytes from a seed. */
void t_rng_seed(uint64_t seed);
uint64_t t_rng(void);
uint64_t t_rng_below(uint64_t n);
void t_fill(unsigned char *p, size_t len, uint64_t seed);
/* A whole message through ms_message_read in odd-sized chunks. */
unsigned char *t_read_all(ms_id message_id, uint64_t size);

/* Completion recorders. */
struct done {
	int	 calls;
	struct ms_delivery_result r;
};
void t_on_delivered(void *arg, const struct ms_delivery_result *r);

struct status_done {
	int	 calls;
	int	 status;
};
void t_on_status(void *arg, int status);

/* Folder jobs: the callback's calls, status and mailbox id. */
struct folder_done {
	int	 calls;
	int	 status;
	ms_id	 id;
};
void t_on_folder(void *arg, int status, ms_id mailbox_id);
/* Each runs one folder job through the writer, drains, and checks that
 * the callback ran exactly once (with a mailbox id only on success where
 * the job names one); the job's status. */
int t_mb_create(ms_id user, const char *name, const char *special,
    ms_id *id_r);
int t_mb_delete(ms_id user, const char *name);
int t_mb_rename(ms_id user, const char *from, const char *to, ms_id *id_r);
int t_mb_subscribe(ms_id user, const char *name, bool on);

struct queue_seen {
	size_t	 n;
	char	 rcpt[128];	/* the last entry: "rcpt from sender" */
	ms_id	 message_id;
};
void t_collect_queue(void *arg, const struct ms_queue_entry *e);

/* A user with password "secret"; its id. */
ms_id t_add_user(const char *addr);
ms_id t_inbox_of(ms_id user);
uint32_t t_uidnext_of(ms_id user);

/* Queue a message of len bytes from seed to users (and remote if set),
 * written in uneven pieces; deliver() also drains and expects MS_OK. */
void t_queue_delivery(const ms_id *users, size_t n, const char *remote,
    uint64_t seed, size_t len, struct done *done);
void t_deliver(const ms_id *users, size_t n, uint64_t seed, size_t len,
    struct done *done);
/* Expunge through the writer, drain, expect status want. */
void t_expunge(ms_id mailbox, const uint32_t *uids, size_t n, int want);

/* Test cases of the other files. */
TCase *check_mailstore_writer_tcase(void);
TCase *check_mailstore_model_tcase(void);

#endif

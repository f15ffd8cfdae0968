/* SPDX-License-Identifier: ISC */
/*
 * Mailstore functions that IMAP needs beyond ms.h: folder management,
 * flag changes with CONDSTORE modseqs, copy/move with UIDPLUS answers,
 * incremental mailbox synchronisation, and the cache of parsed MIME
 * structure.  Same rules as ms.h: reads are synchronous on the loop's
 * store; every write is a job for the writer thread whose callback runs on
 * the loop exactly once, after the commit (fsync) or the rollback, and the
 * change hook (ms_set_change_hook) reports every mailbox a job touched.
 *
 * Modseqs: every change to a message row (new message, flag change) gets
 * modseq = ++mailboxes.highestmodseq; an expunge also bumps highestmodseq
 * and leaves a tombstone (mailbox_id, uid, modseq) so sessions can learn
 * which UIDs vanished since a modseq without rereading the whole mailbox.
 */
#ifndef POSTROOM_MS_IMAP_H
#define POSTROOM_MS_IMAP_H

#include "mailstore/ms.h"

/* ------------------------------------------------- names (pure helpers) */

#define MS_MAILBOX_NAME_MAX	512	/* bytes of UTF-8 */

/*
 * Check a mailbox name and return its stored form (malloc'ed), or NULL if
 * it is not valid UTF-8, holds a control character, '*' or '%', starts or
 * ends with '/', has an empty level ("a//b") or is longer than
 * MS_MAILBOX_NAME_MAX.  A first level equal to "INBOX" ignoring case is
 * written "INBOX" ("inbox/x" gives "INBOX/x"); anything else is kept
 * byte for byte.  Call it before ms_mailbox_find() on a client's name.
 */
char *ms_mailbox_name_normalize(const char *name);

/* ------------------------------------------------------------- folders */

/* Callback for folder jobs.  mailbox_id is the created/renamed mailbox
 * (0 otherwise).  status: MS_OK, MS_EXISTS, MS_NOT_FOUND (no such mailbox
 * or user), MS_INVALID (a name ms_mailbox_name_normalize() refuses, an
 * unknown special use, deleting INBOX, renaming a mailbox into its own
 * subtree or past MS_MAILBOX_NAME_MAX), MS_NOT_EMPTY (delete), MS_ERROR.
 * Names are normalized by these functions; callers may pass them raw. */
typedef void ms_folder_done_fn(void *arg, int status, ms_id mailbox_id);

/* Create a mailbox (name in UTF-8, hierarchy separator '/', no leading or
 * trailing '/', no empty levels).  Missing parent levels are created too
 * (RFC 3501 6.3.3), subscribed as well.  special_use NULL or one of RFC
 * 6154's ("\\Sent"...; any case, stored canonical).  Subscribed. */
void ms_mailbox_create(struct ms_store *ms, ms_id user_id, const char *name,
    const char *special_use, ms_folder_done_fn *cb, void *arg);
/* Delete a mailbox and its messages.  INBOX: MS_INVALID.  A mailbox with
 * children is not removed (RFC 3501 6.3.4 would make it \Noselect; we
 * refuse with MS_NOT_EMPTY instead, so a folder holding messages never
 * silently turns into a \Noselect parent). */
void ms_mailbox_delete(struct ms_store *ms, ms_id user_id, const char *name,
    ms_folder_done_fn *cb, void *arg);
/* Rename a mailbox and every child ("a" -> "b" renames "a/x" to "b/x"),
 * keeping ids, UIDVALIDITY, messages, special use and subscription;
 * missing parents of the new name are created.  Renaming INBOX moves its
 * messages into a new mailbox with the new name (new UIDs, new
 * UIDVALIDITY) and leaves INBOX empty, its children in place (RFC 3501
 * 6.3.5).  Neither the new name nor any child's new name may exist. */
void ms_mailbox_rename(struct ms_store *ms, ms_id user_id, const char *from,
    const char *to, ms_folder_done_fn *cb, void *arg);
/* Only existing mailboxes have a subscription: else MS_NOT_FOUND. */
void ms_mailbox_subscribe(struct ms_store *ms, ms_id user_id, const char *name,
    bool subscribe, ms_folder_done_fn *cb, void *arg);

/* ----------------------------------------------------- mailbox aliases */

/*
 * A mailbox alias is a second name of one of a user's mailboxes, a single
 * level (no '/'), with a subscription of its own and nothing else.  It
 * points at the mailbox by id, so it follows a rename and goes with the
 * mailbox.  No alias and no mailbox of one user share a name: creating a
 * mailbox (or a missing parent) or renaming one onto an alias's name gives
 * MS_EXISTS like a duplicate.  Names are compared byte for byte.
 */
struct ms_mailbox_alias {
	const char	*name;		/* valid during the callback only */
	ms_id		 mailbox_id;
	bool		 subscribed;
};
/* The user's aliases by name.  MS_OK (also for none) or MS_ERROR. */
int ms_mailbox_alias_list(struct ms_store *ms, ms_id user_id,
    void (*fn)(void *arg, const struct ms_mailbox_alias *a), void *arg);
/* The alias called name: MS_OK with its mailbox and subscription (either
 * out-parameter may be NULL), MS_NOT_FOUND or MS_ERROR. */
int ms_mailbox_alias_find(struct ms_store *ms, ms_id user_id, const char *name,
    ms_id *mailbox_id_r, bool *subscribed_r);
/* Record name as a subscribed alias of mailbox_id, through the writer; cb
 * as for the folder jobs, with mailbox_id.  MS_EXISTS (a mailbox or alias
 * has that name), MS_NOT_FOUND (mailbox_id is not the user's),
 * MS_INVALID (a name ms_mailbox_name_normalize() refuses, INBOX, or one
 * with '/'). */
void ms_mailbox_alias_create(struct ms_store *ms, ms_id user_id,
    const char *name, ms_id mailbox_id, ms_folder_done_fn *cb, void *arg);
/* Forget an alias; its mailbox stays as it is.  MS_NOT_FOUND if none. */
void ms_mailbox_alias_delete(struct ms_store *ms, ms_id user_id,
    const char *name, ms_folder_done_fn *cb, void *arg);
/* Set the alias's own subscription.  MS_NOT_FOUND if no such alias. */
void ms_mailbox_alias_subscribe(struct ms_store *ms, ms_id user_id,
    const char *name, bool subscribe, ms_folder_done_fn *cb, void *arg);

/* --------------------------------------------------------------- flags */

enum ms_flag_op { MS_FLAGS_REPLACE, MS_FLAGS_ADD, MS_FLAGS_REMOVE };

/* True if keywords (NULL or space-separated) are all IMAP atoms that may
 * be keywords (printable ASCII, no backslash, no atom-specials). */
bool ms_keywords_valid(const char *keywords);
/*
 * The keyword list that op with arg makes of the stored list (both NULL
 * or space-separated): duplicates ignoring case dropped, first spelling
 * and order kept, one space between.  *out_r is malloc'ed, or NULL for no
 * keyword.  MS_OK, or MS_INVALID if arg fails ms_keywords_valid().
 */
int ms_keywords_apply(const char *stored, enum ms_flag_op op, const char *arg,
    char **out_r);

struct ms_flag_change {
	uint32_t uid;
	uint32_t flags;		/* the new system flags */
	const char *keywords;	/* the new keyword list ("" for none) */
	uint64_t modseq;
};

struct ms_flags_result {
	int	 status;
	const struct ms_flag_change *changed;	/* rows whose flags changed */
	size_t	 n_changed;
	const uint32_t *modified;	/* UIDs refused by UNCHANGEDSINCE */
	size_t	 n_modified;
};
typedef void ms_flags_done_fn(void *arg, const struct ms_flags_result *r);

/*
 * Change flags of uids (any order; sorted and deduplicated here) in a
 * mailbox; uids that do not exist are skipped.  keywords: space-separated
 * keyword atoms, or NULL; stored lists stay case-insensitively unique in
 * insertion order (ms_keywords_apply).  unchangedsince: 0 for none, else
 * rows with modseq > unchangedsince are left alone and reported in
 * modified (RFC 7162 3.1.3); a client's UNCHANGEDSINCE 0 fails every
 * message, which the caller answers itself.  Each row that actually
 * changes gets its own new modseq (highestmodseq grows by their number);
 * the others keep theirs and are not reported.  Results ascend by uid and
 * are valid only during the callback.  status: MS_OK, MS_NOT_FOUND (no
 * mailbox), MS_INVALID (bad keyword or unknown flag bit), MS_ERROR.
 */
void ms_flags_store(struct ms_store *ms, ms_id mailbox_id, const uint32_t *uids,
    size_t n, enum ms_flag_op op, uint32_t flags, const char *keywords,
    uint64_t unchangedsince, ms_flags_done_fn *cb, void *arg);

/* ---------------------------------------------------------- copy, move */

struct ms_copy_result {
	int	 status;
	uint32_t dst_uidvalidity;
	const uint32_t *src_uids;	/* the uids that existed, ascending */
	const uint32_t *dst_uids;	/* their new uids, same order */
	size_t	 n;
};
typedef void ms_copy_done_fn(void *arg, const struct ms_copy_result *r);

/* Copy (or move: copy + expunge from the source with tombstones, in one
 * transaction) uids (any order) into dst.  Flags, keywords and internal
 * dates are kept; the message bytes are not duplicated.  Uids that no
 * longer exist are skipped; the rest get consecutive new uids in
 * ascending source order, each with its own modseq.  MS_NOT_FOUND when
 * either mailbox does not exist.  The arrays in *r are valid only during
 * the callback. */
void ms_messages_copy(struct ms_store *ms, ms_id src_mailbox_id,
    const uint32_t *uids, size_t n, ms_id dst_mailbox_id, bool move,
    ms_copy_done_fn *cb, void *arg);

/* ------------------------------------------------------ synchronisation */

/* The current state of a mailbox (cheap: one row).  Any out-parameter
 * may be NULL.  MS_NOT_FOUND when there is no such mailbox. */
int ms_mailbox_state(struct ms_store *ms, ms_id mailbox_id, uint32_t *uidnext_r,
    uint64_t *highestmodseq_r, uint32_t *uidvalidity_r);
/* How many messages of a mailbox have a uid above uid (STATUS RECENT). */
int ms_mailbox_count_above(struct ms_store *ms, ms_id mailbox_id, uint32_t uid,
    uint32_t *count_r);
/*
 * Record that every message up to uid has been announced as \Recent
 * (never moves recent_uid back).  Through the writer, fire and forget,
 * with the next commit of another change or when the writer stops: the
 * daemon keeps the live value in memory and only needs it back after a
 * restart, so nobody waits for this and a lost update only means a
 * message announced as recent twice.  The change hook does not hear of it.
 */
void ms_mailbox_set_recent(struct ms_store *ms, ms_id mailbox_id, uint32_t uid);

/*
 * Everything that changed in a mailbox after since_modseq: each new or
 * changed message (with its keywords, "" for none; the string is valid
 * only during the call) in ascending uid order, then each uid expunged
 * after since_modseq (from the tombstones).  since_modseq 0 lists every
 * message and no expunges (a full listing with keywords).  Both lists
 * come from one read snapshot.  Either callback may be NULL; they must
 * not write to the store.  MS_NOT_FOUND when there is no such mailbox.
 */
int ms_mailbox_changes(struct ms_store *ms, ms_id mailbox_id,
    uint64_t since_modseq,
    void (*changed)(void *arg, const struct ms_msg *m, const char *keywords),
    void (*expunged)(void *arg, uint32_t uid), void *arg);

/* ---------------------------------------------------------- tombstones */

/*
 * Forget the tombstones of mailbox_id (0: of every mailbox) whose modseq
 * is below below_modseq, through the writer.  A view that has seen
 * modseq S still learns of every later expunge from ms_mailbox_changes()
 * as long as below_modseq <= S + 1, so pass one more than the lowest
 * modseq the live views of the mailbox have seen.  below_modseq above
 * INT64_MAX (UINT64_MAX, say) means every tombstone.
 * Pruning changes nothing a session sees: the change hook does not hear
 * of it.  done (may be NULL) runs exactly once on the loop with MS_OK or
 * MS_ERROR; without a writer thread, before this returns.  Returns MS_OK,
 * or MS_INVALID for a negative mailbox_id (done is not called then).
 */
int ms_tombstones_prune(struct ms_store *ms, ms_id mailbox_id,
    uint64_t below_modseq, void (*done)(void *arg, int rc), void *arg);
/*
 * Every tombstone of every mailbox, synchronously on ms's own connection.
 * For the daemon's start-up only, before ms_start_writer(): no session
 * holds a view then, and the CLI, which may run beside a live daemon,
 * must never call it.  MS_OK or MS_ERROR (logged).
 */
int ms_tombstones_prune_all_sync(struct ms_store *ms);

/* ------------------------------------------------------------ MIME cache */

/* The cached parse of a message (an opaque text made by imap-lite's MIME
 * code), malloc'ed, or NULL when not cached yet. */
char *ms_message_mime_cache(struct ms_store *ms, ms_id message_id);
/* Store it, through the writer; best effort, no callback. */
void ms_message_set_mime_cache(struct ms_store *ms, ms_id message_id,
    const char *cache);

#endif

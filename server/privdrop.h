/* SPDX-License-Identifier: ISC */
/*
 * Giving up root: look up the run user, hand the data dir to it, and
 * switch uid/gid for good.  Used by postroomd after binding its ports and
 * by the admin CLI (which becomes the owner of the data dir so that the
 * database files it touches stay the daemon's).
 *
 * Every function returns 0, or -1 with a message in *err_r (malloc'ed);
 * the callers treat failure as fatal.
 */
#ifndef POSTROOM_PRIVDROP_H
#define POSTROOM_PRIVDROP_H

#include <sys/types.h>

/* uid and primary gid of a user name. */
int privdrop_lookup(const char *user, uid_t *uid_r, gid_t *gid_r, char **err_r);

/* chown path and everything below it to uid:gid, never following
 * symbolic links.  Entries that already belong to uid:gid are skipped. */
int privdrop_chown_tree(const char *path, uid_t uid, gid_t gid, char **err_r);

/*
 * Become uid:gid.  The supplementary groups are those of user (from
 * initgroups) or, with user NULL, gid alone.  Afterwards checks that real,
 * effective and saved ids all changed and that setuid(0) now fails.
 */
int privdrop_become(const char *user, uid_t uid, gid_t gid, char **err_r);

#endif

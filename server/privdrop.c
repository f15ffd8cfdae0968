/* SPDX-License-Identifier: ISC */
/*
 * Privilege drop (see privdrop.h).  The order matters: supplementary
 * groups and the gid first, while we may still change them, the uid last;
 * then prove the change cannot be undone.
 */
#include "autoconfig.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/xmalloc.h"
#include "server/privdrop.h"

#define CHOWN_MAX_DEPTH	16	/* the data dir is two levels deep */

int
privdrop_lookup(const char *user, uid_t *uid_r, gid_t *gid_r, char **err_r)
{
	struct passwd *pw;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		*err_r = errno != 0 ?
		    xasprintf("looking up user %s: %s", user, strerror(errno)) :
		    xasprintf("no such user: %s", user);
		return -1;
	}
	*uid_r = pw->pw_uid;
	*gid_r = pw->pw_gid;
	return 0;
}

/*
 * Walk one directory (dfd, handed over to us) and chown its entries,
 * recursing into subdirectories through O_NOFOLLOW descriptors so a
 * symbolic link planted in the tree cannot send us elsewhere.
 */
static int
chown_dir(int dfd, const char *path, uid_t uid, gid_t gid, int depth,
    char **err_r)
{
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (depth > CHOWN_MAX_DEPTH) {
		*err_r = xasprintf("%s: directory tree too deep", path);
		close(dfd);
		return -1;
	}
	if ((d = fdopendir(dfd)) == NULL) {
		*err_r = xasprintf("%s: %s", path, strerror(errno));
		close(dfd);
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		struct stat sb;
		char *sub;
		int fd;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		sub = xasprintf("%s/%s", path, de->d_name);
		if (fstatat(dfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == -1 ||
		    ((sb.st_uid != uid || sb.st_gid != gid) &&
		    fchownat(dfd, de->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) == -1)) {
			*err_r = xasprintf("chown %s: %s", sub, strerror(errno));
			rc = -1;
		} else if (S_ISDIR(sb.st_mode)) {
			fd = openat(dfd, de->d_name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd == -1) {
				*err_r = xasprintf("%s: %s", sub, strerror(errno));
				rc = -1;
			} else
				rc = chown_dir(fd, sub, uid, gid, depth + 1, err_r);
		}
		free(sub);
	}
	closedir(d);
	return rc;
}

int
privdrop_chown_tree(const char *path, uid_t uid, gid_t gid, char **err_r)
{
	struct stat sb;
	int fd;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		*err_r = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1 ||
	    ((sb.st_uid != uid || sb.st_gid != gid) && fchown(fd, uid, gid) == -1)) {
		*err_r = xasprintf("chown %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return chown_dir(fd, path, uid, gid, 0, err_r);
}

int
privdrop_become(const char *user, uid_t uid, gid_t gid, char **err_r)
{
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;

	if (uid == 0) {
		*err_r = xstrdup("refusing to switch to uid 0");
		return -1;
	}
	if ((user != NULL ? initgroups(user, gid) : setgroups(1, &gid)) == -1) {
		*err_r = xasprintf("setting supplementary groups: %s", strerror(errno));
		return -1;
	}
	if (setresgid(gid, gid, gid) == -1) {
		*err_r = xasprintf("setresgid(%lu): %s", (unsigned long)gid,
		    strerror(errno));
		return -1;
	}
	if (setresuid(uid, uid, uid) == -1) {
		*err_r = xasprintf("setresuid(%lu): %s", (unsigned long)uid,
		    strerror(errno));
		return -1;
	}
	if (getresuid(&ruid, &euid, &suid) == -1 ||
	    getresgid(&rgid, &egid, &sgid) == -1 ||
	    ruid != uid || euid != uid || suid != uid ||
	    rgid != gid || egid != gid || sgid != gid) {
		*err_r = xstrdup("user and group ids did not all change");
		return -1;
	}
	/* The saved set-user-id is gone too, so this must fail now. */
	if (setuid(0) != -1 || seteuid(0) != -1) {
		*err_r = xstrdup("could regain root after dropping privileges");
		return -1;
	}
	return 0;
}

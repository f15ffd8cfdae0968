/* SPDX-License-Identifier: ISC */
/*
 * Reading a new password for the admin CLI: from the terminal with echo
 * off, asked twice; or one line from standard input (for scripts).
 */
#ifndef POSTROOM_CLI_PASSWORD_H
#define POSTROOM_CLI_PASSWORD_H

#include <stddef.h>

#define CLI_PASSWORD_MAX	1024	/* bytes, excluding the NUL */

/*
 * Fill buf (size CLI_PASSWORD_MAX + 1) with a non-empty password.  Returns
 * 0, or -1 with a message in *err_r (static text).  The caller wipes buf
 * with explicit_bzero() after use.
 */
int cli_password_prompt(char *buf, const char **err_r);
int cli_password_stdin(char *buf, const char **err_r);

#endif

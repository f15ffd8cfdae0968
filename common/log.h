/* SPDX-License-Identifier: ISC */
/*
 * Logging: one line per event, to stderr (and so to the journal when run
 * under systemd).  Session lines are key=value and start with the session id
 * as 16 hex digits, e.g. "smtp id=00000000000000a1 ip=127.0.0.1 event=connect".
 * AUTH data and passwords are never passed here.
 *
 * Thread-safe: each call writes one line with a single write(2).
 */
#ifndef POSTROOM_LOG_H
#define POSTROOM_LOG_H

#include <stdarg.h>
#include <stdbool.h>

#define PR_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* progname prefixes every line; debug enables log_debug(). */
void log_init(const char *progname, bool debug);
void log_set_debug(bool debug);
bool log_debug_enabled(void);

void log_info(const char *fmt, ...) PR_PRINTF(1, 2);
/* log_warn appends ": strerror(errno)"; log_warnx does not. */
void log_warn(const char *fmt, ...) PR_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) PR_PRINTF(1, 2);
void log_debug(const char *fmt, ...) PR_PRINTF(1, 2);
/* Startup and "cannot happen" failures: log and exit(1). */
_Noreturn void fatal(const char *fmt, ...) PR_PRINTF(1, 2);
_Noreturn void fatalx(const char *fmt, ...) PR_PRINTF(1, 2);

#endif

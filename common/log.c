/* SPDX-License-Identifier: ISC */
/*
 * Line-oriented logging to stderr.  Each line is formatted into a stack
 * buffer and written with one write(2) so lines from the mailstore writer
 * thread never interleave with the event loop's.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

static const char *log_progname = "postroom";
static bool log_debug_on;

void
log_init(const char *progname, bool debug)
{
	log_progname = progname;
	log_debug_on = debug;
}

void
log_set_debug(bool debug)
{
	log_debug_on = debug;
}

bool
log_debug_enabled(void)
{
	return log_debug_on;
}

/*
 * Format "<time> <prog>[pid]: <level><message>[: <strerror>]\n".  Over-long
 * messages are truncated: a log line is diagnostics, not data.
 */
static void log_emit(const char *level, int errnum, const char *fmt, va_list ap)
    PR_PRINTF(3, 0);

static void
log_emit(const char *level, int errnum, const char *fmt, va_list ap)
{
	char line[2048];
	size_t off = 0;
	struct timespec ts;
	struct tm tm;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%ld]: %s",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, ts.tv_nsec / 1000000, log_progname, (long)getpid(), level);
	if (n > 0)
		off = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
	n = vsnprintf(line + off, sizeof(line) - off, fmt, ap);
	if (n > 0)
		off += (size_t)n < sizeof(line) - off ? (size_t)n : sizeof(line) - off - 1;
	if (errnum != 0 && off < sizeof(line) - 1) {
		n = snprintf(line + off, sizeof(line) - off, ": %s", strerror(errnum));
		if (n > 0)
			off += (size_t)n < sizeof(line) - off ? (size_t)n : sizeof(line) - off - 1;
	}
	if (off >= sizeof(line) - 1)
		off = sizeof(line) - 2;
	line[off++] = '\n';
	(void)!write(STDERR_FILENO, line, off);
}

#define LOG_BODY(level, errnum) do {		\
	va_list ap;				\
	va_start(ap, fmt);			\
	log_emit(level, errnum, fmt, ap);	\
	va_end(ap);				\
} while (0)

void
log_info(const char *fmt, ...)
{
	LOG_BODY("", 0);
}

void
log_warn(const char *fmt, ...)
{
	int saved = errno;

	LOG_BODY("warning: ", saved);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY("warning: ", 0);
}

void
log_debug(const char *fmt, ...)
{
	if (!log_debug_on)
		return;
	LOG_BODY("debug: ", 0);
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;

	LOG_BODY("fatal: ", saved);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY("fatal: ", 0);
	exit(1);
}

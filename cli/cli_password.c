/* SPDX-License-Identifier: ISC */
/*
 * Password input (see cli_password.h).  The prompt talks to /dev/tty, not
 * to stdin/stdout, so it works with output redirected and never echoes.
 * If a signal (Ctrl-C) arrives while echo is off, the handler puts the
 * terminal back before the default action kills us, so the user's shell
 * is not left typing blind.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli_password.h"

static volatile sig_atomic_t tty_fd = -1;
static struct termios tty_saved;

static void
restore_and_die(int sig)
{
	if (tty_fd != -1)
		tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Read up to a newline from fd into buf; 0, -1 on EOF/error, -2 if the
 * line is too long (the rest of it is consumed). */
static int
read_line(int fd, char *buf)
{
	size_t len = 0;
	bool too_long = false;
	char c;

	for (;;) {
		ssize_t n = read(fd, &c, 1);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (len == 0 && !too_long)
				return -1;
			break;
		}
		if (c == '\n')
			break;
		if (len < CLI_PASSWORD_MAX)
			buf[len++] = c;
		else
			too_long = true;
	}
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	return too_long ? -2 : 0;
}

/* One no-echo prompt on the terminal fd. */
static int
ask(int fd, const char *prompt, char *buf)
{
	struct termios noecho;
	int rc;

	if (tcgetattr(fd, &tty_saved) == -1)
		return -1;
	noecho = tty_saved;
	noecho.c_lflag &= ~(tcflag_t)ECHO;
	noecho.c_lflag |= ICANON;
	tty_fd = fd;
	/* Echo off (dropping typeahead) before the prompt, never after:
	 * what is typed once the prompt shows must be kept and not shown. */
	if (tcsetattr(fd, TCSAFLUSH, &noecho) == -1) {
		tty_fd = -1;
		return -1;
	}
	(void)!write(fd, prompt, strlen(prompt));
	rc = read_line(fd, buf);
	tcsetattr(fd, TCSAFLUSH, &tty_saved);
	tty_fd = -1;
	(void)!write(fd, "\n", 1);
	return rc;
}

int
cli_password_prompt(char *buf, const char **err_r)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGTSTP };
	struct sigaction sa = { .sa_handler = restore_and_die }, old[5];
	char again[CLI_PASSWORD_MAX + 1];
	int fd, rc;

	if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1) {
		*err_r = "no terminal to ask for the password on; use --password-stdin";
		return -1;
	}
	for (int i = 0; i < 5; i++)
		sigaction(sigs[i], &sa, &old[i]);
	rc = ask(fd, "New password: ", buf);
	if (rc == 0)
		rc = ask(fd, "Retype new password: ", again) == 0 ? 0 : rc;
	for (int i = 0; i < 5; i++)
		sigaction(sigs[i], &old[i], NULL);
	close(fd);

	if (rc == -2)
		*err_r = "password too long";
	else if (rc != 0)
		*err_r = "no password entered";
	else if (buf[0] == '\0')
		*err_r = "empty password";
	else if (strcmp(buf, again) != 0)
		*err_r = "the passwords do not match";
	else {
		explicit_bzero(again, sizeof(again));
		return 0;
	}
	explicit_bzero(again, sizeof(again));
	explicit_bzero(buf, CLI_PASSWORD_MAX + 1);
	return -1;
}

int
cli_password_stdin(char *buf, const char **err_r)
{
	int rc = read_line(STDIN_FILENO, buf);

	if (rc == -2)
		*err_r = "password too long";
	else if (rc != 0)
		*err_r = "no password on standard input";
	else if (buf[0] == '\0')
		*err_r = "empty password";
	else
		return 0;
	explicit_bzero(buf, CLI_PASSWORD_MAX + 1);
	return -1;
}

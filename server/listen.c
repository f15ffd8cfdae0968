/* SPDX-License-Identifier: ISC */
/*
 * Listeners (see listen.h).  One ev_io per listening socket; its callback
 * accepts until EAGAIN, so a burst costs one wakeup.  When the process runs
 * out of descriptors (EMFILE/ENFILE) every listener pauses for a tenth of a
 * second instead of spinning on a socket that stays readable.
 *
 * Refusals happen here, before any session exists: the reply is written
 * with one non-blocking send() (a socket fresh from accept always has room
 * for a line) and the socket is closed.  Implicit-TLS ports get no reply,
 * since the client expects a handshake and could not read plaintext.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "imap-lite/imap.h"
#include "pop3/pop3.h"
#include "server/listen.h"
#include "server/sessions.h"
#include "smtp/smtp.h"

#define LISTEN_BACKLOG	1024
#define ACCEPT_BACKOFF	0.1	/* seconds to pause after EMFILE */
#define FD_LOG_INTERVAL	10.0	/* seconds between EMFILE warnings */

struct listener {
	ev_io		 io;		/* io.data = this listener */
	struct listen_set *set;
	enum listener_role role;
	int		 fd;		/* -1 once closed */
	char		*conf_host;	/* as configured, for listen_same() */
	int		 conf_port;
	char		*name;		/* "127.0.0.1:2525" as bound */
};

struct listen_set {
	struct listener	*v;
	size_t		 n;
	struct pr_server *srv;		/* set by listen_start() */
	ev_timer	 backoff;	/* running while paused after EMFILE */
	ev_tstamp	 last_refusal_log;
	ev_tstamp	 last_fd_log;	/* last "pausing accepts" warning */
	unsigned	 refusals_unlogged;
};

static char *
format_addr(const struct sockaddr_storage *ss)
{
	char host[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		return xasprintf("[%s]:%u", host, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		return xasprintf("%s:%u", host, ntohs(s4->sin_port));
	}
}

/* Make one listening socket for a configured address; -1 on error. */
static int
bind_one(const struct listen_addr *la, struct listener *l, char **err_r)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sslen;
	int fd, on = 1;
	bool v6 = strchr(la->host, ':') != NULL;

	if (v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)la->port);
		if (inet_pton(AF_INET6, la->host, &s6->sin6_addr) != 1)
			goto badaddr;
		sslen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)la->port);
		if (inet_pton(AF_INET, la->host, &s4->sin_addr) != 1)
			goto badaddr;
		sslen = sizeof(*s4);
	}

	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto syserr;
	/* V6ONLY: "[::]:25" and "0.0.0.0:25" are separate listeners, and a
	 * peer address is never IPv4-mapped. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    (v6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) == -1) ||
	    bind(fd, (struct sockaddr *)&ss, sslen) == -1 ||
	    listen(fd, LISTEN_BACKLOG) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1) {
		int saved = errno;

		close(fd);
		errno = saved;
		goto syserr;
	}
	*l = (struct listener){
		.role = la->role, .fd = fd, .conf_host = xstrdup(la->host),
		.conf_port = la->port, .name = format_addr(&ss),
	};
	return 0;

syserr:
	*err_r = xasprintf("%s %s%s%s:%d: %s", config_role_name(la->role),
	    v6 ? "[" : "", la->host, v6 ? "]" : "", la->port, strerror(errno));
	return -1;
badaddr:
	*err_r = xasprintf("%s: bad address %s", config_role_name(la->role),
	    la->host);
	return -1;
}

struct listen_set *
listen_bind(const struct config *cfg, char **err_r)
{
	struct listen_set *ls = xcalloc(1, sizeof(*ls));

	/* Sized once: the ev_io watchers must not move after init. */
	ls->v = xcalloc(cfg->n_listeners, sizeof(*ls->v));
	for (size_t i = 0; i < cfg->n_listeners; i++) {
		if (bind_one(&cfg->listeners[i], &ls->v[i], err_r) == -1) {
			listen_free(&ls);
			return NULL;
		}
		ls->v[i].set = ls;
		ls->n++;
	}
	return ls;
}

char *
listen_describe(const struct listen_set *ls)
{
	char *out = xstrdup(""), *next;

	for (int role = 0; role < ROLE_COUNT; role++) {
		bool first = true;

		for (size_t i = 0; i < ls->n; i++) {
			if ((int)ls->v[i].role != role)
				continue;
			next = xasprintf("%s%s%s%s%s", out,
			    first && *out != '\0' ? " " : "",
			    first ? config_role_name(ls->v[i].role) : ",",
			    first ? "=" : "", ls->v[i].name);
			free(out);
			out = next;
			first = false;
		}
	}
	return out;
}

/* Refuse fd with the reply its protocol understands, then close it. */
static void
refuse(struct listen_set *ls, int fd, enum listener_role role, const char *ip,
    enum sessions_verdict why)
{
	const char *reason = why == SESSIONS_IP_BLOCKED ?
	    "Too many failed logins, try again later" : "Too many connections";
	char line[128];
	int n = 0;
	ev_tstamp now = ev_now(ls->srv->loop);

	switch (role) {
	case ROLE_SMTP:
	case ROLE_SUBMISSION:
		n = snprintf(line, sizeof(line), "421 4.7.0 %s\r\n", reason);
		break;
	case ROLE_POP3:
		n = snprintf(line, sizeof(line), "-ERR [SYS/TEMP] %s\r\n", reason);
		break;
	case ROLE_IMAP:
		n = snprintf(line, sizeof(line), "* BYE [UNAVAILABLE] %s\r\n", reason);
		break;
	default:		/* implicit TLS: nothing we could say */
		break;
	}
	if (n > 0)
		(void)!send(fd, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);

	/* A flood must not flood the log too: at most one line a second. */
	if (now - ls->last_refusal_log >= 1.0) {
		log_info("refused %s ip=%s reason=%s", config_role_name(role), ip,
		    why == SESSIONS_FULL ? "max_connections" :
		    why == SESSIONS_IP_FULL ? "max_connections_per_ip" :
		    "auth_failures");
		if (ls->refusals_unlogged > 0)
			log_info("refused %u more connections since the last report",
			    ls->refusals_unlogged);
		ls->last_refusal_log = now;
		ls->refusals_unlogged = 0;
	} else
		ls->refusals_unlogged++;
}

static void
dispatch(struct listener *l, int fd, const struct sockaddr_storage *ss)
{
	struct pr_server *srv = l->set->srv;
	char ip[INET6_ADDRSTRLEN] = "?";
	enum sessions_verdict v;

	if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr,
		    ip, sizeof(ip));
	else
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr,
		    ip, sizeof(ip));

	if ((v = sessions_admit(srv, ip)) != SESSIONS_ADMIT) {
		refuse(l->set, fd, l->role, ip, v);
		return;
	}
	switch (l->role) {
	case ROLE_SMTP:
	case ROLE_SUBMISSION:
	case ROLE_SUBMISSIONS:
		smtp_accept(srv, fd, l->role);
		break;
	case ROLE_POP3:
	case ROLE_POP3S:
		pop3_accept(srv, fd, l->role);
		break;
	case ROLE_IMAP:
	case ROLE_IMAPS:
		imap_accept(srv, fd, l->role);
		break;
	default:
		/* The startup checks refuse listeners without a module. */
		fatalx("no protocol module for %s", config_role_name(l->role));
	}
}

static void
watchers_set(struct listen_set *ls, bool on)
{
	for (size_t i = 0; i < ls->n; i++) {
		if (ls->v[i].fd == -1)
			continue;
		if (on)
			ev_io_start(ls->srv->loop, &ls->v[i].io);
		else
			ev_io_stop(ls->srv->loop, &ls->v[i].io);
	}
}

static void
backoff_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct listen_set *ls = w->data;

	if (!ls->srv->shutting_down)
		watchers_set(ls, true);
}

static void
accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct listener *l = w->data;

	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sslen = sizeof(ss);
		int fd = accept4(l->fd, (struct sockaddr *)&ss, &sslen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd != -1) {
			dispatch(l, fd, &ss);
			/* A refusal or a module may have started the shutdown. */
			if (l->fd == -1)
				return;
			continue;
		}
		switch (errno) {
		case EAGAIN:
#if EAGAIN != EWOULDBLOCK
		case EWOULDBLOCK:
#endif
			return;
		case EINTR:
		case ECONNABORTED:
		case EPROTO:
			continue;	/* that one connection is gone, not us */
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			/* Out of descriptors tends to last: say so every few
			 * seconds, not at every retry. */
			if (ev_now(loop) - l->set->last_fd_log >= FD_LOG_INTERVAL) {
				log_warn("accept on %s %s; pausing accepts",
				    config_role_name(l->role), l->name);
				l->set->last_fd_log = ev_now(loop);
			}
			watchers_set(l->set, false);
			ev_timer_set(&l->set->backoff, ACCEPT_BACKOFF, 0.);
			ev_timer_start(loop, &l->set->backoff);
			return;
		default:
			log_warn("accept on %s %s", config_role_name(l->role), l->name);
			return;
		}
	}
}

void
listen_start(struct listen_set *ls, struct pr_server *srv)
{
	ls->srv = srv;
	ev_timer_init(&ls->backoff, backoff_cb, ACCEPT_BACKOFF, 0.);
	ls->backoff.data = ls;
	for (size_t i = 0; i < ls->n; i++) {
		ev_io_init(&ls->v[i].io, accept_cb, ls->v[i].fd, EV_READ);
		ls->v[i].io.data = &ls->v[i];
	}
	watchers_set(ls, true);
}

void
listen_close(struct listen_set *ls)
{
	if (ls->srv != NULL) {
		watchers_set(ls, false);
		ev_timer_stop(ls->srv->loop, &ls->backoff);
	}
	for (size_t i = 0; i < ls->n; i++) {
		if (ls->v[i].fd != -1) {
			close(ls->v[i].fd);
			ls->v[i].fd = -1;
		}
	}
}

void
listen_free(struct listen_set **lsp)
{
	struct listen_set *ls = *lsp;

	if (ls == NULL)
		return;
	listen_close(ls);
	for (size_t i = 0; i < ls->n; i++) {
		free(ls->v[i].conf_host);
		free(ls->v[i].name);
	}
	free(ls->v);
	free(ls);
	*lsp = NULL;
}

bool
listen_same(const struct listen_set *ls, const struct config *cfg)
{
	if (ls->n != cfg->n_listeners)
		return false;
	/* Same multiset: every configured address matches a bound one
	 * (the config checks refuse duplicates, so counts suffice). */
	for (size_t i = 0; i < cfg->n_listeners; i++) {
		const struct listen_addr *a = &cfg->listeners[i];
		bool found = false;

		for (size_t j = 0; j < ls->n && !found; j++)
			found = ls->v[j].role == a->role &&
			    ls->v[j].conf_port == a->port &&
			    strcmp(ls->v[j].conf_host, a->host) == 0;
		if (!found)
			return false;
	}
	return true;
}

/* SPDX-License-Identifier: ISC */
/*
 * Connection accounting (see sessions.h).  The listener asks
 * sessions_admit() before any session exists, so a flood from one address
 * costs an accept and a close, nothing more.  When the daemon is shutting
 * down, the last session to close ends the event loop.
 */
#include "autoconfig.h"

#include <stdatomic.h>
#include <string.h>
#include <sys/random.h>

#include <ev.h>

#include "common/auth.h"
#include "common/log.h"
#include "server/iptable.h"
#include "server/sessions.h"

static struct iptable *per_ip;
static _Atomic uint64_t next_session_id;

static uint64_t
random64(void)
{
	uint64_t v = 0;

	/* getrandom never returns short for 8 bytes once the pool is ready;
	 * at early boot we would rather wait than log guessable ids. */
	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		fatal("getrandom");
	return v;
}

void
sessions_init(void)
{
	atomic_store(&next_session_id, random64());
	per_ip = iptable_new(random64());
}

void
sessions_fini(void)
{
	iptable_free(&per_ip);
}

uint64_t
server_session_id(void)
{
	return atomic_fetch_add(&next_session_id, 1);
}

enum sessions_verdict
sessions_admit(struct pr_server *srv, const char *ip)
{
	uint8_t key[IPTABLE_KEY_LEN];
	bool keyed = iptable_key_from_text(ip, key) == 0;

	if (srv->sessions >= srv->cfg->max_connections)
		return SESSIONS_FULL;
	if (keyed && iptable_get(per_ip, key) >= srv->cfg->max_connections_per_ip)
		return SESSIONS_IP_FULL;
	if (auth_ip_blocked(ip))
		return SESSIONS_IP_BLOCKED;
	if (keyed)
		iptable_incr(per_ip, key);
	srv->sessions++;
	return SESSIONS_ADMIT;
}

void
server_session_closed(struct pr_server *srv, const char *ip)
{
	uint8_t key[IPTABLE_KEY_LEN];

	if (srv->sessions == 0) {
		log_warnx("session closed for %s, but none was open", ip);
		return;
	}
	srv->sessions--;
	if (iptable_key_from_text(ip, key) == -1 ||
	    iptable_decr(per_ip, key) == -1)
		log_warnx("session closed for %s, which had no session counted", ip);
	if (srv->shutting_down && srv->sessions == 0)
		ev_break(srv->loop, EVBREAK_ALL);
}

/* SPDX-License-Identifier: ISC */
/*
 * Mailbox names between the wire and the store.
 *
 * On the wire names are modified UTF-7 (RFC 3501 5.1.3) with "/" between
 * levels; the store keeps UTF-8.  INBOX is case-insensitive, every other
 * name is not.
 *
 * Special-use aliases.  Every user starts with Sent, Drafts, Trash, Junk
 * and Archive, announced with SPECIAL-USE attributes (RFC 6154).  Clients
 * that ignore the attributes (older Outlook, some phones) create their own
 * "Sent Items", "Deleted Messages" or a localised name instead, and the
 * user would end up with two sent folders.  So every use of a well-known
 * alias (SELECT, APPEND, COPY, STATUS ...) reaches the special folder.  A
 * CREATE of one records it for that user as a mailbox alias in the store
 * (a name pointing at the folder's id, which a rename keeps), and from
 * then on LIST and LSUB show it, with a subscription of its own: classic
 * Outlook looks there for the folder it created and otherwise keeps sent
 * mail on the computer.  It is listed without the special-use attribute,
 * which stays with the folder itself for the clients that read it.  Names
 * never created are only mapped, not listed.
 *
 * Lookups try a real mailbox first, then a recorded alias, then the
 * well-known names; a real mailbox and a recorded alias never share a
 * name.  DELETE of a recorded alias forgets the alias, never the folder;
 * RENAME of one is refused; DELETE and RENAME never follow a name that is
 * only mapped.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "imap-lite/imap_session.h"
#include "mailstore/ms_imap.h"

#define MAILBOX_NAME_MAX	512	/* bytes of UTF-8 */

/* Names clients create when they do not see SPECIAL-USE.  Compared with
 * ASCII case folding. */
static const struct {
	const char *name;
	const char *use;
} aliases[] = {
	{ "Sent", "\\Sent" },
	{ "Sent Items", "\\Sent" },
	{ "Sent Messages", "\\Sent" },
	{ "Sent Mail", "\\Sent" },
	{ "Sent-Mail", "\\Sent" },
	{ "Gesendet", "\\Sent" },
	{ "Gesendete Elemente", "\\Sent" },
	{ "Gesendete Objekte", "\\Sent" },
	{ "Éléments envoyés", "\\Sent" },
	{ "Messages envoyés", "\\Sent" },
	{ "Envoyés", "\\Sent" },
	{ "Elementos enviados", "\\Sent" },
	{ "Enviados", "\\Sent" },
	{ "Itens Enviados", "\\Sent" },
	{ "Posta inviata", "\\Sent" },
	{ "Inviati", "\\Sent" },
	{ "Verzonden items", "\\Sent" },
	{ "Skickat", "\\Sent" },
	{ "Skickade objekt", "\\Sent" },
	{ "Sendt", "\\Sent" },
	{ "Elementy wysłane", "\\Sent" },
	{ "Drafts", "\\Drafts" },
	{ "Draft", "\\Drafts" },
	{ "Entwürfe", "\\Drafts" },
	{ "Brouillons", "\\Drafts" },
	{ "Borradores", "\\Drafts" },
	{ "Rascunhos", "\\Drafts" },
	{ "Bozze", "\\Drafts" },
	{ "Concepten", "\\Drafts" },
	{ "Utkast", "\\Drafts" },
	{ "Kopie robocze", "\\Drafts" },
	{ "Trash", "\\Trash" },
	{ "Deleted Items", "\\Trash" },
	{ "Deleted Messages", "\\Trash" },
	{ "Bin", "\\Trash" },
	{ "Papierkorb", "\\Trash" },
	{ "Gelöschte Elemente", "\\Trash" },
	{ "Gelöschte Objekte", "\\Trash" },
	{ "Corbeille", "\\Trash" },
	{ "Éléments supprimés", "\\Trash" },
	{ "Papelera", "\\Trash" },
	{ "Elementos eliminados", "\\Trash" },
	{ "Lixeira", "\\Trash" },
	{ "Itens Excluídos", "\\Trash" },
	{ "Cestino", "\\Trash" },
	{ "Posta eliminata", "\\Trash" },
	{ "Prullenbak", "\\Trash" },
	{ "Verwijderde items", "\\Trash" },
	{ "Papperskorgen", "\\Trash" },
	{ "Borttagna objekt", "\\Trash" },
	{ "Kosz", "\\Trash" },
	{ "Junk", "\\Junk" },
	{ "Junk E-mail", "\\Junk" },
	{ "Junk Email", "\\Junk" },
	{ "Junk Mail", "\\Junk" },
	{ "Junk-E-Mail", "\\Junk" },
	{ "Spam", "\\Junk" },
	{ "Bulk Mail", "\\Junk" },
	{ "Courrier indésirable", "\\Junk" },
	{ "Indésirables", "\\Junk" },
	{ "Correo no deseado", "\\Junk" },
	{ "Lixo Eletrônico", "\\Junk" },
	{ "Posta indesiderata", "\\Junk" },
	{ "Ongewenste e-mail", "\\Junk" },
	{ "Skräppost", "\\Junk" },
	{ "Archive", "\\Archive" },
	{ "Archives", "\\Archive" },
	{ "Archiv", "\\Archive" },
	{ "Archivo", "\\Archive" },
	{ "Arquivo", "\\Archive" },
	{ "Archivio", "\\Archive" },
	{ "Archief", "\\Archive" },
	{ "Arkiv", "\\Archive" },
	{ "Archiwum", "\\Archive" },
};

const char *
imap_mailbox_alias(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcasecmp(aliases[i].name, name) == 0)
			return aliases[i].use;
	return NULL;
}

static bool
has_8bit(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

const char *
imap_mailbox_arg(struct imap_session *s, const struct imap_arg *arg,
    const char **error_r)
{
	const char *raw;
	char *name;
	size_t len;

	if ((raw = imap_arg_astring(arg)) == NULL) {
		*error_r = "BAD Invalid mailbox name";
		return NULL;
	}
	name = imap_utf7_to_utf8(raw, &s->arena);
	if (name == NULL) {
		/* Some clients send plain UTF-8; take it when it is valid
		 * UTF-8 with 8-bit bytes, which modified UTF-7 never has. */
		len = strlen(raw);
		if (!has_8bit(raw) || !imap_utf8_valid(raw, len)) {
			*error_r = "NO [CANNOT] Invalid mailbox name encoding";
			return NULL;
		}
		name = imap_arena_strndup(&s->arena, raw, len);
	}
	len = strlen(name);
	/* RFC 3501 6.3.3: a trailing separator names the same mailbox. */
	if (len > 1 && name[len - 1] == '/')
		name[--len] = '\0';
	if (strncasecmp(name, "INBOX", 5) == 0 &&
	    (name[5] == '\0' || name[5] == '/'))
		memcpy(name, "INBOX", 5);
	return name;
}

bool
imap_mailbox_name_ok(const char *name)
{
	size_t len = strlen(name), i;

	if (len == 0 || len > MAILBOX_NAME_MAX || name[0] == '/' ||
	    name[len - 1] == '/' || strstr(name, "//") != NULL)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		/* Wildcards would make the name unmatchable in LIST. */
		if (c < 0x20 || c == 0x7f || c == '*' || c == '%')
			return false;
	}
	return imap_utf8_valid(name, len);
}

/* The store's strings live until its next call: copy them. */
static void
info_keep(struct imap_session *s, struct ms_mailbox_info *info)
{
	info->name = imap_arena_strndup(&s->arena, info->name,
	    strlen(info->name));
	if (info->special_use != NULL)
		info->special_use = imap_arena_strndup(&s->arena,
		    info->special_use, strlen(info->special_use));
}

/*
 * Looking a mailbox up by id or by special use means walking the user's
 * list: there are tens of folders, and these lookups happen only for
 * names that are not a mailbox.
 */
struct mailbox_scan {
	struct imap_session *s;
	ms_id		 id;		/* 0, or the mailbox wanted */
	const char	*use;		/* NULL, or the special use wanted */
	struct ms_mailbox_info *info;
	bool		 found;
};

static void
mailbox_scan_cb(void *arg, const struct ms_mailbox_info *mb)
{
	struct mailbox_scan *f = arg;

	if (f->found)
		return;
	if (f->id != 0 ? mb->id != f->id : (mb->special_use == NULL ||
	    strcasecmp(mb->special_use, f->use) != 0))
		return;
	/* The row's strings end with this callback. */
	*f->info = *mb;
	info_keep(f->s, f->info);
	f->found = true;
}

static int
mailbox_scan(struct imap_session *s, struct mailbox_scan *f)
{
	int rc;

	f->s = s;
	rc = ms_mailbox_list(imap_store(s), s->user_id, mailbox_scan_cb, f);
	if (rc != MS_OK)
		return rc;
	return f->found ? MS_OK : MS_NOT_FOUND;
}

/*
 * A mailbox of that name, else an alias the user created, else a
 * well-known alias.  The first two never share a name, so the order only
 * decides which well-known names stay mere mappings.
 */
int
imap_mailbox_resolve(struct imap_session *s, const char *name,
    struct ms_mailbox_info *info_r, enum imap_mailbox_via *via_r)
{
	struct mailbox_scan f = { .info = info_r };
	enum imap_mailbox_via via;
	int rc;

	rc = ms_mailbox_find(imap_store(s), s->user_id, name, info_r);
	if (rc == MS_OK) {
		info_keep(s, info_r);
		via = IMAP_MAILBOX_REAL;
	} else if (rc != MS_NOT_FOUND) {
		return rc;
	} else if ((rc = ms_mailbox_alias_find(imap_store(s), s->user_id,
	    name, &f.id, NULL)) == MS_OK) {
		rc = mailbox_scan(s, &f);
		via = IMAP_MAILBOX_ALIAS;
	} else if (rc != MS_NOT_FOUND) {
		return rc;
	} else if ((f.use = imap_mailbox_alias(name)) != NULL) {
		rc = mailbox_scan(s, &f);
		via = IMAP_MAILBOX_MAPPED;
	} else
		return MS_NOT_FOUND;
	if (rc == MS_OK && via_r != NULL)
		*via_r = via;
	return rc;
}

int
imap_mailbox_find(struct imap_session *s, const char *name,
    struct ms_mailbox_info *info_r)
{
	return imap_mailbox_resolve(s, name, info_r, NULL);
}

bool
imap_mailbox_under_alias(struct imap_session *s, const char *name)
{
	const char *slash = strchr(name, '/');
	char *first;

	if (slash == NULL)
		return false;
	first = imap_arena_strndup(&s->arena, name, (size_t)(slash - name));
	return ms_mailbox_alias_find(imap_store(s), s->user_id, first, NULL,
	    NULL) == MS_OK;
}

void
imap_mailbox_put(struct imap_session *s, struct imap_buf *b, const char *name)
{
	const char *wire = imap_utf8_to_utf7(name, &s->arena);

	if (wire == NULL)
		wire = name;
	imap_buf_string(b, wire, strlen(wire));
}

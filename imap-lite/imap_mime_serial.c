/* SPDX-License-Identifier: ISC */
/*
 * The part tree as text for the mailstore cache, and the walks FETCH
 * needs on a tree: section numbers to parts, parts to byte ranges.
 *
 * Format: a first line "IMAPMIME1", then every part in pre-order as
 *   P <depth> <kind> <header_off> <body_off> <end_off> <body_lines> <header_lines>
 *   E <envelope>		(only where there is one)
 *   S <bodystructure>
 *   B <body>
 * with kind "-" (leaf), "m" (multipart) or "r" (message/rfc822), and in
 * the strings "\\" for a backslash, "\n" and "\r" for LF and CR.  Every
 * line ends in LF.  The reader checks the shape (depths, a message part
 * with exactly one child, offsets in order) and refuses anything else.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "imap-lite/imap_mime_int.h"

#define SERIAL_MAGIC	"IMAPMIME1"

/* ------------------------------------------------------------- write */

static void
put_escaped(struct mime_buf *b, char tag, const char *s)
{
	mime_buf_addc(b, tag);
	mime_buf_addc(b, ' ');
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			mime_buf_adds(b, "\\\\");
		else if (*s == '\n')
			mime_buf_adds(b, "\\n");
		else if (*s == '\r')
			mime_buf_adds(b, "\\r");
		else
			mime_buf_addc(b, *s);
	}
	mime_buf_addc(b, '\n');
}

static void
put_part(struct mime_buf *b, const struct imap_mime_part *part,
    unsigned int depth)
{
	const uint64_t nums[] = { part->header_off, part->body_off,
	    part->end_off, part->body_lines, part->header_lines };
	size_t i;

	mime_buf_adds(b, "P ");
	mime_buf_add_u64(b, depth);
	mime_buf_adds(b, part->is_multipart ? " m" : part->is_message ? " r" : " -");
	for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		mime_buf_addc(b, ' ');
		mime_buf_add_u64(b, nums[i]);
	}
	mime_buf_addc(b, '\n');
	if (part->envelope != NULL)
		put_escaped(b, 'E', part->envelope);
	put_escaped(b, 'S', part->bodystructure != NULL ? part->bodystructure : "");
	put_escaped(b, 'B', part->body != NULL ? part->body : "");
	for (i = 0; i < part->n_children; i++)
		put_part(b, part->children[i], depth + 1);
}

char *
imap_mime_serialize(const struct imap_mime_part *root)
{
	struct mime_buf b = { 0 };

	mime_buf_adds(&b, SERIAL_MAGIC "\n");
	put_part(&b, root, 0);
	return mime_buf_steal(&b);
}

/* -------------------------------------------------------------- read */

/* The string of a line "X <escaped>" (the tag already checked), or NULL
 * if an escape is invalid. */
static char *
get_escaped(const char *s, size_t len)
{
	char *out = xmalloc(len + 1);
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		if (s[i] != '\\') {
			out[n++] = s[i];
			continue;
		}
		if (++i == len || strchr("\\nr", s[i]) == NULL) {
			free(out);
			return NULL;
		}
		out[n++] = s[i] == 'n' ? '\n' : s[i] == 'r' ? '\r' : '\\';
	}
	out[n] = '\0';
	return out;
}

static bool
get_u64(const char **s, uint64_t *v_r)
{
	char *end;

	if (**s != ' ' || (*s)[1] < '0' || (*s)[1] > '9')
		return false;
	errno = 0;
	*v_r = strtoull(*s + 1, &end, 10);
	if (errno != 0)
		return false;
	*s = end;
	return true;
}

/* A "P" line into a new part; depth and kind out. */
static struct imap_mime_part *
get_part(const char *line, size_t len, uint64_t *depth_r, char *kind_r)
{
	struct imap_mime_part tmp = { 0 }, *part;
	char *copy = xstrndup(line, len);
	const char *s = copy + 1;
	bool ok;

	ok = get_u64(&s, depth_r) && s[0] == ' ' && s[1] != '\0' &&
	    strchr("-mr", s[1]) != NULL;
	if (ok) {
		*kind_r = s[1];
		s += 2;
		ok = get_u64(&s, &tmp.header_off) && get_u64(&s, &tmp.body_off) &&
		    get_u64(&s, &tmp.end_off) && get_u64(&s, &tmp.body_lines) &&
		    get_u64(&s, &tmp.header_lines) && *s == '\0' &&
		    tmp.header_off <= tmp.body_off && tmp.body_off <= tmp.end_off;
	}
	free(copy);
	if (!ok)
		return NULL;
	part = xcalloc(1, sizeof(*part));
	*part = tmp;
	part->is_multipart = *kind_r == 'm';
	part->is_message = *kind_r == 'r';
	return part;
}

/* Containers must have their children: a message exactly one, a
 * multipart at least one; every part both strings. */
static bool
complete(const struct imap_mime_part *part)
{
	size_t i;

	if (part->bodystructure == NULL || part->body == NULL)
		return false;
	if (part->is_message ? part->n_children != 1 :
	    part->is_multipart ? part->n_children == 0 : part->n_children != 0)
		return false;
	for (i = 0; i < part->n_children; i++) {
		if (!complete(part->children[i]))
			return false;
	}
	return true;
}

struct imap_mime_part *
imap_mime_deserialize(const char *text)
{
	struct imap_mime_part *stack[IMAP_MIME_MAX_DEPTH + 1];
	struct imap_mime_part *root = NULL, *cur = NULL;
	size_t n_stack = 0, n_parts = 0;
	const char *s = text, *nl;
	bool ok = true;

	nl = strchr(s, '\n');
	if (nl == NULL || (size_t)(nl - s) != strlen(SERIAL_MAGIC) ||
	    strncmp(s, SERIAL_MAGIC, strlen(SERIAL_MAGIC)) != 0)
		return NULL;
	for (s = nl + 1; ok && *s != '\0'; s = nl + 1) {
		size_t len;
		char **field;

		if ((nl = strchr(s, '\n')) == NULL || nl - s < 2 || s[1] != ' ') {
			ok = false;
			break;
		}
		len = (size_t)(nl - s);
		if (s[0] == 'P') {
			uint64_t depth;
			char kind;

			if ((cur = get_part(s, len, &depth, &kind)) == NULL ||
			    ++n_parts > IMAP_MIME_MAX_PARTS + 1 ||
			    (root == NULL) != (depth == 0) || depth > n_stack ||
			    depth > IMAP_MIME_MAX_DEPTH) {
				if (cur != NULL)
					imap_mime_free(&cur);
				ok = false;
				break;
			}
			if (root == NULL) {
				root = cur;
			} else {
				struct imap_mime_part *parent = stack[depth - 1];

				if ((!parent->is_multipart && !parent->is_message) ||
				    (parent->is_message && parent->n_children > 0)) {
					imap_mime_free(&cur);
					ok = false;
					break;
				}
				mime_part_add_child(parent, cur);
			}
			n_stack = (size_t)depth;
			stack[n_stack++] = cur;
			continue;
		}
		if (cur == NULL) {
			ok = false;
			break;
		}
		field = s[0] == 'E' ? &cur->envelope : s[0] == 'S' ?
		    &cur->bodystructure : s[0] == 'B' ? &cur->body : NULL;
		if (field == NULL || *field != NULL ||
		    (*field = get_escaped(s + 2, len - 2)) == NULL)
			ok = false;
	}
	if (ok && root != NULL && complete(root))
		return root;
	imap_mime_free(&root);
	return NULL;
}

/* ------------------------------------------------------------- walks */

const struct imap_mime_part *
imap_mime_find(const struct imap_mime_part *root, const uint32_t *path,
    size_t depth)
{
	const struct imap_mime_part *cur = root;
	bool message = true;	/* cur stands for a message, not a part */
	size_t k;

	for (k = 0; k < depth && cur != NULL; k++) {
		uint32_t n = path[k];

		if (cur->is_multipart)
			cur = n >= 1 && n <= cur->n_children ?
			    cur->children[n - 1] : NULL;
		else if (!message || n != 1)
			return NULL;
		/* else: part 1 of a non-multipart message is its body */
		message = false;
		/* numbers after a message/rfc822 part go on inside it */
		if (cur != NULL && cur->is_message && k + 1 < depth) {
			cur = cur->children[0];
			message = true;
		}
	}
	return cur;
}

bool
imap_mime_section_range(const struct imap_mime_part *root,
    const uint32_t *path, size_t depth, enum imap_mime_section which,
    uint64_t *off_r, uint64_t *len_r)
{
	const struct imap_mime_part *part = imap_mime_find(root, path, depth);
	uint64_t start, end;

	if (part == NULL)
		return false;
	switch (which) {
	case IMAP_MIME_SECTION_BODY:
		start = depth == 0 ? 0 : part->body_off;
		end = part->end_off;
		break;
	case IMAP_MIME_SECTION_MIME:
		if (depth == 0)
			return false;
		start = part->header_off;
		end = part->body_off;
		break;
	case IMAP_MIME_SECTION_HEADER:
	case IMAP_MIME_SECTION_TEXT:
		if (depth > 0) {
			/* only the message inside a message/rfc822 part has a
			 * header and a text of its own */
			if (!part->is_message)
				return false;
			part = part->children[0];
		}
		start = which == IMAP_MIME_SECTION_HEADER ? part->header_off :
		    part->body_off;
		end = which == IMAP_MIME_SECTION_HEADER ? part->body_off :
		    part->end_off;
		break;
	default:
		return false;
	}
	*off_r = start;
	*len_r = end - start;
	return true;
}

/* SPDX-License-Identifier: ISC */
/*
 * RFC 5322 dates (section 3.3 and the obsolete forms of 4.3) for SEARCH
 * SENTBEFORE / SENTON / SENTSINCE.
 *
 * Accepted, because real Date fields contain all of them: an optional
 * weekday with or without its comma, 1- or 2-digit days, month names in
 * any case (full names too), 4-digit years and the obsolete 2-digit
 * (< 50 is 20xx) and 3-digit (+1900) ones, times without seconds,
 * numeric zones, the named zones of RFC 5322 4.3 (military letters read
 * as +0000, as 4.3 advises), no zone at all (+0000), comments anywhere,
 * '-' between day, month and year, and the asctime() order some old
 * software writes ("Tue Jul  1 10:52:37 2003").  Anything after the zone
 * is ignored.  Impossible dates (31 Feb, 25:00) are refused.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap-lite/imap_mime.h"

struct dlex {
	const char	*s;
	size_t		 i;
};

static void
skip_blanks(struct dlex *l)
{
	for (;;) {
		char c = l->s[l->i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			l->i++;
		} else if (c == '(') {
			int depth = 0;

			do {
				if (l->s[l->i] == '\\' && l->s[l->i + 1] != '\0')
					l->i++;
				else if (l->s[l->i] == '(')
					depth++;
				else if (l->s[l->i] == ')')
					depth--;
				l->i++;
			} while (depth > 0 && l->s[l->i] != '\0');
		} else {
			return;
		}
	}
}

/* Up to max digits; -1 if there is no digit here. */
static int
get_number(struct dlex *l, size_t max, size_t *ndigits_r)
{
	size_t n = 0;
	int v = 0;

	while (n < max && isdigit((unsigned char)l->s[l->i])) {
		v = v * 10 + (l->s[l->i++] - '0');
		n++;
	}
	if (ndigits_r != NULL)
		*ndigits_r = n;
	return n == 0 ? -1 : v;
}

/* A run of letters, at most cap - 1 kept (lower-cased) in buf. */
static size_t
get_word(struct dlex *l, char *buf, size_t cap)
{
	size_t n = 0;

	while (isalpha((unsigned char)l->s[l->i])) {
		if (n + 1 < cap)
			buf[n++] = (char)tolower((unsigned char)l->s[l->i]);
		l->i++;
	}
	buf[n] = '\0';
	return n;
}

static int
month_number(const char *word)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	size_t i;

	if (strlen(word) < 3)
		return 0;
	for (i = 0; i < 12; i++) {
		if (strncmp(word, months + 3 * i, 3) == 0)
			return (int)i + 1;
	}
	return 0;
}

static bool
is_weekday(const char *word)
{
	static const char days[] = "montuewedthufrisatsun";
	size_t i;

	for (i = 0; i < 7 && strlen(word) >= 3; i++) {
		if (strncmp(word, days + 3 * i, 3) == 0)
			return true;
	}
	return false;
}

/* Zone in minutes east of UTC; missing or unknown ones are 0. */
static void
get_zone(struct dlex *l, int *zone_r)
{
	static const struct {
		const char	*name;
		int		 hours;
	} names[] = {
		{ "ut", 0 }, { "utc", 0 }, { "gmt", 0 }, { "z", 0 },
		{ "est", -5 }, { "edt", -4 }, { "cst", -6 }, { "cdt", -5 },
		{ "mst", -7 }, { "mdt", -6 }, { "pst", -8 }, { "pdt", -7 },
	};
	char word[8];
	size_t i, nd;
	char sign;
	int v;

	*zone_r = 0;
	skip_blanks(l);
	sign = l->s[l->i];
	if (sign == '+' || sign == '-') {
		l->i++;
		/* a malformed offset is as good as none */
		if ((v = get_number(l, 4, &nd)) >= 0 && nd == 4 && v % 100 <= 59)
			*zone_r = (v / 100 * 60 + v % 100) * (sign == '-' ? -1 : 1);
		return;
	}
	if (get_word(l, word, sizeof(word)) > 0) {
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			if (strcmp(word, names[i].name) == 0)
				*zone_r = names[i].hours * 60;
		}
	}
}

static int
days_in_month(int year, int month)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t
days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
get_year(struct dlex *l)
{
	size_t nd;
	int y = get_number(l, 4, &nd);

	if (y < 0)
		return -1;
	if (nd == 2)
		return y < 50 ? 2000 + y : 1900 + y;
	if (nd == 3)
		return 1900 + y;
	return y;
}

/* hh ":" mm [":" ss] */
static bool
get_time(struct dlex *l, int *h_r, int *m_r, int *s_r)
{
	skip_blanks(l);
	if ((*h_r = get_number(l, 2, NULL)) < 0)
		return false;
	skip_blanks(l);
	if (l->s[l->i] != ':')
		return false;
	l->i++;
	skip_blanks(l);
	if ((*m_r = get_number(l, 2, NULL)) < 0)
		return false;
	*s_r = 0;
	skip_blanks(l);
	if (l->s[l->i] == ':') {
		l->i++;
		skip_blanks(l);
		if ((*s_r = get_number(l, 2, NULL)) < 0)
			return false;
	}
	return *h_r <= 23 && *m_r <= 59 && *s_r <= 60;
}

static void
skip_dash(struct dlex *l)
{
	skip_blanks(l);
	if (l->s[l->i] == '-')
		l->i++;
	skip_blanks(l);
}

bool
imap_mime_parse_date_tz(const char *value, int64_t *t_r, int *zone_r)
{
	struct dlex l = { .s = value };
	int day, month, year, h, m, s, zone;
	char word[16];

	skip_blanks(&l);
	if (isalpha((unsigned char)l.s[l.i])) {
		get_word(&l, word, sizeof(word));
		if (!is_weekday(word))
			return false;
		skip_blanks(&l);
		if (l.s[l.i] == ',')
			l.i++;
		skip_blanks(&l);
	}
	if (isalpha((unsigned char)l.s[l.i])) {
		/* asctime order: month day time year [zone] */
		get_word(&l, word, sizeof(word));
		if ((month = month_number(word)) == 0)
			return false;
		skip_blanks(&l);
		if ((day = get_number(&l, 2, NULL)) < 0 ||
		    !get_time(&l, &h, &m, &s))
			return false;
		skip_blanks(&l);
		if ((year = get_year(&l)) < 0)
			return false;
	} else {
		if ((day = get_number(&l, 2, NULL)) < 0)
			return false;
		skip_dash(&l);
		get_word(&l, word, sizeof(word));
		if ((month = month_number(word)) == 0)
			return false;
		skip_dash(&l);
		if ((year = get_year(&l)) < 0 || !get_time(&l, &h, &m, &s))
			return false;
	}
	get_zone(&l, &zone);
	if (year < 1900 || day < 1 || day > days_in_month(year, month))
		return false;
	*t_r = days_from_civil(year, month, day) * 86400 +
	    h * 3600 + m * 60 + s - (int64_t)zone * 60;
	*zone_r = zone;
	return true;
}

bool
imap_mime_parse_date(const char *value, int64_t *t_r)
{
	int zone;

	return imap_mime_parse_date_tz(value, t_r, &zone);
}

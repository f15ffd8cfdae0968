/* SPDX-License-Identifier: ISC */
/*
 * IMAP dates: "date" for SEARCH BEFORE/ON/SINCE and friends, "date-time"
 * for APPEND and INTERNALDATE (RFC 3501 section 9).
 *
 * Calendar arithmetic is done here on the proleptic Gregorian calendar
 * rather than through mktime()/timegm(), so the result never depends on
 * the process time zone and the code stays free of library state.
 */
#include "autoconfig.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "imap-lite/imap_parser.h"

static const char months[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

static bool
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int64_t y, int m)
{
	static const int days[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/*
 * Days from 1970-01-01 to y-m-d.  Counting years from March makes the
 * leap day the last day of the counted year, so the day of the year is a
 * closed formula; 400-year eras repeat exactly.
 */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	if (m <= 2)
		y--;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The inverse of days_from_civil(). */
static void
civil_from_days(int64_t z, int64_t *y_r, int *m_r, int *d_r)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d_r = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m_r = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y_r = yoe + era * 400 + (*m_r <= 2 ? 1 : 0);
}

/* Exactly n digits at *pp. */
static bool
digits(const char **pp, int n, int *v_r)
{
	const char *p = *pp;
	int v = 0, i;

	for (i = 0; i < n; i++, p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (*p - '0');
	}
	*pp = p;
	*v_r = v;
	return true;
}

/* "DD-Mon-YYYY" after the day: "-Mon-YYYY", validated. */
static bool
month_year(const char **pp, int day, int64_t *days_r)
{
	const char *p = *pp;
	int m, year;

	if (*p != '-')
		return false;
	p++;
	for (m = 0; m < 12; m++)
		if (strncasecmp(p, months[m], 3) == 0)
			break;
	if (m == 12)
		return false;
	p += 3;
	if (*p != '-')
		return false;
	p++;
	if (!digits(&p, 4, &year))
		return false;
	if (day < 1 || day > month_days(year, m + 1))
		return false;
	*days_r = days_from_civil(year, m + 1, day);
	*pp = p;
	return true;
}

/* Strip one pair of surrounding double quotes into buf; NULL if the
 * quotes do not pair up or the string is too long to be a date. */
static const char *
unquote(const char *s, char *buf, size_t size)
{
	size_t n = strlen(s);

	if (n == 0 || s[0] != '"')
		return s;
	if (n < 2 || s[n - 1] != '"' || n - 2 >= size)
		return NULL;
	memcpy(buf, s + 1, n - 2);
	buf[n - 2] = '\0';
	return buf;
}

bool
imap_parse_date(const char *s, time_t *t_r)
{
	char buf[32];
	const char *p;
	int64_t days;
	int day;

	if ((p = unquote(s, buf, sizeof(buf))) == NULL)
		return false;
	if (*p < '0' || *p > '9')
		return false;
	day = *p++ - '0';
	if (*p >= '0' && *p <= '9')
		day = day * 10 + (*p++ - '0');
	if (!month_year(&p, day, &days) || *p != '\0')
		return false;
	*t_r = (time_t)(days * 86400);
	return true;
}

bool
imap_parse_datetime(const char *s, time_t *t_r)
{
	char buf[40];
	const char *p;
	int64_t days, secs;
	int day, hh, mm, ss, zh, zm, sign;
	bool padded = false;

	if ((p = unquote(s, buf, sizeof(buf))) == NULL)
		return false;
	/* date-day-fixed is " 7" or "07"; a bare "7" is tolerated. */
	if (*p == ' ') {
		padded = true;
		p++;
	}
	if (*p < '0' || *p > '9')
		return false;
	day = *p++ - '0';
	if (*p >= '0' && *p <= '9' && !padded)
		day = day * 10 + (*p++ - '0');
	if (!month_year(&p, day, &days))
		return false;
	if (*p++ != ' ' || !digits(&p, 2, &hh) || *p++ != ':' ||
	    !digits(&p, 2, &mm) || *p++ != ':' || !digits(&p, 2, &ss) ||
	    *p++ != ' ')
		return false;
	if (*p != '+' && *p != '-')
		return false;
	sign = *p++ == '-' ? -1 : 1;
	if (!digits(&p, 2, &zh) || !digits(&p, 2, &zm) || *p != '\0')
		return false;
	/* 60 seconds is a leap second; it folds into the next minute. */
	if (hh > 23 || mm > 59 || ss > 60 || zm > 59)
		return false;
	secs = days * 86400 + hh * 3600 + mm * 60 + ss;
	secs -= sign * (zh * 3600 + zm * 60);
	*t_r = (time_t)secs;
	return true;
}

void
imap_format_datetime(time_t t, char buf[32])
{
	int64_t s = (int64_t)t, days, rem, y;
	int m, d;

	days = s / 86400;
	rem = s % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	/* Years outside 0..9999 cannot be written as date-year. */
	if (y < 0)
		y = 0;
	else if (y > 9999)
		y = 9999;
	snprintf(buf, 32, "%2d-%s-%04d %02d:%02d:%02d +0000", d,
	    months[m - 1], (int)y, (int)(rem / 3600), (int)(rem / 60 % 60),
	    (int)(rem % 60));
}

/* date.c: civil dates, durations and calendar arithmetic. Pure: no clock, no I/O. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "deadlined/core/date.h"

/* Duration caps: 200 years is far beyond any real deadline, and keeps
 * n * duration arithmetic well inside 64 bits. */
#define DUR_MONTHS_MAX (12 * 200)
#define DUR_DAYS_MAX (366 * 200)

static const char *const month_names[12] = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December",
};

/* Howard Hinnant's days_from_civil, in 64 bits so that arithmetic far
 * outside the valid year range still cannot overflow. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
        y -= m <= 2;
        int64_t era = (y >= 0 ? y : y - 399) / 400;
        int64_t yoe = y - era * 400;
        int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
        z += 719468;
        int64_t era = (z >= 0 ? z : z - 146096) / 146097;
        int64_t doe = z - era * 146097;
        int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int64_t mp = (5 * doy + 2) / 153;

        *d = (int)(doy - (153 * mp + 2) / 5 + 1);
        *m = (int)(mp < 10 ? mp + 3 : mp - 9);
        *y = yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int dim64(int64_t y, int m)
{
        static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

        if (m < 1 || m > 12)
                return 0;
        return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Results outside dl_day saturate instead of wrapping (and never hit DATE_NONE). */
static dl_day clamp_day(int64_t v)
{
        if (v > INT32_MAX)
                return INT32_MAX;
        if (v <= INT32_MIN)
                return INT32_MIN + 1;
        return (dl_day)v;
}

int date_days_in_month(int y, int m)
{
        return dim64(y, m);
}

bool date_ymd_valid(int y, int m, int d)
{
        if (y < DATE_YEAR_MIN || y > DATE_YEAR_MAX || m < 1 || m > 12)
                return false;
        return d >= 1 && d <= dim64(y, m);
}

dl_day date_from_ymd(int y, int m, int d)
{
        return clamp_day(days_from_civil(y, m, d));
}

void date_to_ymd(dl_day day, int *y, int *m, int *d)
{
        int64_t yy;

        civil_from_days(day, &yy, m, d);
        *y = (int)yy;
}

int date_weekday(dl_day day)
{
        /* 1970-01-01 was a Thursday (3 with Monday = 0). */
        int r = (int)(((int64_t)day + 3) % 7);
        return r < 0 ? r + 7 : r;
}

/* Exactly n ASCII digits at s. */
static bool digits(const char *s, int n, int *out)
{
        int v = 0;

        for (int i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (s[i] - '0');
        }
        *out = v;
        return true;
}

/* "YYYY-MM-DD" at s (exactly 10 characters are looked at). */
static int parse_ymd(const char *s, int *y, int *m, int *d)
{
        if (!digits(s, 4, y) || s[4] != '-' || !digits(s + 5, 2, m) || s[7] != '-' ||
            !digits(s + 8, 2, d))
                return -EINVAL;
        return date_ymd_valid(*y, *m, *d) ? 0 : -ERANGE;
}

int date_parse_day(const char *s, dl_day *out)
{
        int y, m, d, r;

        if (!s || strlen(s) != 10)
                return -EINVAL;
        r = parse_ymd(s, &y, &m, &d);
        if (r < 0)
                return r;
        *out = date_from_ymd(y, m, d);
        return 0;
}

int time_parse_hm(const char *s, int *minute)
{
        int h, m;

        if (!s || strlen(s) != 5 || !digits(s, 2, &h) || s[2] != ':' || !digits(s + 3, 2, &m))
                return -EINVAL;
        if (h > 23 || m > 59)
                return -ERANGE;
        *minute = h * 60 + m;
        return 0;
}

static int parse_year_month(const char *s, size_t len, struct dl_date *out)
{
        int y, m = 12;

        if (!digits(s, 4, &y))
                return -EINVAL;
        if (len == 7 && (s[4] != '-' || !digits(s + 5, 2, &m)))
                return -EINVAL;
        if (y < DATE_YEAR_MIN || y > DATE_YEAR_MAX || m < 1 || m > 12)
                return -ERANGE;
        out->day = date_from_ymd(y, m, dim64(y, m));
        out->prec = len == 4 ? PREC_YEAR : PREC_MONTH;
        out->minute = -1;
        return 0;
}

int date_parse(const char *s, struct dl_date *out)
{
        int y, m, d, minute = -1, r;
        size_t len;

        if (!s)
                return -EINVAL;
        len = strlen(s);
        if (len == 4 || len == 7)
                return parse_year_month(s, len, out);
        if (len != 10 && len != 16)
                return -EINVAL;
        if (len == 16 && s[10] != 'T')
                return -EINVAL;
        if (len == 16) {
                /* Syntax of the time first, so "2025-02-30Tzz" is -EINVAL. */
                r = time_parse_hm(s + 11, &minute);
                if (r == -EINVAL)
                        return r;
        }
        r = parse_ymd(s, &y, &m, &d);
        if (r < 0)
                return r;
        if (len == 16 && minute < 0)
                return -ERANGE;
        out->day = date_from_ymd(y, m, d);
        out->prec = PREC_DAY;
        out->minute = (int16_t)minute;
        return 0;
}

/* One "<n><unit>" term. Digits saturate so huge numbers report -ERANGE, not -EINVAL. */
static int dur_term(const char **p, int *unit_min, int64_t v[4])
{
        static const char units[] = "ymwd";
        const char *s = *p, *u;
        int64_t n = 0;

        /* A leading zero is either a zero term or a non-canonical number. */
        if (*s < '1' || *s > '9')
                return -EINVAL;
        for (; *s >= '0' && *s <= '9'; s++)
                n = n > 1000000000 ? n : n * 10 + (*s - '0');
        if (*s == '\0')
                return -EINVAL;
        u = strchr(units, *s);
        if (!u || u - units < *unit_min)
                return -EINVAL;
        v[u - units] = n;
        *unit_min = (int)(u - units) + 1;
        *p = s + 1;
        return 0;
}

int dur_parse(const char *s, struct dl_dur *out)
{
        int64_t v[4] = {0, 0, 0, 0}, months, days;
        int unit_min = 0, r;

        if (!s || !*s)
                return -EINVAL;
        if (strcmp(s, "0") == 0) {
                *out = (struct dl_dur){0, 0};
                return 0;
        }
        while (*s) {
                r = dur_term(&s, &unit_min, v);
                if (r < 0)
                        return r;
        }
        months = v[0] * 12 + v[1];
        days = v[2] * 7 + v[3];
        if (months > DUR_MONTHS_MAX || days > DUR_DAYS_MAX)
                return -ERANGE;
        *out = (struct dl_dur){(int32_t)months, (int32_t)days};
        return 0;
}

bool dur_is_zero(struct dl_dur d)
{
        return d.months == 0 && d.days == 0;
}

const char *dur_format(struct dl_dur d, char *buf, size_t len)
{
        char tmp[64];
        size_t n = 0;

        tmp[0] = '\0';
        if (d.months / 12 != 0)
                n += (size_t)snprintf(tmp + n, sizeof(tmp) - n, "%dy", d.months / 12);
        if (d.months % 12 != 0)
                n += (size_t)snprintf(tmp + n, sizeof(tmp) - n, "%dm", d.months % 12);
        if (d.days != 0 && d.days % 7 == 0)
                n += (size_t)snprintf(tmp + n, sizeof(tmp) - n, "%dw", d.days / 7);
        else if (d.days != 0)
                n += (size_t)snprintf(tmp + n, sizeof(tmp) - n, "%dd", d.days);
        snprintf(buf, len, "%s", n ? tmp : "0");
        return buf;
}

static int64_t add_months(dl_day day, int64_t months)
{
        int64_t y, total;
        int m, d, nm;

        civil_from_days(day, &y, &m, &d);
        total = y * 12 + (m - 1) + months;
        /* Floor division: months before year 0 still land in the right year. */
        y = total >= 0 ? total / 12 : -((-total + 11) / 12);
        nm = (int)(total - y * 12) + 1;
        if (d > dim64(y, nm))
                d = dim64(y, nm);
        return days_from_civil(y, nm, d);
}

dl_day date_add(dl_day day, struct dl_dur d)
{
        if (day == DATE_NONE)
                return DATE_NONE;
        return clamp_day(add_months(day, d.months) + d.days);
}

dl_day date_sub(dl_day day, struct dl_dur d)
{
        if (day == DATE_NONE)
                return DATE_NONE;
        return clamp_day(add_months(day, -(int64_t)d.months) - d.days);
}

dl_day date_add_n(dl_day base, struct dl_dur d, int32_t n)
{
        if (base == DATE_NONE)
                return DATE_NONE;
        return clamp_day(add_months(base, (int64_t)n * d.months) + (int64_t)n * d.days);
}

const char *date_format(dl_day day, char *buf, size_t len)
{
        int y, m, d;

        date_to_ymd(day, &y, &m, &d);
        snprintf(buf, len, "%04d-%02d-%02d", y, m, d);
        return buf;
}

const char *date_label(struct dl_date dt, char *buf, size_t len)
{
        int y, m, d;

        date_to_ymd(dt.day, &y, &m, &d);
        if (dt.prec == PREC_YEAR)
                snprintf(buf, len, "in %d", y);
        else if (dt.prec == PREC_MONTH)
                snprintf(buf, len, "by end of %s %d", month_names[m - 1], y);
        else if (dt.minute >= 0 && dt.minute < 24 * 60)
                snprintf(buf, len, "%d %s %d at %02d:%02d", d, month_names[m - 1], y,
                         dt.minute / 60, dt.minute % 60);
        else
                snprintf(buf, len, "%d %s %d", d, month_names[m - 1], y);
        return buf;
}

const char *date_format_prec(struct dl_date dt, char *buf, size_t len)
{
        int y, m, d;

        date_to_ymd(dt.day, &y, &m, &d);
        if (dt.prec == PREC_YEAR)
                snprintf(buf, len, "%04d", y);
        else if (dt.prec == PREC_MONTH)
                snprintf(buf, len, "%04d-%02d", y, m);
        else if (dt.minute >= 0 && dt.minute < 24 * 60)
                snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d", y, m, d, dt.minute / 60,
                         dt.minute % 60);
        else
                snprintf(buf, len, "%04d-%02d-%02d", y, m, d);
        return buf;
}

/* date.h: civil dates with precision, durations, calendar arithmetic. Pure. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef int32_t dl_day; /* days since 1970-01-01 (proleptic Gregorian) */
#define DATE_NONE INT32_MIN
#define DATE_YEAR_MIN 1900 /* outside this range a date is a typo, not a deadline */
#define DATE_YEAR_MAX 2199

enum dl_prec { PREC_DAY = 0, PREC_MONTH, PREC_YEAR };

/* A due date. For month or year precision, day is the LAST day covered
 * ("by end of March 2019" -> 2019-03-31). minute is the time of day given
 * with YYYY-MM-DDTHH:MM, or -1. */
struct dl_date {
        dl_day day;
        uint8_t prec;
        int16_t minute;
};

/* A calendar duration: months (years fold into 12 months) then days (weeks fold into 7). */
struct dl_dur {
        int32_t months;
        int32_t days;
};

bool date_ymd_valid(int y, int m, int d); /* within DATE_YEAR_MIN..MAX, real day */
dl_day date_from_ymd(int y, int m, int d);  /* caller checked validity */
void date_to_ymd(dl_day day, int *y, int *m, int *d);
int date_days_in_month(int y, int m);
int date_weekday(dl_day day); /* 0 = Monday .. 6 = Sunday */

/* Strict parsers. Return 0, or -EINVAL (malformed) / -ERANGE (impossible day or year out of range).
 * date_parse_day: YYYY-MM-DD only. date_parse: YYYY | YYYY-MM | YYYY-MM-DD | YYYY-MM-DDTHH:MM. */
int date_parse_day(const char *s, dl_day *out);
int date_parse(const char *s, struct dl_date *out);
/* "HH:MM", 00:00..23:59 -> minutes after midnight. */
int time_parse_hm(const char *s, int *minute);

/* Durations: one or more <n><unit> with unit y, m, w, d, e.g. 3y, 18m, 2w, 10d, 1y6m; "0" is zero.
 * Units must appear in that order, each at most once. Returns 0 or -EINVAL / -ERANGE. */
int dur_parse(const char *s, struct dl_dur *out);
bool dur_is_zero(struct dl_dur d);
/* Canonical text, e.g. "1y6m", "2w", "10d", "0". buf >= 32 bytes. */
const char *dur_format(struct dl_dur d, char *buf, size_t len);

/* Calendar arithmetic with month-end clamping:
 * 2024-02-29 + 3y = 2027-02-28, 2025-01-31 + 1m = 2025-02-28. Months first, then days.
 * date_sub subtracts the same way (2027-08-31 - 6m = 2027-02-28). */
dl_day date_add(dl_day day, struct dl_dur d);
dl_day date_sub(dl_day day, struct dl_dur d);
/* base + n * d, computed from base each time so month ends do not drift. */
dl_day date_add_n(dl_day base, struct dl_dur d, int32_t n);

/* "2027-03-14". buf >= 11 bytes. */
const char *date_format(dl_day day, char *buf, size_t len);
/* Human label with no relative wording: "14 March 2027", "by end of March 2019", "in 2027";
 * with a time: "14 March 2027 at 12:00". */
const char *date_label(struct dl_date d, char *buf, size_t len);
/* The ISO form of a precise date as configured: "2027", "2027-03", "2027-03-14", "2027-03-14T12:00". */
const char *date_format_prec(struct dl_date d, char *buf, size_t len);

/* test-tz.c: TZif parsing, POSIX footer rules, local <-> UTC, instants. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deadlined/core/tz.h"

#define ZONEINFO "/usr/share/zoneinfo/"

/* The module never reads files; the test does. */
static uint8_t *slurp(const char *path, size_t *len)
{
        FILE *f = fopen(path, "rb");
        uint8_t *buf = NULL;
        long n;

        if (!f)
                fail_msg("cannot open %s", path);
        assert_int_equal(fseek(f, 0, SEEK_END), 0);
        n = ftell(f);
        assert_true(n > 0);
        rewind(f);
        buf = malloc((size_t)n);
        assert_non_null(buf);
        assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
        fclose(f);
        *len = (size_t)n;
        return buf;
}

static struct tz *load(const char *name)
{
        char path[256];
        struct tz *tz = NULL;
        size_t len;
        uint8_t *data;

        snprintf(path, sizeof(path), ZONEINFO "%s", name);
        data = slurp(path, &len);
        assert_int_equal(tz_parse(data, len, name, &tz), 0);
        free(data);
        assert_non_null(tz);
        assert_string_equal(tz_name(tz), name);
        return tz;
}

static dl_day D(int y, int m, int d)
{
        return date_from_ymd(y, m, d);
}

/* Local wall time in tz, as the UTC text. */
static const char *l2u(const struct tz *tz, int y, int mo, int d, int h, int mi)
{
        static char buf[4][32];
        static int i;

        i = (i + 1) % 4;
        return time_format_utc(tz_local_to_utc(tz, D(y, mo, d), h * 60 + mi), buf[i],
                               sizeof(buf[i]));
}

/* An instant shown as local time in tz. */
static const char *local(const struct tz *tz, int64_t t)
{
        static char buf[4][48];
        static int i;

        i = (i + 1) % 4;
        return tz_format_local(tz, t, buf[i], sizeof(buf[i]));
}

static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
        return (int64_t)D(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

static void test_london(void **state)
{
        struct tz *tz = load("Europe/London");
        const char *ab = NULL;

        (void)state;
        /* 09:00 local on a winter day is 09:00Z, on a summer day 08:00Z. */
        assert_string_equal(l2u(tz, 2025, 1, 15, 9, 0), "2025-01-15T09:00:00Z");
        assert_string_equal(l2u(tz, 2025, 7, 15, 9, 0), "2025-07-15T08:00:00Z");
        assert_int_equal(tz_local_to_utc(tz, D(2025, 1, 15), 540), 1736931600);
        /* The transition days themselves. */
        assert_string_equal(l2u(tz, 2025, 3, 30, 9, 0), "2025-03-30T08:00:00Z");
        assert_string_equal(l2u(tz, 2025, 10, 26, 9, 0), "2025-10-26T09:00:00Z");
        /* Offsets and abbreviations either side of each transition. */
        assert_int_equal(tz_offset_at(tz, utc(2025, 3, 30, 0, 59, 59), &ab), 0);
        assert_string_equal(ab, "GMT");
        assert_int_equal(tz_offset_at(tz, utc(2025, 3, 30, 1, 0, 0), &ab), 3600);
        assert_string_equal(ab, "BST");
        assert_int_equal(tz_offset_at(tz, utc(2025, 10, 26, 0, 59, 59), &ab), 3600);
        assert_string_equal(ab, "BST");
        assert_int_equal(tz_offset_at(tz, utc(2025, 10, 26, 1, 0, 0), &ab), 0);
        assert_string_equal(ab, "GMT");
        assert_int_equal(tz_offset_at(tz, utc(2025, 3, 30, 1, 0, 0), NULL), 3600);
        tz_free(tz);
}

static void test_london_gap_overlap(void **state)
{
        struct tz *tz = load("Europe/London");
        int64_t t;

        (void)state;
        /* Spring forward: 01:00-02:00 does not exist; 01:30 moves on to 02:30 BST. */
        t = tz_local_to_utc(tz, D(2025, 3, 30), 90);
        assert_string_equal(local(tz, t), "2025-03-30 02:30 BST");
        assert_string_equal(l2u(tz, 2025, 3, 30, 1, 30), "2025-03-30T01:30:00Z");
        assert_string_equal(l2u(tz, 2025, 3, 30, 1, 0), "2025-03-30T01:00:00Z");
        assert_string_equal(l2u(tz, 2025, 3, 30, 0, 59), "2025-03-30T00:59:00Z");
        assert_string_equal(l2u(tz, 2025, 3, 30, 2, 0), "2025-03-30T01:00:00Z");
        assert_string_equal(l2u(tz, 2025, 3, 30, 1, 59), "2025-03-30T01:59:00Z");
        /* Fall back: 01:00-02:00 happens twice; take the first (BST) one. */
        t = tz_local_to_utc(tz, D(2025, 10, 26), 90);
        assert_string_equal(local(tz, t), "2025-10-26 01:30 BST");
        assert_string_equal(l2u(tz, 2025, 10, 26, 1, 30), "2025-10-26T00:30:00Z");
        assert_string_equal(l2u(tz, 2025, 10, 26, 1, 0), "2025-10-26T00:00:00Z");
        assert_string_equal(l2u(tz, 2025, 10, 26, 0, 59), "2025-10-25T23:59:00Z");
        assert_string_equal(l2u(tz, 2025, 10, 26, 2, 0), "2025-10-26T02:00:00Z");
        assert_string_equal(local(tz, utc(2025, 10, 26, 1, 30, 0)), "2025-10-26 01:30 GMT");
        tz_free(tz);
}

/* Debian's files end in 2037: later instants come from the footer rule. */
static void test_london_footer(void **state)
{
        struct tz *tz = load("Europe/London");
        const char *ab = NULL;

        (void)state;
        assert_string_equal(l2u(tz, 2100, 7, 1, 9, 0), "2100-07-01T08:00:00Z");
        assert_int_equal(tz_offset_at(tz, utc(2100, 7, 1, 12, 0, 0), &ab), 3600);
        assert_string_equal(ab, "BST");
        assert_string_equal(l2u(tz, 2100, 1, 15, 9, 0), "2100-01-15T09:00:00Z");
        assert_int_equal(tz_offset_at(tz, utc(2100, 1, 15, 12, 0, 0), &ab), 0);
        assert_string_equal(ab, "GMT");
        /* 2100 switches on 28 March and 31 October at 01:00Z. */
        assert_int_equal(tz_offset_at(tz, utc(2100, 3, 28, 0, 59, 59), NULL), 0);
        assert_int_equal(tz_offset_at(tz, utc(2100, 3, 28, 1, 0, 0), NULL), 3600);
        assert_int_equal(tz_offset_at(tz, utc(2100, 10, 31, 0, 59, 59), NULL), 3600);
        assert_int_equal(tz_offset_at(tz, utc(2100, 10, 31, 1, 0, 0), NULL), 0);
        assert_string_equal(l2u(tz, 2100, 3, 28, 1, 30), "2100-03-28T01:30:00Z");
        assert_string_equal(l2u(tz, 2100, 10, 31, 1, 30), "2100-10-31T00:30:00Z");
        /* Around the end of the table. */
        assert_string_equal(l2u(tz, 2037, 10, 25, 9, 0), "2037-10-25T09:00:00Z");
        assert_string_equal(l2u(tz, 2038, 3, 28, 9, 0), "2038-03-28T08:00:00Z");
        assert_string_equal(l2u(tz, 2199, 7, 1, 9, 0), "2199-07-01T08:00:00Z");
        /* Before the table: local mean time (-0:01:15). */
        assert_int_equal(tz_offset_at(tz, utc(1800, 1, 1, 0, 0, 0), &ab), -75);
        assert_string_equal(ab, "LMT");
        tz_free(tz);
}

static void test_new_york(void **state)
{
        struct tz *tz = load("America/New_York");
        const char *ab = NULL;

        (void)state;
        assert_string_equal(l2u(tz, 2025, 1, 15, 9, 0), "2025-01-15T14:00:00Z");
        assert_string_equal(l2u(tz, 2025, 7, 4, 12, 0), "2025-07-04T16:00:00Z");
        assert_int_equal(tz_offset_at(tz, utc(2025, 7, 4, 16, 0, 0), &ab), -4 * 3600);
        assert_string_equal(ab, "EDT");
        assert_int_equal(tz_offset_at(tz, utc(2025, 1, 4, 16, 0, 0), &ab), -5 * 3600);
        assert_string_equal(ab, "EST");
        /* Gap 02:00-03:00 on 9 March 2025; overlap 01:00-02:00 on 2 November. */
        assert_string_equal(l2u(tz, 2025, 3, 9, 2, 30), "2025-03-09T07:30:00Z");
        assert_string_equal(local(tz, utc(2025, 3, 9, 7, 30, 0)), "2025-03-09 03:30 EDT");
        assert_string_equal(l2u(tz, 2025, 11, 2, 1, 30), "2025-11-02T05:30:00Z");
        assert_string_equal(l2u(tz, 2100, 7, 1, 9, 0), "2100-07-01T13:00:00Z");
        assert_int_equal(tz_offset_at(tz, utc(2100, 3, 14, 6, 59, 59), NULL), -5 * 3600);
        assert_int_equal(tz_offset_at(tz, utc(2100, 3, 14, 7, 0, 0), NULL), -4 * 3600);
        tz_free(tz);
}

/* Lord Howe: +10:30 standard, +11 in (southern) summer: a 30-minute shift. */
static void test_lord_howe(void **state)
{
        struct tz *tz = load("Australia/Lord_Howe");
        const char *ab = NULL;

        (void)state;
        assert_string_equal(l2u(tz, 2025, 1, 15, 9, 0), "2025-01-14T22:00:00Z");
        assert_string_equal(l2u(tz, 2025, 7, 15, 9, 0), "2025-07-14T22:30:00Z");
        assert_int_equal(tz_offset_at(tz, utc(2025, 7, 14, 22, 30, 0), &ab), 37800);
        assert_string_equal(ab, "+1030");
        assert_int_equal(tz_offset_at(tz, utc(2025, 1, 14, 22, 0, 0), &ab), 39600);
        assert_string_equal(ab, "+11");
        /* Overlap 01:30-02:00 on 6 April 2025: the first (+11) occurrence. */
        assert_string_equal(l2u(tz, 2025, 4, 6, 1, 45), "2025-04-05T14:45:00Z");
        /* Gap 02:00-02:30 on 5 October 2025: 02:15 becomes 02:45 +11. */
        assert_string_equal(l2u(tz, 2025, 10, 5, 2, 15), "2025-10-04T15:45:00Z");
        assert_string_equal(local(tz, utc(2025, 10, 4, 15, 45, 0)), "2025-10-05 02:45 +11");
        /* Footer rule, southern hemisphere: DST spans the new year. */
        assert_string_equal(l2u(tz, 2100, 1, 15, 9, 0), "2100-01-14T22:00:00Z");
        assert_string_equal(l2u(tz, 2100, 7, 15, 9, 0), "2100-07-14T22:30:00Z");
        assert_int_equal(tz_offset_at(tz, utc(2100, 4, 3, 14, 59, 59), NULL), 39600);
        assert_int_equal(tz_offset_at(tz, utc(2100, 4, 3, 15, 0, 0), NULL), 37800);
        assert_int_equal(tz_offset_at(tz, utc(2100, 10, 2, 15, 29, 59), NULL), 37800);
        assert_int_equal(tz_offset_at(tz, utc(2100, 10, 2, 15, 30, 0), NULL), 39600);
        assert_int_equal(tz_offset_at(tz, utc(2100, 12, 31, 13, 30, 0), NULL), 39600);
        tz_free(tz);
}

static void test_kolkata(void **state)
{
        struct tz *tz = load("Asia/Kolkata");
        const char *ab = NULL;
        dl_day day;
        int minute;

        (void)state;
        assert_string_equal(l2u(tz, 2025, 6, 1, 9, 0), "2025-06-01T03:30:00Z");
        assert_string_equal(l2u(tz, 2025, 12, 1, 9, 0), "2025-12-01T03:30:00Z");
        assert_string_equal(l2u(tz, 2100, 6, 1, 9, 0), "2100-06-01T03:30:00Z");
        assert_int_equal(tz_offset_at(tz, utc(2025, 6, 1, 0, 0, 0), &ab), 19800);
        assert_string_equal(ab, "IST");
        tz_utc_to_local(tz, utc(2025, 6, 1, 20, 0, 0), &day, &minute);
        assert_int_equal(day, D(2025, 6, 2));
        assert_int_equal(minute, 90);
        assert_string_equal(local(tz, utc(2025, 6, 1, 20, 0, 0)), "2025-06-02 01:30 IST");
        tz_free(tz);
}

static void test_utc(void **state)
{
        struct tz *u = tz_utc(), *f;
        const char *ab = NULL;
        char buf[32];
        dl_day day;
        int minute;

        (void)state;
        assert_string_equal(tz_name(u), "UTC");
        assert_int_equal(tz_offset_at(u, 1234567890, &ab), 0);
        assert_string_equal(ab, "UTC");
        assert_string_equal(l2u(u, 2027, 3, 14, 9, 0), "2027-03-14T09:00:00Z");
        assert_string_equal(tz_format_local(u, utc(2027, 3, 14, 9, 0, 0), buf, sizeof(buf)),
                            "2027-03-14 09:00 UTC");
        tz_utc_to_local(u, -1, &day, &minute);
        assert_int_equal(day, -1);
        assert_int_equal(minute, 1439);
        tz_free(u); /* a no-op */
        assert_string_equal(tz_name(tz_utc()), "UTC");
        f = load("UTC");
        assert_int_equal(tz_offset_at(f, utc(2100, 7, 1, 0, 0, 0), &ab), 0);
        assert_string_equal(ab, "UTC");
        assert_string_equal(l2u(f, 2100, 7, 1, 9, 0), "2100-07-01T09:00:00Z");
        tz_free(f);
}

static void test_formatting(void **state)
{
        struct tz *tz = load("Europe/London");
        char buf[32];

        (void)state;
        assert_string_equal(time_format_utc(0, buf, sizeof(buf)), "1970-01-01T00:00:00Z");
        assert_string_equal(time_format_utc(-1, buf, sizeof(buf)), "1969-12-31T23:59:59Z");
        assert_string_equal(time_format_utc(utc(2027, 3, 14, 9, 0, 0), buf, 21),
                            "2027-03-14T09:00:00Z");
        assert_string_equal(time_format_utc(utc(2024, 2, 29, 23, 59, 58), buf, sizeof(buf)),
                            "2024-02-29T23:59:58Z");
        assert_string_equal(tz_format_local(tz, utc(2027, 3, 14, 9, 0, 0), buf, sizeof(buf)),
                            "2027-03-14 09:00 GMT");
        assert_string_equal(tz_format_local(tz, utc(2027, 7, 14, 9, 0, 0), buf, sizeof(buf)),
                            "2027-07-14 10:00 BST");
        assert_string_equal(tz_format_local(tz, utc(2027, 7, 14, 23, 30, 0), buf, sizeof(buf)),
                            "2027-07-15 00:30 BST");
        /* Short buffers truncate as snprintf does; years past 9999 still print. */
        assert_string_equal(time_format_utc(utc(2027, 3, 14, 9, 0, 0), buf, 11), "2027-03-14");
        assert_string_equal(tz_format_local(tz, utc(2027, 7, 14, 9, 0, 0), buf, 17),
                            "2027-07-14 10:00");
        assert_string_equal(time_format_utc(utc(10000, 1, 2, 3, 4, 5), buf, sizeof(buf)),
                            "10000-01-02T03:04:05Z");
        assert_string_equal(time_format_utc(utc(0, 1, 2, 3, 4, 5), buf, sizeof(buf)),
                            "0000-01-02T03:04:05Z");
        assert_string_equal(time_format_utc(utc(-1, 12, 31, 23, 59, 59), buf, sizeof(buf)),
                            "-001-12-31T23:59:59Z");
        tz_free(tz);
}

static void test_parse_instant(void **state)
{
        struct tz *tz = load("Europe/London");
        char buf[32];
        int64_t t = 0;

        (void)state;
        assert_int_equal(time_parse_instant("2026-11-22", tz, &t), 0);
        assert_string_equal(time_format_utc(t, buf, sizeof(buf)), "2026-11-22T00:00:00Z");
        assert_int_equal(time_parse_instant("2026-07-22", tz, &t), 0);
        assert_string_equal(time_format_utc(t, buf, sizeof(buf)), "2026-07-21T23:00:00Z");
        assert_int_equal(time_parse_instant("2026-07-22T09:30", tz, &t), 0);
        assert_string_equal(time_format_utc(t, buf, sizeof(buf)), "2026-07-22T08:30:00Z");
        assert_int_equal(time_parse_instant("2026-11-22T09:30:15", tz, &t), 0);
        assert_string_equal(time_format_utc(t, buf, sizeof(buf)), "2026-11-22T09:30:15Z");
        assert_int_equal(time_parse_instant("2026-07-22T09:30Z", tz, &t), 0);
        assert_string_equal(time_format_utc(t, buf, sizeof(buf)), "2026-07-22T09:30:00Z");
        assert_int_equal(time_parse_instant("2026-07-22T09:30:59Z", tz, &t), 0);
        assert_string_equal(time_format_utc(t, buf, sizeof(buf)), "2026-07-22T09:30:59Z");
        assert_int_equal(time_parse_instant("2026-07-22Z", tz, &t), 0);
        assert_string_equal(time_format_utc(t, buf, sizeof(buf)), "2026-07-22T00:00:00Z");
        assert_int_equal(time_parse_instant("2026-07-22T09:30+01:00", tz, &t), 0);
        assert_string_equal(time_format_utc(t, buf, sizeof(buf)), "2026-07-22T08:30:00Z");
        assert_int_equal(time_parse_instant("2026-07-22T09:30-05:00", tz, &t), 0);
        assert_string_equal(time_format_utc(t, buf, sizeof(buf)), "2026-07-22T14:30:00Z");
        assert_int_equal(time_parse_instant("2026-01-01T00:15:00+05:30", tz, &t), 0);
        assert_string_equal(time_format_utc(t, buf, sizeof(buf)), "2025-12-31T18:45:00Z");
        assert_int_equal(time_parse_instant("2026-11-22-05:00", tz, &t), 0);
        assert_string_equal(time_format_utc(t, buf, sizeof(buf)), "2026-11-22T05:00:00Z");
        /* The gap rule applies to --now too. */
        assert_int_equal(time_parse_instant("2025-03-30T01:30", tz, &t), 0);
        assert_string_equal(time_format_utc(t, buf, sizeof(buf)), "2025-03-30T01:30:00Z");
        /* No zone given: UTC. */
        assert_int_equal(time_parse_instant("2026-07-22T09:30", NULL, &t), 0);
        assert_string_equal(time_format_utc(t, buf, sizeof(buf)), "2026-07-22T09:30:00Z");
        assert_int_equal(time_parse_instant("2026-07-22T09:30", tz_utc(), &t), 0);
        assert_string_equal(time_format_utc(t, buf, sizeof(buf)), "2026-07-22T09:30:00Z");
        tz_free(tz);
}

static void test_parse_instant_rejects(void **state)
{
        static const struct {
                const char *s;
                int r;
        } bad[] = {
            {"", -EINVAL},
            {"2026", -EINVAL},
            {"2026-11", -EINVAL},
            {"2026-11-2", -EINVAL},
            {" 2026-11-22", -EINVAL},
            {"2026-11-22 ", -EINVAL},
            {"2026-11-22 09:30", -EINVAL},
            {"2026-11-22t09:30", -EINVAL},
            {"2026-11-22T9:30", -EINVAL},
            {"2026-11-22T09", -EINVAL},
            {"2026-11-22T09:30:", -EINVAL},
            {"2026-11-22T09:30:5", -EINVAL},
            {"2026-11-22T09:30:00.5", -EINVAL},
            {"2026-11-22T09:30z", -EINVAL},
            {"2026-11-22T09:30ZZ", -EINVAL},
            {"2026-11-22T09:30+01", -EINVAL},
            {"2026-11-22T09:30+0100", -EINVAL},
            {"2026-11-22T09:30+1:00", -EINVAL},
            {"2026-11-22T", -EINVAL},
            {"20261122T0930Z", -EINVAL},
            {"2026-02-30T25:00x", -EINVAL},
            {"2026-02-30", -ERANGE},
            {"2026-13-01T09:00", -ERANGE},
            {"2200-01-01", -ERANGE},
            {"2026-11-22T24:00", -ERANGE},
            {"2026-11-22T09:60", -ERANGE},
            {"2026-11-22T09:30:60", -ERANGE},
            {"2026-11-22T09:30+24:00", -ERANGE},
            {"2026-11-22T09:30+01:60", -ERANGE},
        };
        int64_t t = 42;

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                int r = time_parse_instant(bad[i].s, tz_utc(), &t);
                if (r != bad[i].r)
                        fail_msg("time_parse_instant(\"%s\") = %d, want %d", bad[i].s, r, bad[i].r);
        }
        assert_int_equal(t, 42);
        assert_int_equal(time_parse_instant(NULL, tz_utc(), &t), -EINVAL);
}

/* The straightforward conversion tz_local_to_utc replaced: sample the offset
 * every 6 h across a day either side, keep the candidates that map back to
 * the wall time, take the earliest; in a gap, use the offset from before it.
 * About eleven lookups per call, where the module now needs one to three. */
static int64_t ref_local_to_utc(const struct tz *tz, dl_day day, int minute_of_day)
{
        int64_t local = (int64_t)day * 86400 + (int64_t)minute_of_day * 60;
        int32_t cand[9], omax = INT32_MIN;
        int64_t best = INT64_MAX;
        size_t n = 0;

        for (int k = -4; k <= 4; k++) {
                int32_t o = tz_offset_at(tz, local + k * 6 * 3600, NULL);
                size_t j = 0;
                while (j < n && cand[j] != o)
                        j++;
                if (j == n)
                        cand[n++] = o;
        }
        for (size_t j = 0; j < n; j++) {
                int64_t u = local - cand[j];
                if (tz_offset_at(tz, u, NULL) == cand[j] && u < best)
                        best = u;
                if (cand[j] > omax)
                        omax = cand[j];
        }
        if (best != INT64_MAX)
                return best;
        return local - tz_offset_at(tz, local - omax, NULL);
}

static void check_reference(const struct tz *tz, const char *zone, dl_day d, int minute)
{
        int64_t got = tz_local_to_utc(tz, d, minute);
        int64_t want = ref_local_to_utc(tz, d, minute);

        if (got != want)
                fail_msg("%s day %d minute %d: %lld, want %lld", zone, (int)d, minute,
                         (long long)got, (long long)want);
}

/* 09:00 on every day from 1890 to 2110 (before the table, the table, its end
 * and the footer rule), and every half hour on days near a transition, in
 * zones with gaps, overlaps, skipped days, half-hour and negative DST. */
static void test_local_to_utc_reference(void **state)
{
        static const char *const zones[] = {
            "Europe/London",    "America/New_York",   "Australia/Lord_Howe", "Asia/Kolkata",
            "Pacific/Apia",     "Africa/Casablanca",  "Europe/Dublin",       "Antarctica/Troll",
            "America/St_Johns", "Pacific/Kiritimati", "America/Nuuk",        "UTC",
        };
        size_t near = 0;

        (void)state;
        for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
                struct tz *tz = load(zones[z]);
                for (dl_day d = D(1890, 1, 1); d <= D(2110, 12, 31); d++) {
                        check_reference(tz, zones[z], d, 540);
                        if (tz_offset_at(tz, (int64_t)(d - 1) * 86400, NULL) ==
                            tz_offset_at(tz, (int64_t)(d + 2) * 86400, NULL))
                                continue;
                        near++;
                        for (int minute = 0; minute < 1440; minute += 30)
                                check_reference(tz, zones[z], d, minute);
                }
                tz_free(tz);
        }
        /* The loop did reach the transitions (London alone has 2 a year). */
        assert_true(near > 3 * 2 * 220);
}

/* Samoa skipped 30 December 2011: every wall time that day lands on the
 * 31st at the same clock time, read with the old offset (-10). */
static void test_apia_skipped_day(void **state)
{
        struct tz *tz = load("Pacific/Apia");

        (void)state;
        assert_string_equal(l2u(tz, 2011, 12, 29, 9, 0), "2011-12-29T19:00:00Z");
        assert_string_equal(l2u(tz, 2011, 12, 30, 9, 0), "2011-12-30T19:00:00Z");
        assert_string_equal(local(tz, tz_local_to_utc(tz, D(2011, 12, 30), 540)),
                            "2011-12-31 09:00 +14");
        assert_string_equal(l2u(tz, 2011, 12, 31, 9, 0), "2011-12-30T19:00:00Z");
        tz_free(tz);
}

/* ---- hand-built TZif data ---- */

struct spec {
        char version; /* 0 for v1 only, else '2'/'3'/'4' */
        size_t ntrans;
        const int64_t *trans;
        const uint8_t *idx;
        size_t ntypes;
        const int32_t *utoff;
        const uint8_t *isdst;
        const uint8_t *abbr;
        const char *chars;
        size_t nchars;
        const char *footer;
};

static size_t put32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)(v >> 24);
        p[1] = (uint8_t)(v >> 16);
        p[2] = (uint8_t)(v >> 8);
        p[3] = (uint8_t)v;
        return 4;
}

static size_t put_header(uint8_t *p, char version, uint32_t nt, uint32_t ntypes, uint32_t nchars)
{
        size_t n = 0;

        memcpy(p, "TZif", 4);
        p[4] = (uint8_t)version;
        memset(p + 5, 0, 15);
        n = 20;
        n += put32(p + n, 0); /* isutcnt */
        n += put32(p + n, 0); /* isstdcnt */
        n += put32(p + n, 0); /* leapcnt */
        n += put32(p + n, nt);
        n += put32(p + n, ntypes);
        n += put32(p + n, nchars);
        return n;
}

static size_t put_block(uint8_t *p, const struct spec *s, int tsize)
{
        size_t n = 0;

        for (size_t i = 0; i < s->ntrans; i++) {
                if (tsize == 8)
                        n += put32(p + n, (uint32_t)((uint64_t)s->trans[i] >> 32));
                n += put32(p + n, (uint32_t)s->trans[i]);
        }
        for (size_t i = 0; i < s->ntrans; i++)
                p[n++] = s->idx[i];
        for (size_t i = 0; i < s->ntypes; i++) {
                n += put32(p + n, (uint32_t)s->utoff[i]);
                p[n++] = s->isdst[i];
                p[n++] = s->abbr[i];
        }
        memcpy(p + n, s->chars, s->nchars);
        return n + s->nchars;
}

/* v2+: an empty v1 block (as "slim" files have), then the 64-bit block and footer. */
static size_t build(uint8_t *p, const struct spec *s)
{
        size_t n = 0;

        if (s->version == 0) {
                n +=
                    put_header(p, 0, (uint32_t)s->ntrans, (uint32_t)s->ntypes, (uint32_t)s->nchars);
                return n + put_block(p + n, s, 4);
        }
        n += put_header(p, s->version, 0, 0, 0);
        n += put_header(p + n, s->version, (uint32_t)s->ntrans, (uint32_t)s->ntypes,
                        (uint32_t)s->nchars);
        n += put_block(p + n, s, 8);
        n += (size_t)sprintf((char *)p + n, "\n%s\n", s->footer ? s->footer : "");
        return n;
}

/* A zone with no transitions, only a footer rule. */
static int footer_zone(const char *footer, struct tz **out)
{
        static const int32_t off[] = {0};
        static const uint8_t dst[] = {0}, ab[] = {0};
        struct spec s = {'2', 0, NULL, NULL, 1, off, dst, ab, "XXX", 4, footer};
        uint8_t buf[512];
        size_t n = build(buf, &s);
        uint8_t *exact = malloc(n); /* exact size, so ASan sees any overread */
        int r;

        assert_non_null(exact);
        memcpy(exact, buf, n);
        *out = NULL;
        r = tz_parse(exact, n, "test", out);
        free(exact);
        return r;
}

static void test_footer_rules(void **state)
{
        struct tz *tz;
        const char *ab = NULL;

        (void)state;
        assert_int_equal(footer_zone("EST5EDT,M3.2.0,M11.1.0", &tz), 0);
        assert_int_equal(tz_offset_at(tz, utc(2030, 1, 10, 12, 0, 0), &ab), -5 * 3600);
        assert_string_equal(ab, "EST");
        assert_int_equal(tz_offset_at(tz, utc(2030, 7, 10, 12, 0, 0), &ab), -4 * 3600);
        assert_string_equal(ab, "EDT");
        /* 2030-03-10 is the second Sunday; 02:00 EST = 07:00Z. */
        assert_int_equal(tz_offset_at(tz, utc(2030, 3, 10, 6, 59, 59), NULL), -5 * 3600);
        assert_int_equal(tz_offset_at(tz, utc(2030, 3, 10, 7, 0, 0), NULL), -4 * 3600);
        tz_free(tz);

        /* DST name without a rule: the US default. */
        assert_int_equal(footer_zone("EST5EDT", &tz), 0);
        assert_int_equal(tz_offset_at(tz, utc(2030, 3, 10, 7, 0, 0), NULL), -4 * 3600);
        assert_int_equal(tz_offset_at(tz, utc(2030, 11, 3, 5, 59, 59), NULL), -4 * 3600);
        assert_int_equal(tz_offset_at(tz, utc(2030, 11, 3, 6, 0, 0), NULL), -5 * 3600);
        tz_free(tz);

        assert_int_equal(footer_zone("<+0330>-3:30", &tz), 0);
        assert_int_equal(tz_offset_at(tz, utc(2030, 7, 1, 0, 0, 0), &ab), 12600);
        assert_string_equal(ab, "+0330");
        assert_string_equal(l2u(tz, 2030, 7, 1, 9, 0), "2030-07-01T05:30:00Z");
        tz_free(tz);

        assert_int_equal(footer_zone("UTC0", &tz), 0);
        assert_int_equal(tz_offset_at(tz, utc(2030, 7, 1, 0, 0, 0), &ab), 0);
        assert_string_equal(ab, "UTC");
        tz_free(tz);

        /* Central Europe: last Sunday of March 02:00 CET to last Sunday of October 03:00 CEST. */
        assert_int_equal(footer_zone("CET-1CEST,M3.5.0,M10.5.0/3", &tz), 0);
        assert_int_equal(tz_offset_at(tz, utc(2030, 3, 31, 0, 59, 59), &ab), 3600);
        assert_string_equal(ab, "CET");
        assert_int_equal(tz_offset_at(tz, utc(2030, 3, 31, 1, 0, 0), &ab), 7200);
        assert_string_equal(ab, "CEST");
        assert_int_equal(tz_offset_at(tz, utc(2030, 10, 27, 0, 59, 59), NULL), 7200);
        assert_int_equal(tz_offset_at(tz, utc(2030, 10, 27, 1, 0, 0), NULL), 3600);
        tz_free(tz);
}

static void test_footer_day_forms(void **state)
{
        struct tz *tz;

        (void)state;
        /* Jn never counts 29 February: J60 is 1 March in every year. */
        assert_int_equal(footer_zone("AAA0BBB,J60,J300", &tz), 0);
        assert_int_equal(tz_offset_at(tz, utc(2028, 3, 1, 1, 59, 59), NULL), 0);
        assert_int_equal(tz_offset_at(tz, utc(2028, 3, 1, 2, 0, 0), NULL), 3600);
        assert_int_equal(tz_offset_at(tz, utc(2029, 3, 1, 2, 0, 0), NULL), 3600);
        assert_int_equal(tz_offset_at(tz, utc(2029, 2, 28, 12, 0, 0), NULL), 0);
        /* J300 is 27 October; 02:00 BBB = 01:00Z. */
        assert_int_equal(tz_offset_at(tz, utc(2028, 10, 27, 0, 59, 59), NULL), 3600);
        assert_int_equal(tz_offset_at(tz, utc(2028, 10, 27, 1, 0, 0), NULL), 0);
        tz_free(tz);
        /* Zero-based n counts 29 February: day 59 is 29 Feb in 2028, 1 March in 2029. */
        assert_int_equal(footer_zone("AAA0BBB,59/0,365/0", &tz), 0);
        assert_int_equal(tz_offset_at(tz, utc(2028, 2, 28, 23, 59, 59), NULL), 0);
        assert_int_equal(tz_offset_at(tz, utc(2028, 2, 29, 0, 0, 0), NULL), 3600);
        assert_int_equal(tz_offset_at(tz, utc(2029, 2, 28, 12, 0, 0), NULL), 0);
        assert_int_equal(tz_offset_at(tz, utc(2029, 3, 1, 0, 0, 0), NULL), 3600);
        /* Day 365 of a leap year is 31 December (00:00 BBB = 23:00Z on the 30th). */
        assert_int_equal(tz_offset_at(tz, utc(2028, 12, 30, 22, 59, 59), NULL), 3600);
        assert_int_equal(tz_offset_at(tz, utc(2028, 12, 30, 23, 0, 0), NULL), 0);
        tz_free(tz);
        /* RFC 8536 extension: DST all year ("EST5EDT,0/0,J365/25"). */
        assert_int_equal(footer_zone("EST5EDT,0/0,J365/25", &tz), 0);
        assert_int_equal(tz_offset_at(tz, utc(2030, 1, 1, 3, 0, 0), NULL), -4 * 3600);
        assert_int_equal(tz_offset_at(tz, utc(2030, 1, 1, 6, 0, 0), NULL), -4 * 3600);
        assert_int_equal(tz_offset_at(tz, utc(2030, 7, 1, 0, 0, 0), NULL), -4 * 3600);
        assert_int_equal(tz_offset_at(tz, utc(2030, 12, 31, 23, 0, 0), NULL), -4 * 3600);
        tz_free(tz);
        /* Negative rule times (v3), as in America/Nuuk. */
        assert_int_equal(footer_zone("<-02>2<-01>,M3.5.0/-1,M10.5.0/0", &tz), 0);
        /* 2030-03-31 is the last Sunday; -01:00 local std (-02) = 30 March 23:00 local = 01:00Z. */
        assert_int_equal(tz_offset_at(tz, utc(2030, 3, 31, 0, 59, 59), NULL), -7200);
        assert_int_equal(tz_offset_at(tz, utc(2030, 3, 31, 1, 0, 0), NULL), -3600);
        tz_free(tz);
}

static void test_footer_rejects(void **state)
{
        static const char *const bad[] = {
            "GMT",
            "GMT0BST,M3.5.0/1",
            "GMT0BST,M3.5.0/1,",
            "GMT0BST,M13.5.0,M10.5.0",
            "GMT0BST,M0.5.0,M10.5.0",
            "GMT0BST,M3.6.0,M10.5.0",
            "GMT0BST,M3.0.0,M10.5.0",
            "GMT0BST,M3.5.7,M10.5.0",
            "GMT0BST,J0,J365",
            "GMT0BST,J366,J1",
            "GMT0BST,366,1",
            "GMT0BST,M3.5.0/168,M10.5.0",
            "GM0",
            "G1T0",
            "<+03",
            "<+0>3",
            "<+03>",
            "GMT25",
            "GMT0:60",
            "GMT0 ",
            "GMT0,M3.5.0,M10.5.0",
            "GMT0BST,M3.5.0,M10.5.0x",
            "GMT0BST-1x",
            "ABCDEFGHIJKLMNOPQ0",
            "GMT0BST,M3.5.0;M10.5.0",
        };
        struct tz *tz;

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                int r = footer_zone(bad[i], &tz);
                if (r != -EINVAL)
                        fail_msg("footer \"%s\" gave %d, want -EINVAL", bad[i], r);
                assert_null(tz);
        }
        /* An empty footer is allowed: the last type then holds forever. */
        assert_int_equal(footer_zone("", &tz), 0);
        assert_int_equal(tz_offset_at(tz, utc(2100, 7, 1, 0, 0, 0), NULL), 0);
        tz_free(tz);
}

static const int64_t two_trans[] = {1000000000, 1100000000};
static const uint8_t two_idx[] = {1, 0};
static const int32_t two_off[] = {0, 3600};
static const uint8_t two_dst[] = {0, 1};
static const uint8_t two_ab[] = {0, 4};

static struct spec two_spec(void)
{
        return (struct spec){'2',     2,      two_trans,  two_idx, 2, two_off,
                             two_dst, two_ab, "AAA\0BBB", 8,       ""};
}

static int parse_spec(const struct spec *s, struct tz **out)
{
        uint8_t buf[512];
        size_t n = build(buf, s);
        uint8_t *exact = malloc(n);
        int r;

        assert_non_null(exact);
        memcpy(exact, buf, n);
        *out = NULL;
        r = tz_parse(exact, n, "built", out);
        free(exact);
        return r;
}

static void test_built_tables(void **state)
{
        struct spec s = two_spec();
        struct tz *tz;
        const char *ab = NULL;

        (void)state;
        assert_int_equal(parse_spec(&s, &tz), 0);
        assert_int_equal(tz_offset_at(tz, 999999999, &ab), 0);
        assert_string_equal(ab, "AAA");
        assert_int_equal(tz_offset_at(tz, 1000000000, &ab), 3600);
        assert_string_equal(ab, "BBB");
        assert_int_equal(tz_offset_at(tz, 1100000000, &ab), 0);
        assert_int_equal(tz_offset_at(tz, INT64_MAX, &ab), 0);
        assert_int_equal(tz_offset_at(tz, INT64_MIN, &ab), 0);
        tz_free(tz);
        s.version = 0; /* v1 only: 32-bit times, no footer */
        assert_int_equal(parse_spec(&s, &tz), 0);
        assert_int_equal(tz_offset_at(tz, 1050000000, &ab), 3600);
        assert_string_equal(ab, "BBB");
        tz_free(tz);
        s = two_spec();
        s.version = '3';
        s.footer = "AAA0BBB,M3.5.0,M10.5.0";
        assert_int_equal(parse_spec(&s, &tz), 0);
        assert_int_equal(tz_offset_at(tz, utc(2030, 7, 1, 0, 0, 0), &ab), 3600);
        assert_string_equal(ab, "BBB");
        /* Extreme instants do not overflow. */
        (void)tz_offset_at(tz, INT64_MAX, &ab);
        (void)tz_offset_at(tz, INT64_MIN, &ab);
        tz_free(tz);
}

static void test_built_rejects(void **state)
{
        static const int64_t desc[] = {1100000000, 1000000000};
        static const int64_t same[] = {1000000000, 1000000000};
        static const uint8_t bad_idx[] = {1, 2};
        static const uint8_t bad_ab[] = {0, 8};
        static const uint8_t bad_dst[] = {0, 2};
        static const int32_t bad_off[] = {0, 100000};
        struct spec s;
        struct tz *tz;

        (void)state;
        s = two_spec();
        s.trans = desc;
        assert_int_equal(parse_spec(&s, &tz), -EINVAL);
        s = two_spec();
        s.trans = same;
        assert_int_equal(parse_spec(&s, &tz), -EINVAL);
        s = two_spec();
        s.idx = bad_idx;
        assert_int_equal(parse_spec(&s, &tz), -EINVAL);
        s = two_spec();
        s.abbr = bad_ab;
        assert_int_equal(parse_spec(&s, &tz), -EINVAL);
        s = two_spec();
        s.chars = "AAA\0BBBB"; /* last abbreviation not NUL-terminated */
        assert_int_equal(parse_spec(&s, &tz), -EINVAL);
        s = two_spec();
        s.isdst = bad_dst;
        assert_int_equal(parse_spec(&s, &tz), -EINVAL);
        s = two_spec();
        s.utoff = bad_off;
        assert_int_equal(parse_spec(&s, &tz), -EINVAL);
        s = two_spec();
        s.ntypes = 0;
        s.ntrans = 0;
        assert_int_equal(parse_spec(&s, &tz), -EINVAL);
        s = two_spec();
        s.nchars = 0;
        s.ntypes = 0;
        s.ntrans = 0;
        assert_int_equal(parse_spec(&s, &tz), -EINVAL);
        s = two_spec();
        s.version = '1';
        assert_int_equal(parse_spec(&s, &tz), -EINVAL);
        assert_null(tz);
}

static size_t be32(const uint8_t *p)
{
        return (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
}

/* Corrupt headers on the real London file. */
static void test_hostile_headers(void **state)
{
        size_t len;
        uint8_t *data = slurp(ZONEINFO "Europe/London", &len);
        uint8_t *copy = malloc(len + 1);
        struct tz *tz = (struct tz *)&tz;

        (void)state;
        assert_non_null(copy);
        memcpy(copy, data, len);
        copy[0] = 'X';
        assert_int_equal(tz_parse(copy, len, "x", &tz), -EINVAL);
        assert_ptr_equal(tz, (struct tz *)&tz); /* untouched on error */
        /* Huge counts in either header. The second header follows the v1 block. */
        size_t second = 44 + be32(data + 32) * 5 + be32(data + 36) * 6 + be32(data + 40) +
                        be32(data + 28) * 8 + be32(data + 24) + be32(data + 20);
        assert_true(second + 44 < len);
        assert_memory_equal(data + second, "TZif", 4);
        for (size_t field = 20; field < 44; field += 4) {
                memcpy(copy, data, len);
                memset(copy + field, 0xff, 4);
                assert_int_equal(tz_parse(copy, len, "x", &tz), -EINVAL);
                memcpy(copy, data, len);
                memset(copy + second + field, 0xff, 4);
                assert_int_equal(tz_parse(copy, len, "x", &tz), -EINVAL);
        }
        /* Unknown version in the second header. */
        memcpy(copy, data, len);
        copy[second + 4] = '1';
        assert_int_equal(tz_parse(copy, len, "x", &tz), -EINVAL);
        /* Trailing garbage after the footer. */
        memcpy(copy, data, len);
        copy[len] = 'x';
        assert_int_equal(tz_parse(copy, len + 1, "x", &tz), -EINVAL);
        /* Footer without its final newline. */
        assert_int_equal(tz_parse(data, len - 1, "x", &tz), -EINVAL);
        assert_int_equal(tz_parse(NULL, 10, "x", &tz), -EINVAL);
        assert_int_equal(tz_parse(data, 0, "x", &tz), -EINVAL);
        free(copy);
        free(data);
}

/* Every truncation of the London file is rejected, and none reads out of bounds. */
static void test_truncations(void **state)
{
        size_t len;
        uint8_t *data = slurp(ZONEINFO "Europe/London", &len);

        (void)state;
        for (size_t n = 0; n < len; n++) {
                uint8_t *cut = malloc(n ? n : 1);
                struct tz *tz = NULL;
                assert_non_null(cut);
                memcpy(cut, data, n);
                int r = tz_parse(cut, n, "cut", &tz);
                if (r != -EINVAL)
                        fail_msg("truncation to %zu bytes gave %d", n, r);
                assert_null(tz);
                free(cut);
        }
        free(data);
}

/* Mutate every byte of real files: parsing may succeed or fail, but must not
 * crash, and whatever it accepts must answer queries. */
static void test_mutations(void **state)
{
        static const char *const zones[] = {"Europe/London", "Australia/Lord_Howe", "Asia/Kolkata"};
        static const uint8_t vals[] = {0x00, 0xff, 0x80, 0x7f, 0x01, '\n'};

        (void)state;
        for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
                char path[128];
                size_t len;
                snprintf(path, sizeof(path), ZONEINFO "%s", zones[z]);
                uint8_t *data = slurp(path, &len);
                uint8_t *m = malloc(len);
                assert_non_null(m);
                for (size_t i = 0; i < len; i++) {
                        for (size_t v = 0; v < sizeof(vals); v++) {
                                struct tz *tz = NULL;
                                memcpy(m, data, len);
                                m[i] = vals[v];
                                if (tz_parse(m, len, "m", &tz) < 0)
                                        continue;
                                (void)tz_offset_at(tz, utc(2100, 7, 1, 0, 0, 0), NULL);
                                (void)tz_local_to_utc(tz, D(2025, 3, 30), 90);
                                tz_free(tz);
                        }
                }
                free(m);
                free(data);
        }
}

/* Random bytes behind a valid-looking header. */
static void test_garbage(void **state)
{
        uint32_t seed = 12345;
        static const uint8_t versions[] = {0, '2', '3', '4'};
        uint8_t buf[300];

        (void)state;
        for (int iter = 0; iter < 20000; iter++) {
                size_t n = 44 + (size_t)(iter % 256);
                for (size_t i = 0; i < n; i++) {
                        seed = seed * 1103515245u + 12345u;
                        buf[i] = (uint8_t)(seed >> 16);
                }
                memcpy(buf, "TZif", 4);
                buf[4] = versions[iter % 4];
                /* Small counts, so the body is sometimes consistent. */
                for (size_t f = 20; f < 44; f += 4) {
                        buf[f] = buf[f + 1] = buf[f + 2] = 0;
                        buf[f + 3] &= 7;
                }
                uint8_t *exact = malloc(n);
                struct tz *tz = NULL;
                assert_non_null(exact);
                memcpy(exact, buf, n);
                if (tz_parse(exact, n, "g", &tz) == 0) {
                        (void)tz_offset_at(tz, 0, NULL);
                        tz_free(tz);
                }
                free(exact);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_london),
            cmocka_unit_test(test_london_gap_overlap),
            cmocka_unit_test(test_london_footer),
            cmocka_unit_test(test_new_york),
            cmocka_unit_test(test_lord_howe),
            cmocka_unit_test(test_kolkata),
            cmocka_unit_test(test_utc),
            cmocka_unit_test(test_formatting),
            cmocka_unit_test(test_parse_instant),
            cmocka_unit_test(test_parse_instant_rejects),
            cmocka_unit_test(test_local_to_utc_reference),
            cmocka_unit_test(test_apia_skipped_day),
            cmocka_unit_test(test_footer_rules),
            cmocka_unit_test(test_footer_day_forms),
            cmocka_unit_test(test_footer_rejects),
            cmocka_unit_test(test_built_tables),
            cmocka_unit_test(test_built_rejects),
            cmocka_unit_test(test_hostile_headers),
            cmocka_unit_test(test_truncations),
            cmocka_unit_test(test_mutations),
            cmocka_unit_test(test_garbage),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

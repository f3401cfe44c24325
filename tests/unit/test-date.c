/* test-date.c: civil dates, parsers, durations, clamping arithmetic, labels. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "deadlined/core/date.h"

static dl_day D(int y, int m, int d)
{
        assert_true(date_ymd_valid(y, m, d));
        return date_from_ymd(y, m, d);
}

/* ISO text of a day, in one of a few rotating buffers so two can be compared in one call. */
static const char *iso(dl_day day)
{
        static char bufs[4][32];
        static int i;

        i = (i + 1) % 4;
        return date_format(day, bufs[i], sizeof(bufs[i]));
}

static struct dl_dur dur(const char *s)
{
        struct dl_dur d = {-1, -1};
        assert_int_equal(dur_parse(s, &d), 0);
        return d;
}

static void test_leap_years(void **state)
{
        (void)state;
        assert_int_equal(date_days_in_month(1900, 2), 28);
        assert_int_equal(date_days_in_month(2000, 2), 29);
        assert_int_equal(date_days_in_month(2024, 2), 29);
        assert_int_equal(date_days_in_month(2025, 2), 28);
        assert_int_equal(date_days_in_month(2100, 2), 28);
        assert_int_equal(date_days_in_month(2025, 4), 30);
        assert_int_equal(date_days_in_month(2025, 12), 31);
        assert_int_equal(date_days_in_month(2025, 0), 0);
        assert_int_equal(date_days_in_month(2025, 13), 0);
        assert_false(date_ymd_valid(1900, 2, 29));
        assert_true(date_ymd_valid(2000, 2, 29));
        assert_true(date_ymd_valid(2024, 2, 29));
        assert_false(date_ymd_valid(2025, 2, 29));
        assert_false(date_ymd_valid(2025, 4, 31));
        assert_false(date_ymd_valid(2025, 1, 0));
        assert_false(date_ymd_valid(1899, 12, 31));
        assert_false(date_ymd_valid(2200, 1, 1));
        assert_true(date_ymd_valid(1900, 1, 1));
        assert_true(date_ymd_valid(2199, 12, 31));
}

static void test_known_days(void **state)
{
        (void)state;
        assert_int_equal(D(1970, 1, 1), 0);
        assert_int_equal(D(1969, 12, 31), -1);
        assert_int_equal(D(2000, 1, 1), 10957);
        assert_int_equal(D(1900, 1, 1), -25567);
        assert_int_equal(D(2199, 12, 31), 84005);
        assert_int_equal(D(2027, 3, 14), 20891);
        assert_int_equal(date_weekday(0), 3); /* Thursday */
        assert_int_equal(date_weekday(D(2025, 11, 22)), 5);
        assert_int_equal(date_weekday(D(1900, 1, 1)), 0);
        assert_int_equal(date_weekday(D(2199, 12, 31)), 1);
        assert_int_equal(date_weekday(-1), 2);
        assert_int_equal(date_weekday(-7), 3);
}

/* Every day of the valid range survives ymd and back, and days are consecutive. */
static void test_round_trip_all_days(void **state)
{
        dl_day expect = D(1900, 1, 1);
        long count = 0;
        int wd = date_weekday(expect);

        (void)state;
        for (int y = DATE_YEAR_MIN; y <= DATE_YEAR_MAX; y++) {
                for (int m = 1; m <= 12; m++) {
                        for (int d = 1; d <= date_days_in_month(y, m); d++) {
                                int yy, mm, dd;
                                assert_true(date_ymd_valid(y, m, d));
                                assert_int_equal(date_from_ymd(y, m, d), expect);
                                date_to_ymd(expect, &yy, &mm, &dd);
                                assert_int_equal(yy, y);
                                assert_int_equal(mm, m);
                                assert_int_equal(dd, d);
                                assert_int_equal(date_weekday(expect), wd);
                                wd = (wd + 1) % 7;
                                expect++;
                                count++;
                        }
                }
        }
        assert_int_equal(count, 109573);
        assert_int_equal(expect, D(2199, 12, 31) + 1);
}

static void test_add_clamping(void **state)
{
        (void)state;
        assert_string_equal(iso(date_add(D(2024, 2, 29), dur("3y"))), "2027-02-28");
        assert_string_equal(iso(date_add(D(2024, 2, 29), dur("1y"))), "2025-02-28");
        assert_string_equal(iso(date_add(D(2024, 2, 29), dur("4y"))), "2028-02-29");
        assert_string_equal(iso(date_add(D(2025, 1, 31), dur("1m"))), "2025-02-28");
        assert_string_equal(iso(date_add(D(2024, 1, 31), dur("1m"))), "2024-02-29");
        assert_string_equal(iso(date_add(D(2025, 1, 31), dur("2m"))), "2025-03-31");
        assert_string_equal(iso(date_add(D(2025, 1, 31), dur("3m"))), "2025-04-30");
        assert_string_equal(iso(date_add(D(2025, 12, 31), dur("2m"))), "2026-02-28");
        assert_string_equal(iso(date_add(D(2025, 11, 15), dur("3m"))), "2026-02-15");
        /* Months first, then days: 31 Jan + 1m = 28 Feb, + 1d = 1 Mar. */
        assert_string_equal(iso(date_add(D(2025, 1, 31), dur("1m1d"))), "2025-03-01");
        assert_string_equal(iso(date_add(D(2025, 1, 1), dur("10d"))), "2025-01-11");
        assert_string_equal(iso(date_add(D(2025, 12, 25), dur("2w"))), "2026-01-08");
        assert_string_equal(iso(date_add(D(2024, 2, 29), dur("1y6m"))), "2025-08-29");
        assert_string_equal(iso(date_add(D(2025, 6, 1), dur("0"))), "2025-06-01");
        assert_int_equal(date_add(DATE_NONE, dur("1y")), DATE_NONE);
}

static void test_sub_clamping(void **state)
{
        (void)state;
        assert_string_equal(iso(date_sub(D(2027, 8, 31), dur("6m"))), "2027-02-28");
        assert_string_equal(iso(date_sub(D(2025, 3, 31), dur("1m"))), "2025-02-28");
        assert_string_equal(iso(date_sub(D(2024, 3, 31), dur("1m"))), "2024-02-29");
        assert_string_equal(iso(date_sub(D(2025, 5, 31), dur("1m"))), "2025-04-30");
        assert_string_equal(iso(date_sub(D(2025, 1, 15), dur("1m"))), "2024-12-15");
        assert_string_equal(iso(date_sub(D(2028, 2, 29), dur("1y"))), "2027-02-28");
        assert_string_equal(iso(date_sub(D(2025, 3, 1), dur("1d"))), "2025-02-28");
        assert_string_equal(iso(date_sub(D(2027, 3, 31), dur("1m1d"))), "2027-02-27");
        assert_string_equal(iso(date_sub(D(2026, 1, 7), dur("2w"))), "2025-12-24");
        assert_int_equal(date_sub(DATE_NONE, dur("1y")), DATE_NONE);
}

static void test_add_n_no_drift(void **state)
{
        struct dl_dur m1 = dur("1m"), y1 = dur("1y");
        dl_day base = D(2025, 1, 31);

        (void)state;
        assert_string_equal(iso(date_add_n(base, m1, 0)), "2025-01-31");
        assert_string_equal(iso(date_add_n(base, m1, 1)), "2025-02-28");
        assert_string_equal(iso(date_add_n(base, m1, 2)), "2025-03-31");
        assert_string_equal(iso(date_add_n(base, m1, 3)), "2025-04-30");
        assert_string_equal(iso(date_add_n(base, m1, 4)), "2025-05-31");
        assert_string_equal(iso(date_add_n(base, m1, 13)), "2026-02-28");
        assert_string_equal(iso(date_add_n(base, m1, 37)), "2028-02-29");
        assert_string_equal(iso(date_add_n(base, m1, -1)), "2024-12-31");
        assert_string_equal(iso(date_add_n(base, m1, -11)), "2024-02-29");
        /* Repeated single steps do drift; that is why add_n exists. */
        assert_string_equal(iso(date_add(date_add(base, m1), m1)), "2025-03-28");
        assert_string_equal(iso(date_add_n(D(2024, 2, 29), y1, 1)), "2025-02-28");
        assert_string_equal(iso(date_add_n(D(2024, 2, 29), y1, 4)), "2028-02-29");
        assert_string_equal(iso(date_add_n(D(2025, 1, 1), dur("2w"), 3)), "2025-02-12");
        assert_string_equal(iso(date_add_n(D(2025, 1, 31), dur("1m1d"), 2)), "2025-04-02");
        assert_int_equal(date_add_n(DATE_NONE, m1, 2), DATE_NONE);
        /* Huge multipliers saturate instead of overflowing. */
        assert_int_equal(date_add_n(base, dur("200y"), INT32_MAX), INT32_MAX);
        assert_int_equal(date_add_n(base, dur("200y"), INT32_MIN), INT32_MIN + 1);
}

static void test_parse_day(void **state)
{
        static const struct {
                const char *s;
                int r;
        } bad[] = {
            {"2025-02-30", -ERANGE},
            {"2025-13-01", -ERANGE},
            {"2025-00-10", -ERANGE},
            {"2025-01-00", -ERANGE},
            {"2025-04-31", -ERANGE},
            {"1900-02-29", -ERANGE},
            {"1899-12-31", -ERANGE},
            {"2200-01-01", -ERANGE},
            {" 2025-01-01", -EINVAL},
            {"2025-01-01 ", -EINVAL},
            {"2025-01-01x", -EINVAL},
            {"20250101", -EINVAL},
            {"", -EINVAL},
            {"2025-2-3", -EINVAL},
            {"2025-02-3", -EINVAL},
            {"+025-01-01", -EINVAL},
            {"2025/01/01", -EINVAL},
            {"2025-01-0a", -EINVAL},
            {"2025-01", -EINVAL},
            {"2025-01-01T00:00", -EINVAL},
            {"２025-01-01", -EINVAL},
        };
        dl_day day = 12345;

        (void)state;
        assert_int_equal(date_parse_day("2025-02-28", &day), 0);
        assert_string_equal(iso(day), "2025-02-28");
        assert_int_equal(date_parse_day("2024-02-29", &day), 0);
        assert_int_equal(day, D(2024, 2, 29));
        assert_int_equal(date_parse_day("1900-01-01", &day), 0);
        assert_int_equal(day, -25567);
        assert_int_equal(date_parse_day("2199-12-31", &day), 0);
        assert_int_equal(day, 84005);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                day = 777;
                int r = date_parse_day(bad[i].s, &day);
                if (r != bad[i].r)
                        fail_msg("date_parse_day(\"%s\") = %d, want %d", bad[i].s, r, bad[i].r);
                assert_int_equal(day, 777); /* untouched on error */
        }
        assert_int_equal(date_parse_day(NULL, &day), -EINVAL);
}

static void test_parse_prec(void **state)
{
        struct dl_date d;

        (void)state;
        assert_int_equal(date_parse("2027", &d), 0);
        assert_int_equal(d.prec, PREC_YEAR);
        assert_string_equal(iso(d.day), "2027-12-31");
        assert_int_equal(d.minute, -1);
        assert_int_equal(date_parse("2027-03", &d), 0);
        assert_int_equal(d.prec, PREC_MONTH);
        assert_string_equal(iso(d.day), "2027-03-31");
        assert_int_equal(d.minute, -1);
        assert_int_equal(date_parse("2024-02", &d), 0);
        assert_string_equal(iso(d.day), "2024-02-29");
        assert_int_equal(date_parse("2025-02", &d), 0);
        assert_string_equal(iso(d.day), "2025-02-28");
        assert_int_equal(date_parse("2027-03-14", &d), 0);
        assert_int_equal(d.prec, PREC_DAY);
        assert_string_equal(iso(d.day), "2027-03-14");
        assert_int_equal(d.minute, -1);
        assert_int_equal(date_parse("2027-03-14T12:00", &d), 0);
        assert_int_equal(d.prec, PREC_DAY);
        assert_string_equal(iso(d.day), "2027-03-14");
        assert_int_equal(d.minute, 720);
        assert_int_equal(date_parse("2027-03-14T00:00", &d), 0);
        assert_int_equal(d.minute, 0);
        assert_int_equal(date_parse("2027-03-14T23:59", &d), 0);
        assert_int_equal(d.minute, 1439);
}

static void test_parse_prec_rejects(void **state)
{
        static const struct {
                const char *s;
                int r;
        } bad[] = {
            {"2025-02-30", -ERANGE},
            {"2025-13", -ERANGE},
            {"2025-00", -ERANGE},
            {"1899", -ERANGE},
            {"2200", -ERANGE},
            {"1899-12", -ERANGE},
            {"2027-03-14T24:00", -ERANGE},
            {"2027-03-14T12:60", -ERANGE},
            {"2025-02-30T12:00", -ERANGE},
            {"2027-3", -EINVAL},
            {"27", -EINVAL},
            {"202", -EINVAL},
            {"20270", -EINVAL},
            {"+2027", -EINVAL},
            {"-027", -EINVAL},
            {"2027-03-14t12:00", -EINVAL},
            {"2027-03-14 12:00", -EINVAL},
            {"2027-03-14T12:00Z", -EINVAL},
            {"2027-03-14T12:0", -EINVAL},
            {"2027-03-14T1200", -EINVAL},
            {"2027-03-14T", -EINVAL},
            {"2027-", -EINVAL},
            {"", -EINVAL},
            {" 2027", -EINVAL},
            {"2027 ", -EINVAL},
            {"2027-03-14T12:00:00", -EINVAL},
        };
        struct dl_date d;

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                int r = date_parse(bad[i].s, &d);
                if (r != bad[i].r)
                        fail_msg("date_parse(\"%s\") = %d, want %d", bad[i].s, r, bad[i].r);
        }
        assert_int_equal(date_parse(NULL, &d), -EINVAL);
}

static void test_time_hm(void **state)
{
        int m = -5;

        (void)state;
        assert_int_equal(time_parse_hm("09:00", &m), 0);
        assert_int_equal(m, 540);
        assert_int_equal(time_parse_hm("00:00", &m), 0);
        assert_int_equal(m, 0);
        assert_int_equal(time_parse_hm("23:59", &m), 0);
        assert_int_equal(m, 1439);
        assert_int_equal(time_parse_hm("24:00", &m), -ERANGE);
        assert_int_equal(time_parse_hm("12:60", &m), -ERANGE);
        assert_int_equal(time_parse_hm("9:00", &m), -EINVAL);
        assert_int_equal(time_parse_hm("09:00:00", &m), -EINVAL);
        assert_int_equal(time_parse_hm("0900", &m), -EINVAL);
        assert_int_equal(time_parse_hm(" 9:00", &m), -EINVAL);
        assert_int_equal(time_parse_hm("", &m), -EINVAL);
        assert_int_equal(time_parse_hm(NULL, &m), -EINVAL);
        assert_int_equal(m, 1439);
}

static void test_dur_parse(void **state)
{
        static const struct {
                const char *s;
                int months, days;
        } good[] = {
            {"3y", 36, 0},        {"18m", 18, 0},         {"2w", 0, 14},        {"10d", 0, 10},
            {"1y6m", 18, 0},      {"1y2m3w4d", 14, 25},   {"0", 0, 0},          {"1d", 0, 1},
            {"1y1d", 12, 1},      {"6m2w", 6, 14},        {"200y", 2400, 0},    {"2400m", 2400, 0},
            {"73200d", 0, 73200}, {"10457w1d", 0, 73200}, {"199y12m", 2400, 0},
        };
        struct dl_dur d;

        (void)state;
        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
                d = (struct dl_dur){-1, -1};
                int r = dur_parse(good[i].s, &d);
                if (r != 0 || d.months != good[i].months || d.days != good[i].days)
                        fail_msg("dur_parse(\"%s\") = %d {%d, %d}, want {%d, %d}", good[i].s, r,
                                 d.months, d.days, good[i].months, good[i].days);
        }
        assert_true(dur_is_zero(dur("0")));
        assert_false(dur_is_zero(dur("1d")));
        assert_false(dur_is_zero(dur("1m")));
}

static void test_dur_rejects(void **state)
{
        static const struct {
                const char *s;
                int r;
        } bad[] = {
            {"", -EINVAL},
            {"3 years", -EINVAL},
            {"3Y", -EINVAL},
            {"3D", -EINVAL},
            {"m3", -EINVAL},
            {"1m1y", -EINVAL},
            {"1y1y", -EINVAL},
            {"1d1w", -EINVAL},
            {"+3y", -EINVAL},
            {"-3y", -EINVAL},
            {"3", -EINVAL},
            {"y", -EINVAL},
            {"3y ", -EINVAL},
            {" 3y", -EINVAL},
            {"3y6", -EINVAL},
            {"0d", -EINVAL},
            {"03y", -EINVAL},
            {"00", -EINVAL},
            {"1h", -EINVAL},
            {"1.5y", -EINVAL},
            {"3y,6m", -EINVAL},
            {"3 y", -EINVAL},
            {"201y", -ERANGE},
            {"2401m", -ERANGE},
            {"73201d", -ERANGE},
            {"200y1m", -ERANGE},
            {"10458w", -ERANGE},
            {"99999999999999999999y", -ERANGE},
            {"99999999999999999999x", -EINVAL},
            {"4294967296d", -ERANGE},
        };
        struct dl_dur d = {7, 7};

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                int r = dur_parse(bad[i].s, &d);
                if (r != bad[i].r)
                        fail_msg("dur_parse(\"%s\") = %d, want %d", bad[i].s, r, bad[i].r);
        }
        assert_int_equal(d.months, 7);
        assert_int_equal(d.days, 7);
        assert_int_equal(dur_parse(NULL, &d), -EINVAL);
}

static void test_dur_format(void **state)
{
        static const struct {
                int months, days;
                const char *s;
        } cases[] = {
            {0, 0, "0"},        {36, 0, "3y"},   {18, 0, "1y6m"},     {6, 0, "6m"},
            {0, 14, "2w"},      {0, 10, "10d"},  {0, 7, "1w"},        {0, 1, "1d"},
            {18, 14, "1y6m2w"}, {12, 3, "1y3d"}, {14, 25, "1y2m25d"}, {2400, 73200, "200y73200d"},
        };
        char buf[32];

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct dl_dur d = {cases[i].months, cases[i].days};
                assert_string_equal(dur_format(d, buf, sizeof(buf)), cases[i].s);
        }
        /* Truncation stays NUL-terminated. */
        char small[3];
        assert_string_equal(dur_format((struct dl_dur){18, 14}, small, sizeof(small)), "1y");
}

/* format -> parse gives back the same duration, across the whole range. */
static void test_dur_round_trip(void **state)
{
        char buf[32];

        (void)state;
        for (int m = 0; m <= 12 * 200; m += 1) {
                for (int d = 0; d <= 366 * 200; d += (d < 400 ? 1 : 997)) {
                        struct dl_dur in = {m, d}, out = {-1, -1};
                        dur_format(in, buf, sizeof(buf));
                        if (dur_parse(buf, &out) != 0 || out.months != m || out.days != d)
                                fail_msg("round trip {%d, %d} -> \"%s\" -> {%d, %d}", m, d, buf,
                                         out.months, out.days);
                }
        }
}

static void test_labels(void **state)
{
        char buf[64];
        struct dl_date d;

        (void)state;
        assert_int_equal(date_parse("2027-03-14", &d), 0);
        assert_string_equal(date_label(d, buf, sizeof(buf)), "14 March 2027");
        assert_string_equal(date_format_prec(d, buf, sizeof(buf)), "2027-03-14");
        assert_int_equal(date_parse("2027-03-04", &d), 0);
        assert_string_equal(date_label(d, buf, sizeof(buf)), "4 March 2027");
        assert_int_equal(date_parse("2019-03", &d), 0);
        assert_string_equal(date_label(d, buf, sizeof(buf)), "by end of March 2019");
        assert_string_equal(date_format_prec(d, buf, sizeof(buf)), "2019-03");
        assert_int_equal(date_parse("2027", &d), 0);
        assert_string_equal(date_label(d, buf, sizeof(buf)), "in 2027");
        assert_string_equal(date_format_prec(d, buf, sizeof(buf)), "2027");
        assert_int_equal(date_parse("2027-03-14T12:00", &d), 0);
        assert_string_equal(date_label(d, buf, sizeof(buf)), "14 March 2027 at 12:00");
        assert_string_equal(date_format_prec(d, buf, sizeof(buf)), "2027-03-14T12:00");
        assert_int_equal(date_parse("2025-12-01T09:05", &d), 0);
        assert_string_equal(date_label(d, buf, sizeof(buf)), "1 December 2025 at 09:05");
        assert_string_equal(date_format_prec(d, buf, sizeof(buf)), "2025-12-01T09:05");
        assert_int_equal(date_parse("1900-01", &d), 0);
        assert_string_equal(date_label(d, buf, sizeof(buf)), "by end of January 1900");
        d = (struct dl_date){D(2024, 2, 29), PREC_DAY, -1};
        assert_string_equal(date_label(d, buf, sizeof(buf)), "29 February 2024");
        static const char *const months[] = {"January",   "February", "March",    "April",
                                             "May",       "June",     "July",     "August",
                                             "September", "October",  "November", "December"};
        for (int m = 1; m <= 12; m++) {
                char want[64];
                d = (struct dl_date){D(2030, m, 1), PREC_MONTH, -1};
                snprintf(want, sizeof(want), "by end of %s 2030", months[m - 1]);
                assert_string_equal(date_label(d, buf, sizeof(buf)), want);
        }
}

static void test_format(void **state)
{
        char buf[11];

        (void)state;
        assert_string_equal(date_format(0, buf, sizeof(buf)), "1970-01-01");
        assert_string_equal(date_format(D(1900, 1, 1), buf, sizeof(buf)), "1900-01-01");
        assert_string_equal(date_format(D(2199, 12, 31), buf, sizeof(buf)), "2199-12-31");
        assert_string_equal(date_format(D(2024, 2, 29), buf, sizeof(buf)), "2024-02-29");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_leap_years),
            cmocka_unit_test(test_known_days),
            cmocka_unit_test(test_round_trip_all_days),
            cmocka_unit_test(test_add_clamping),
            cmocka_unit_test(test_sub_clamping),
            cmocka_unit_test(test_add_n_no_drift),
            cmocka_unit_test(test_parse_day),
            cmocka_unit_test(test_parse_prec),
            cmocka_unit_test(test_parse_prec_rejects),
            cmocka_unit_test(test_time_hm),
            cmocka_unit_test(test_dur_parse),
            cmocka_unit_test(test_dur_rejects),
            cmocka_unit_test(test_dur_format),
            cmocka_unit_test(test_dur_round_trip),
            cmocka_unit_test(test_labels),
            cmocka_unit_test(test_format),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

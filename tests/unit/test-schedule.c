/* test-schedule.c: reminder instants in Europe/London, overdue repeats,
 * windows, keys and recipients. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "deadlined/core/schedule.h"
#include "testmodel.h"

static struct tz *london;

static int setup(void **state)
{
        london = tm_load_tz("Europe/London");
        return 0;
}

static int teardown(void **state)
{
        tz_free(london);
        return 0;
}

static dl_day day(const char *s)
{
        return tm_day(s);
}

static int64_t utc(const char *d, int h, int mi)
{
        return (int64_t)day(d) * 86400 + h * 3600 + mi * 60;
}

struct coll {
        struct reminder r[600];
        size_t n;
};

static int collect(const struct deadline *d, const struct reminder *r, void *userdata)
{
        struct coll *c = userdata;

        if (c->n < ELEMENTSOF(c->r))
                c->r[c->n++] = *r;
        return 0;
}

/* A model in Europe/London with one open commitment. */
static struct model *commitment_model(const char *due, const char *leads, const char *every)
{
        struct model *m = tm_new();
        struct commitment *c;

        tm_set_tz(m, london, "Europe/London");
        c = tm_commitment(m, "ect", "ECT review", due, CST_OPEN);
        tm_remind(&c->remind, leads, every);
        return m;
}

static struct deadline derive_first(const struct model *m, const char *today)
{
        struct deadlines ds = {0};
        struct deadline d;

        assert_int_equal(deadline_derive(m, day(today), &ds, NULL), 0);
        assert_true(ds.n >= 1);
        d = ds.v[0];
        deadlines_free(&ds);
        return d;
}

static size_t all_reminders(const struct model *m, const struct deadline *d, struct coll *c)
{
        c->n = 0;
        assert_int_equal(schedule_between(m, d, INT64_MIN, INT64_MAX, collect, c), 0);
        return c->n;
}

/* One lead of 1w before due, at send_at in London. */
static struct reminder one_lead(const char *due, int send_at)
{
        struct model *m = commitment_model(due, "1w", "0");
        struct deadline d;
        struct coll c;

        m->set.send_at = send_at;
        d = derive_first(m, "2024-01-01");
        assert_int_equal(all_reminders(m, &d, &c), 2); /* the lead and one overdue notice */
        assert_int_equal(c.r[0].lead, 0);
        assert_int_equal(c.r[0].repeat, -1);
        assert_int_equal(c.r[1].lead, -1);
        assert_int_equal(c.r[1].repeat, 0);
        assert_int_equal(c.r[1].day, d.due.day + 1);
        tm_free(m);
        return c.r[0];
}

static void test_london_offsets(void **state)
{
        struct reminder r;

        r = one_lead("2025-01-20", 9 * 60);
        assert_int_equal(r.day, day("2025-01-13"));
        assert_int_equal(r.at, utc("2025-01-13", 9, 0));

        r = one_lead("2025-07-20", 9 * 60);
        assert_int_equal(r.day, day("2025-07-13"));
        assert_int_equal(r.at, utc("2025-07-13", 8, 0));

        /* Lead landing on the spring-forward and the autumn day. */
        r = one_lead("2025-04-06", 9 * 60);
        assert_int_equal(r.day, day("2025-03-30"));
        assert_int_equal(r.at, utc("2025-03-30", 8, 0));
        r = one_lead("2025-11-02", 9 * 60);
        assert_int_equal(r.day, day("2025-10-26"));
        assert_int_equal(r.at, utc("2025-10-26", 9, 0));

        /* 01:30 does not exist on 2025-03-30: it moves forward to 02:30 BST. */
        r = one_lead("2025-04-06", 90);
        assert_int_equal(r.day, day("2025-03-30"));
        assert_int_equal(r.at, utc("2025-03-30", 1, 30));
}

static void test_lead_from_month_end(void **state)
{
        struct model *m = commitment_model("2027-08-31", "6m 1m", "0");
        struct deadline d = derive_first(m, "2025-01-01");
        struct coll c;

        assert_int_equal(all_reminders(m, &d, &c), 3);
        assert_int_equal(c.r[0].lead, 0);
        assert_int_equal(c.r[0].day, day("2027-02-28"));
        assert_int_equal(c.r[0].at, utc("2027-02-28", 9, 0));
        assert_int_equal(c.r[1].lead, 1);
        assert_int_equal(c.r[1].day, day("2027-07-31"));
        assert_int_equal(c.r[1].at, utc("2027-07-31", 8, 0));
        assert_int_equal(c.r[2].day, day("2027-09-01"));
        tm_free(m);
}

static void test_lead_order(void **state)
{
        struct model *m = commitment_model("2025-03-01", "1m 4w", "0");
        struct deadline d = derive_first(m, "2024-01-01");
        struct coll c;

        /* Same day: both kept, in lead order. */
        assert_int_equal(all_reminders(m, &d, &c), 3);
        assert_int_equal(c.r[0].lead, 0);
        assert_int_equal(c.r[1].lead, 1);
        assert_int_equal(c.r[0].day, day("2025-02-01"));
        assert_int_equal(c.r[1].day, day("2025-02-01"));
        assert_int_equal(c.r[0].at, c.r[1].at);
        tm_free(m);

        /* Mixed units: 30d before 2025-03-15 is earlier than 1m before it. */
        m = commitment_model("2025-03-15", "1m 30d", "0");
        d = derive_first(m, "2024-01-01");
        assert_int_equal(all_reminders(m, &d, &c), 3);
        assert_int_equal(c.r[0].lead, 1);
        assert_int_equal(c.r[0].day, day("2025-02-13"));
        assert_int_equal(c.r[1].lead, 0);
        assert_int_equal(c.r[1].day, day("2025-02-15"));
        tm_free(m);
}

/* Rule "r" for person "p": due 2025-01-10, leads 2w 1d, weekly overdue notices. */
static struct model *weekly_model(void)
{
        struct model *m = tm_new();
        struct rule *r;
        uint32_t p;

        tm_set_tz(m, london, "Europe/London");
        r = tm_rule(m, "r", "Rule", NULL, "appointed", "1w");
        tm_remind(&r->remind, "2w 1d", "1w");
        p = tm_person(m, "p", "P", NULL, NULL, NULL, IDX_NONE);
        tm_set_date(m, p, "appointed", "2025-01-03");
        return m;
}

static void test_overdue_weekly(void **state)
{
        struct model *m = weekly_model();
        struct deadline d = derive_first(m, "2025-01-20");
        struct coll c;

        assert_int_equal(d.status, ST_OVERDUE);
        assert_int_equal(d.due.day, day("2025-01-10"));
        assert_int_equal(all_reminders(m, &d, &c), 2 + OVERDUE_MAX);
        assert_int_equal(c.r[0].day, day("2024-12-27"));
        assert_int_equal(c.r[1].day, day("2025-01-09"));
        assert_int_equal(c.r[2].day, day("2025-01-11"));
        assert_int_equal(c.r[3].day, day("2025-01-18"));
        assert_int_equal(c.r[4].day, day("2025-01-25"));
        assert_int_equal(c.r[5].day, day("2025-02-01"));
        for (int n = 0; n < 4; n++) {
                assert_int_equal(c.r[2 + n].lead, -1);
                assert_int_equal(c.r[2 + n].repeat, n);
                assert_int_equal(c.r[2 + n].at, (int64_t)c.r[2 + n].day * 86400 + 9 * 3600);
        }
        assert_int_equal(c.r[2 + OVERDUE_MAX - 1].repeat, OVERDUE_MAX - 1);
        assert_int_equal(c.r[2 + OVERDUE_MAX - 1].day, day("2025-01-11") + 7 * (OVERDUE_MAX - 1));
        for (size_t i = 1; i < c.n; i++)
                assert_true(c.r[i].at > c.r[i - 1].at);
        tm_free(m);
}

static void test_overdue_monthly_no_drift(void **state)
{
        struct model *m = commitment_model("2024-01-30", "", "1m");
        struct deadline d = derive_first(m, "2024-06-01");
        struct coll c;

        assert_int_equal(d.status, ST_OVERDUE);
        assert_int_equal(all_reminders(m, &d, &c), OVERDUE_MAX);
        assert_int_equal(c.r[0].day, day("2024-01-31"));
        assert_int_equal(c.r[1].day, day("2024-02-29"));
        assert_int_equal(c.r[2].day, day("2024-03-31"));
        assert_int_equal(c.r[3].day, day("2024-04-30"));
        assert_int_equal(c.r[12].day, day("2025-01-31"));
        assert_int_equal(c.r[13].day, day("2025-02-28"));
        assert_int_equal(c.r[14].day, day("2025-03-31"));
        assert_int_equal(c.r[14].at, utc("2025-03-31", 8, 0));
        tm_free(m);
}

static void test_overdue_once(void **state)
{
        struct model *m = commitment_model("2024-05-01", "1m", "0");
        struct deadline d = derive_first(m, "2025-01-01");
        struct reminder r;
        struct coll c;

        assert_int_equal(d.status, ST_OVERDUE);
        assert_int_equal(all_reminders(m, &d, &c), 2);
        assert_int_equal(c.r[0].day, day("2024-04-01"));
        assert_int_equal(c.r[1].day, day("2024-05-02"));
        assert_int_equal(c.r[1].repeat, 0);
        assert_int_equal(schedule_next(m, &d, c.r[1].at + 1, &r), -ENOENT);
        assert_int_equal(schedule_next(m, &d, c.r[1].at, &r), 0);
        assert_int_equal(r.repeat, 0);
        tm_free(m);
}

static size_t window(const struct model *m, const struct deadline *d, int64_t from, int64_t to,
                     struct coll *c)
{
        c->n = 0;
        assert_int_equal(schedule_between(m, d, from, to, collect, c), 0);
        return c->n;
}

static void test_between_boundaries(void **state)
{
        struct model *m = weekly_model();
        struct deadline d = derive_first(m, "2025-01-20");
        int64_t r1 = utc("2025-01-18", 9, 0), r3 = utc("2025-02-01", 9, 0);
        dl_day base = day("2025-01-11");
        struct coll c;
        int32_t n;

        assert_int_equal(window(m, &d, r1, r3, &c), 2);
        assert_int_equal(c.r[0].repeat, 1);
        assert_int_equal(c.r[1].repeat, 2);
        assert_int_equal(window(m, &d, r1 + 1, r3 + 1, &c), 2);
        assert_int_equal(c.r[0].repeat, 2);
        assert_int_equal(c.r[1].repeat, 3);
        assert_int_equal(window(m, &d, r1, r1 + 1, &c), 1);
        assert_int_equal(window(m, &d, r1, r1, &c), 0);
        assert_int_equal(window(m, &d, r1 - 1, r1, &c), 0);
        assert_int_equal(window(m, &d, utc("2025-01-18", 0, 0), utc("2025-01-19", 0, 0), &c), 1);
        assert_int_equal(c.r[0].repeat, 1);

        /* Far from the start: the repeat number is found without walking. */
        assert_int_equal(window(m, &d, utc("2030-01-01", 0, 0), utc("2030-01-08", 0, 0), &c), 1);
        n = (day("2030-01-01") - base + 6) / 7;
        assert_int_equal(c.r[0].repeat, n);
        assert_int_equal(c.r[0].day, base + 7 * n);
        assert_int_equal(c.r[0].at, utc("2030-01-01", 9, 0) +
                                        (int64_t)(c.r[0].day - day("2030-01-01")) * 86400);
        tm_free(m);

        m = commitment_model("2024-01-30", "", "1m");
        d = derive_first(m, "2024-06-01");
        assert_int_equal(window(m, &d, utc("2026-02-01", 0, 0), utc("2026-03-01", 0, 0), &c), 1);
        assert_int_equal(c.r[0].repeat, 25);
        assert_int_equal(c.r[0].day, day("2026-02-28"));
        /* Past the last repeat: nothing. */
        assert_int_equal(window(m, &d, utc("2070-01-01", 0, 0), utc("2071-01-01", 0, 0), &c), 0);
        tm_free(m);
}

/* Every window must give exactly the reminders of the full list that fall in
 * it: checks the cheap pre-filters against plain conversion, across DST
 * changes, zones far from UTC and Samoa's skipped day (2011-12-30). */
static void check_windows(const char *zone, const char *due, int send_at)
{
        static const int64_t spans[][2] = {
            {0, 1},        {1, 86400},      {-86400, 0},      {-43200, 43200},
            {-3600, 3601}, {-8 * 86400, 1}, {-40 * 86400, 1}, {-86400, 86400 * 3},
        };
        struct tz *tz = tm_load_tz(zone);
        struct model *m = commitment_model(due, "1m 1w 1d", "1d");
        struct deadline d;
        struct coll all, c;

        tm_set_tz(m, tz, zone);
        m->set.send_at = send_at;
        d = derive_first(m, "2000-01-01");
        assert_int_equal(all_reminders(m, &d, &all), 3 + OVERDUE_MAX);
        for (size_t i = 0; i < all.n; i += 3) {
                for (size_t k = 0; k < ELEMENTSOF(spans); k++) {
                        int64_t from = all.r[i].at + spans[k][0], to = all.r[i].at + spans[k][1];
                        size_t want = 0, first = 0;

                        for (size_t j = all.n; j-- > 0;)
                                if (all.r[j].at >= from && all.r[j].at < to)
                                        want++, first = j;
                        assert_int_equal(window(m, &d, from, to, &c), want);
                        if (want)
                                assert_memory_equal(&c.r[0], &all.r[first], sizeof(c.r[0]));
                }
        }
        tm_free(m);
        tz_free(tz);
}

static void test_windows_match_full_list(void **state)
{
        check_windows("Europe/London", "2025-03-01", 9 * 60);
        check_windows("Europe/London", "2025-03-01", 90);
        check_windows("Europe/London", "2025-10-01", 60 + 15);
        check_windows("America/Los_Angeles", "2025-03-01", 23 * 60 + 30);
        check_windows("Pacific/Auckland", "2025-03-01", 30);
        check_windows("Pacific/Apia", "2011-12-20", 9 * 60);
}

static int stop_at_first(const struct deadline *d, const struct reminder *r, void *userdata)
{
        (*(int *)userdata)++;
        return 7;
}

static void test_between_stops_early(void **state)
{
        struct model *m = weekly_model();
        struct deadline d = derive_first(m, "2025-01-20");
        int calls = 0;

        assert_int_equal(schedule_between(m, &d, INT64_MIN, INT64_MAX, stop_at_first, &calls), 7);
        assert_int_equal(calls, 1);
        tm_free(m);
}

static void test_next(void **state)
{
        struct model *m = weekly_model();
        struct deadline d = derive_first(m, "2025-01-20");
        int64_t lead1 = utc("2025-01-09", 9, 0);
        struct reminder r;

        assert_int_equal(schedule_next(m, &d, INT64_MIN, &r), 0);
        assert_int_equal(r.lead, 0);
        assert_int_equal(r.day, day("2024-12-27"));
        assert_int_equal(schedule_next(m, &d, lead1, &r), 0);
        assert_int_equal(r.lead, 1);
        assert_int_equal(r.at, lead1);
        /* After the last lead: the first overdue notice. */
        assert_int_equal(schedule_next(m, &d, lead1 + 1, &r), 0);
        assert_int_equal(r.lead, -1);
        assert_int_equal(r.repeat, 0);
        assert_int_equal(r.day, day("2025-01-11"));
        assert_int_equal(r.at, utc("2025-01-11", 9, 0));
        /* Mid-way through the repeats. */
        assert_int_equal(schedule_next(m, &d, utc("2025-06-01", 0, 0), &r), 0);
        assert_int_equal(r.day, day("2025-06-07"));
        assert_int_equal(r.repeat, 21);
        assert_int_equal(r.at, utc("2025-06-07", 8, 0));
        /* Repeats exhausted. */
        assert_int_equal(schedule_next(m, &d, utc("2040-01-01", 0, 0), &r), -ENOENT);
        tm_free(m);
}

static void test_inactive_has_none(void **state)
{
        struct model *m = weekly_model();
        struct deadline d;
        struct reminder r;
        struct coll c;

        tm_rule_done(m, &m->rules[0], "qualified");
        tm_set_date(m, 0, "qualified", "2025-01-05");
        d = derive_first(m, "2025-01-20");
        assert_int_equal(d.status, ST_MET);
        assert_int_equal(all_reminders(m, &d, &c), 0);
        assert_int_equal(schedule_next(m, &d, INT64_MIN, &r), -ENOENT);

        d.status = ST_LATE_MET;
        assert_int_equal(all_reminders(m, &d, &c), 0);
        d.status = ST_DROPPED;
        assert_int_equal(all_reminders(m, &d, &c), 0);
        d.status = ST_MISSED;
        assert_int_equal(schedule_next(m, &d, INT64_MIN, &r), -ENOENT);
        tm_free(m);
}

static void test_keys(void **state)
{
        struct model *m = commitment_model("2027-08-31", "1y6m 6m", "0");
        struct deadline d = derive_first(m, "2025-01-01");
        struct coll c;
        char buf[128], small[10];

        assert_int_equal(all_reminders(m, &d, &c), 3);
        assert_int_equal(schedule_key(m, &d, &c.r[0], buf, sizeof(buf)), 35);
        assert_string_equal(buf, "commitment/ect|2027-08-31|lead:1y6m");
        assert_int_equal(schedule_key(m, &d, &c.r[1], buf, sizeof(buf)), 33);
        assert_string_equal(buf, "commitment/ect|2027-08-31|lead:6m");
        assert_int_equal(schedule_key(m, &d, &c.r[2], buf, sizeof(buf)), 35);
        assert_string_equal(buf, "commitment/ect|2027-08-31|overdue:0");
        assert_int_equal(schedule_key(m, &d, &c.r[1], small, sizeof(small)), 33);
        assert_string_equal(small, "commitmen");
        assert_int_equal(schedule_key(m, &d, &c.r[1], NULL, 0), 33);
        tm_free(m);

        m = weekly_model();
        d = derive_first(m, "2025-01-20");
        assert_int_equal(all_reminders(m, &d, &c), 2 + OVERDUE_MAX);
        schedule_key(m, &d, &c.r[5], buf, sizeof(buf));
        assert_string_equal(buf, "rule/r/p|2025-01-10|overdue:3");
        schedule_key(m, &d, &c.r[1], buf, sizeof(buf));
        assert_string_equal(buf, "rule/r/p|2025-01-10|lead:1d");
        tm_free(m);
}

static void test_recipients(void **state)
{
        struct model *m = tm_new();
        struct rule *r = tm_rule(m, "r", "Rule", NULL, "appointed", "1y");
        struct commitment *cm;
        struct recipient out[MAX_NOTIFY];
        struct deadlines ds = {0};
        uint32_t boss, ned;

        boss = tm_person(m, "boss", "Boss", "BOSS@x.org", NULL, NULL, IDX_NONE);
        ned = tm_person(m, "ned", "Ned", NULL, NULL, NULL, IDX_NONE);
        tm_person(m, "jane", "Jane", "jane@x.org", NULL, NULL, boss);
        tm_person(m, "bob", "Bob", NULL, NULL, NULL, ned);
        tm_person(m, "kim", "Kim", "kim@x.org", NULL, NULL, IDX_NONE);
        for (uint32_t i = 0; i < m->npeople; i++)
                tm_set_date(m, i, "appointed", "2025-01-01");
        tm_notify(&r->remind, RCPT_PERSON, NULL, 0);
        tm_notify(&r->remind, RCPT_MANAGER, NULL, 0);
        tm_notify(&r->remind, RCPT_EMAIL, "jane@X.org", 0);
        tm_notify(&r->remind, RCPT_WEBHOOK, NULL, 0);
        tm_notify(&r->remind, RCPT_WEBHOOK, NULL, 1);
        tm_notify(&r->remind, RCPT_WEBHOOK, NULL, 0);
        tm_notify(&r->remind, RCPT_EMAIL, "boss@x.org", 0);
        cm = tm_commitment(m, "c", "C", "2027", CST_OPEN);
        tm_notify(&cm->remind, RCPT_PERSON, NULL, 0);
        tm_notify(&cm->remind, RCPT_MANAGER, NULL, 0);
        tm_notify(&cm->remind, RCPT_WEBHOOK, NULL, 2);
        tm_notify(&cm->remind, RCPT_WEBHOOK, NULL, 2);

        assert_int_equal(deadline_derive(m, day("2025-06-01"), &ds, NULL), 0);
        assert_int_equal(ds.n, 6);

        /* Commitment: person and manager resolve to nothing. */
        assert_int_equal(schedule_recipients(m, &ds.v[0], out), 1);
        assert_int_equal(out[0].kind, RCPT_WEBHOOK);
        assert_int_equal(out[0].webhook, 2);
        assert_null(out[0].email);

        /* jane: her email, her manager's, then webhooks; the two repeats dropped. */
        assert_int_equal(ds.v[3].person, 2);
        assert_int_equal(schedule_recipients(m, &ds.v[3], out), 4);
        assert_int_equal(out[0].kind, RCPT_EMAIL);
        assert_string_equal(out[0].email, "jane@x.org");
        assert_int_equal(out[1].kind, RCPT_EMAIL);
        assert_string_equal(out[1].email, "BOSS@x.org");
        assert_int_equal(out[2].kind, RCPT_WEBHOOK);
        assert_int_equal(out[2].webhook, 0);
        assert_int_equal(out[3].kind, RCPT_WEBHOOK);
        assert_int_equal(out[3].webhook, 1);

        /* bob: no email, manager without email. */
        assert_int_equal(schedule_recipients(m, &ds.v[4], out), 4);
        assert_string_equal(out[0].email, "jane@X.org");
        assert_int_equal(out[1].webhook, 0);
        assert_int_equal(out[2].webhook, 1);
        assert_int_equal(out[3].kind, RCPT_EMAIL);
        assert_string_equal(out[3].email, "boss@x.org");

        /* kim: no manager. */
        assert_int_equal(schedule_recipients(m, &ds.v[5], out), 5);
        assert_string_equal(out[0].email, "kim@x.org");
        assert_string_equal(out[1].email, "jane@X.org");
        assert_string_equal(out[4].email, "boss@x.org");
        deadlines_free(&ds);
        tm_free(m);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_london_offsets),
            cmocka_unit_test(test_lead_from_month_end),
            cmocka_unit_test(test_lead_order),
            cmocka_unit_test(test_overdue_weekly),
            cmocka_unit_test(test_overdue_monthly_no_drift),
            cmocka_unit_test(test_overdue_once),
            cmocka_unit_test(test_between_boundaries),
            cmocka_unit_test(test_windows_match_full_list),
            cmocka_unit_test(test_between_stops_early),
            cmocka_unit_test(test_next),
            cmocka_unit_test(test_inactive_has_none),
            cmocka_unit_test(test_keys),
            cmocka_unit_test(test_recipients),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}

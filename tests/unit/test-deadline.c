/* test-deadline.c: deadline derivation, status, ids and selectors. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "deadlined/core/deadline.h"
#include "testmodel.h"

static dl_day day(const char *s)
{
        return tm_day(s);
}

/* One SENCO rule (within 3y of appointed), one person, derived as of today. */
static struct model *senco_model(const char *appointed, const char *within)
{
        struct model *m = tm_new();
        uint32_t p;

        tm_rule(m, "senco-npq", "SENCO must hold the NPQ", "senco", "appointed", within);
        p = tm_person(m, "jane", "Jane Smith", "jane@example.org", "senco", "oak", IDX_NONE);
        tm_set_date(m, p, "appointed", appointed);
        return m;
}

static struct deadline derive_one(const struct model *m, const char *today)
{
        struct deadlines ds = {0};
        struct deadline d;

        assert_int_equal(deadline_derive(m, day(today), &ds, NULL), 0);
        assert_int_equal(ds.n, 1);
        d = ds.v[0];
        deadlines_free(&ds);
        return d;
}

static void test_leap_day_anchor(void **state)
{
        struct model *m = senco_model("2024-02-29", "3y");
        struct deadline d = derive_one(m, "2025-01-01");

        assert_int_equal(d.kind, DL_RULE);
        assert_int_equal(d.src, 0);
        assert_int_equal(d.person, 0);
        assert_int_equal(d.due.day, day("2027-02-28"));
        assert_int_equal(d.due.prec, PREC_DAY);
        assert_int_equal(d.due.minute, -1);
        assert_int_equal(d.done, DATE_NONE);
        assert_int_equal(d.status, ST_UPCOMING);
        assert_int_equal(deadline_days_left(&d, day("2027-02-27")), 1);
        assert_int_equal(deadline_days_left(&d, day("2027-03-02")), -2);
        tm_free(m);
}

static void test_not_after_cap(void **state)
{
        struct model *m = senco_model("2025-01-01", "3y");
        struct deadline d;

        m->rules[0].not_after = day("2027-08-31");
        d = derive_one(m, "2025-01-01");
        assert_int_equal(d.due.day, day("2027-08-31")); /* 2028-01-01 capped */

        /* The cap is a minimum, not a replacement. */
        m->people[0].dates[0] = day("2024-01-01");
        d = derive_one(m, "2025-01-01");
        assert_int_equal(d.due.day, day("2027-01-01"));
        tm_free(m);
}

static void test_not_after_without_within(void **state)
{
        struct model *m = senco_model("2025-01-01", NULL);
        struct deadline d;

        m->rules[0].not_after = day("2027-08-31");
        d = derive_one(m, "2025-01-01");
        assert_int_equal(d.due.day, day("2027-08-31"));
        assert_int_equal(d.status, ST_UPCOMING);
        tm_free(m);
}

static void test_status_boundaries(void **state)
{
        struct model *m = senco_model("2024-02-29", "3y");
        struct deadline d;

        tm_rule_done(m, &m->rules[0], "qualified");

        tm_set_date(m, 0, "qualified", "2027-02-28");
        d = derive_one(m, "2027-06-01");
        assert_int_equal(d.status, ST_MET);
        assert_int_equal(d.done, day("2027-02-28"));

        tm_set_date(m, 0, "qualified", "2025-05-05");
        d = derive_one(m, "2025-06-01");
        assert_int_equal(d.status, ST_MET);

        tm_set_date(m, 0, "qualified", "2027-03-01");
        d = derive_one(m, "2027-06-01");
        assert_int_equal(d.status, ST_LATE_MET);
        assert_int_equal(d.done, day("2027-03-01"));

        tm_set_date(m, 0, "qualified", NULL);
        d = derive_one(m, "2027-03-01");
        assert_int_equal(d.status, ST_OVERDUE);
        assert_int_equal(d.done, DATE_NONE);
        d = derive_one(m, "2027-02-28");
        assert_int_equal(d.status, ST_UPCOMING);
        tm_free(m);
}

static void test_recurring(void **state)
{
        struct model *m = tm_new();
        struct rule *r = tm_rule(m, "dsl-refresh", "DSL refresher", NULL, "appointed", "1y");
        uint32_t p = tm_person(m, "amy", "Amy", NULL, NULL, NULL, IDX_NONE);
        struct deadline d;

        r->recurring = true;
        r->every = tm_dur("2y");
        tm_rule_done(m, r, "trained");
        tm_set_date(m, p, "appointed", "2024-01-15");

        /* Never trained: first cycle from the anchor. */
        d = derive_one(m, "2024-06-01");
        assert_int_equal(d.due.day, day("2025-01-15"));
        assert_int_equal(d.status, ST_UPCOMING);
        d = derive_one(m, "2025-01-16");
        assert_int_equal(d.status, ST_OVERDUE);

        /* Trained: the next cycle is due, the completion belongs to the last one. */
        tm_set_date(m, p, "trained", "2024-05-10");
        d = derive_one(m, "2025-06-01");
        assert_int_equal(d.due.day, day("2026-05-10"));
        assert_int_equal(d.status, ST_UPCOMING);
        assert_int_equal(d.done, DATE_NONE);
        d = derive_one(m, "2026-05-11");
        assert_int_equal(d.status, ST_OVERDUE);
        d = derive_one(m, "2026-05-10");
        assert_int_equal(d.status, ST_UPCOMING);

        /* Still capped by not_after. */
        r->not_after = day("2026-01-31");
        d = derive_one(m, "2025-06-01");
        assert_int_equal(d.due.day, day("2026-01-31"));
        tm_free(m);
}

static void test_commitments(void **state)
{
        struct model *m = tm_new();
        struct deadlines ds = {0};

        tm_commitment(m, "ect-review", "ECT review", "2027", CST_OPEN);
        tm_commitment(m, "sen-plan", "SEND plan", "2019-03", CST_OPEN);
        tm_commitment(m, "met", "Met one", "2024-05-01", CST_MET);
        tm_commitment(m, "missed", "Missed one", "2024-05-01", CST_MISSED);
        tm_commitment(m, "dropped", "Dropped one", "2030-05-01", CST_DROPPED);
        tm_commitment(m, "timed", "Timed one", "2027-03-14T12:00", CST_OPEN);

        assert_int_equal(deadline_derive(m, day("2025-06-01"), &ds, NULL), 0);
        assert_int_equal(ds.n, 6);
        for (size_t i = 0; i < ds.n; i++) {
                assert_int_equal(ds.v[i].kind, DL_COMMITMENT);
                assert_int_equal(ds.v[i].src, i);
                assert_int_equal(ds.v[i].person, IDX_NONE);
                assert_int_equal(ds.v[i].done, DATE_NONE);
        }
        assert_int_equal(ds.v[0].due.day, day("2027-12-31"));
        assert_int_equal(ds.v[0].due.prec, PREC_YEAR);
        assert_int_equal(ds.v[0].status, ST_UPCOMING);
        assert_int_equal(ds.v[1].due.day, day("2019-03-31"));
        assert_int_equal(ds.v[1].due.prec, PREC_MONTH);
        assert_int_equal(ds.v[1].status, ST_OVERDUE);
        assert_int_equal(ds.v[2].status, ST_MET);
        assert_int_equal(ds.v[3].status, ST_MISSED);
        assert_int_equal(ds.v[4].status, ST_DROPPED);
        assert_int_equal(ds.v[5].due.day, day("2027-03-14"));
        assert_int_equal(ds.v[5].due.prec, PREC_DAY);
        assert_int_equal(ds.v[5].due.minute, 12 * 60);
        deadlines_free(&ds);
        assert_null(ds.v);
        assert_int_equal(ds.n, 0);

        /* Open on its due day is still upcoming; the day after, overdue. */
        assert_int_equal(deadline_derive(m, day("2027-12-31"), &ds, NULL), 0);
        assert_int_equal(ds.v[0].status, ST_UPCOMING);
        deadlines_free(&ds);
        assert_int_equal(deadline_derive(m, day("2028-01-01"), &ds, NULL), 0);
        assert_int_equal(ds.v[0].status, ST_OVERDUE);
        deadlines_free(&ds);
        tm_free(m);
}

/* Commitments first, then rules in config order, people in roster order. */
static void test_order_and_applies_to(void **state)
{
        struct model *m = tm_new();
        struct deadlines ds = {0};
        uint32_t a, b, c;

        tm_rule(m, "senco-npq", "NPQ", "senco", "appointed", "3y");
        tm_rule(m, "first-aid", "First aid", NULL, "appointed", "1y");
        a = tm_person(m, "a", "A", NULL, "teacher", "oak", IDX_NONE);
        b = tm_person(m, "b", "B", NULL, "dsl senco", "elm", IDX_NONE);
        c = tm_person(m, "c", "C", NULL, "senco", "oak", IDX_NONE);
        tm_set_date(m, a, "appointed", "2024-01-01");
        tm_set_date(m, b, "appointed", "2024-01-02");
        tm_set_date(m, c, "appointed", "2024-01-03");
        tm_commitment(m, "x", "X", "2027", CST_OPEN);

        assert_int_equal(deadline_derive(m, day("2024-06-01"), &ds, NULL), 0);
        assert_int_equal(ds.n, 6);
        assert_int_equal(ds.v[0].kind, DL_COMMITMENT);
        assert_int_equal(ds.v[1].src, 0);
        assert_int_equal(ds.v[1].person, b);
        assert_int_equal(ds.v[1].due.day, day("2027-01-02"));
        assert_int_equal(ds.v[2].src, 0);
        assert_int_equal(ds.v[2].person, c);
        assert_int_equal(ds.v[3].src, 1);
        assert_int_equal(ds.v[3].person, a);
        assert_int_equal(ds.v[3].due.day, day("2025-01-01"));
        assert_int_equal(ds.v[4].person, b);
        assert_int_equal(ds.v[5].person, c);
        deadlines_free(&ds);

        /* applies_to org:elm person:a (OR'ed). */
        m->rules[0].applies_to = tm_select(m, "org:elm person:a");
        m->nrules = 1;
        assert_int_equal(deadline_derive(m, day("2024-06-01"), &ds, NULL), 0);
        assert_int_equal(ds.n, 3);
        assert_int_equal(ds.v[1].person, a);
        assert_int_equal(ds.v[2].person, b);
        deadlines_free(&ds);

        /* all matches everyone. */
        m->rules[0].applies_to = tm_select(m, "all");
        assert_int_equal(deadline_derive(m, day("2024-06-01"), &ds, NULL), 0);
        assert_int_equal(ds.n, 4);
        deadlines_free(&ds);
        m->nrules = 2;
        tm_free(m);
}

static void test_missing_anchor_warns(void **state)
{
        struct model *m = tm_new();
        struct deadlines ds = {0};
        struct diags warn = {0};

        tm_rule(m, "senco-npq", "NPQ", "senco", "appointed", "3y");
        tm_person(m, "jane", "Jane", NULL, "senco", NULL, IDX_NONE);
        tm_person(m, "bob", "Bob", NULL, "senco", NULL, IDX_NONE);
        tm_person(m, "tom", "Tom", NULL, "teacher", NULL, IDX_NONE); /* not a senco: no warning */
        tm_set_date(m, 0, "appointed", "2024-01-01");

        assert_int_equal(deadline_derive(m, day("2024-06-01"), &ds, &warn), 0);
        assert_int_equal(ds.n, 1);
        assert_int_equal(ds.v[0].person, 0);
        assert_int_equal(warn.n, 1);
        assert_int_equal(warn.nwarnings, 1);
        assert_int_equal(warn.nerrors, 0);
        assert_int_equal(warn.v[0].sev, DIAG_WARNING);
        assert_string_equal(warn.v[0].file, "roster.csv");
        assert_int_equal(warn.v[0].line, 3);
        assert_string_equal(warn.v[0].msg,
                            "person 'bob' has no 'appointed' date; rule 'senco-npq' skipped");
        deadlines_free(&ds);
        diag_free(&warn);

        /* warn may be NULL. */
        assert_int_equal(deadline_derive(m, day("2024-06-01"), &ds, NULL), 0);
        assert_int_equal(ds.n, 1);
        deadlines_free(&ds);
        tm_free(m);
}

static void test_ids_titles_names(void **state)
{
        struct model *m = senco_model("2024-02-29", "3y");
        struct deadlines ds = {0};
        char buf[64], small[8];

        tm_commitment(m, "ect-review", "ECT review", "2027", CST_OPEN);
        assert_int_equal(deadline_derive(m, day("2025-01-01"), &ds, NULL), 0);
        assert_int_equal(ds.n, 2);

        assert_int_equal(deadline_id(m, &ds.v[0], buf, sizeof(buf)), 21);
        assert_string_equal(buf, "commitment/ect-review");
        assert_int_equal(deadline_id(m, &ds.v[1], buf, sizeof(buf)), 19);
        assert_string_equal(buf, "rule/senco-npq/jane");
        /* snprintf-style: the full length even when truncated. */
        assert_int_equal(deadline_id(m, &ds.v[1], small, sizeof(small)), 19);
        assert_string_equal(small, "rule/se");

        assert_string_equal(deadline_title(m, &ds.v[0]), "ECT review");
        assert_string_equal(deadline_title(m, &ds.v[1]), "SENCO must hold the NPQ");
        assert_ptr_equal(deadline_remind(m, &ds.v[0]), &m->commitments[0].remind);
        assert_ptr_equal(deadline_remind(m, &ds.v[1]), &m->rules[0].remind);

        assert_string_equal(deadline_status_name(ST_UPCOMING), "upcoming");
        assert_string_equal(deadline_status_name(ST_OVERDUE), "overdue");
        assert_string_equal(deadline_status_name(ST_MET), "met");
        assert_string_equal(deadline_status_name(ST_LATE_MET), "late-met");
        assert_string_equal(deadline_status_name(ST_MISSED), "missed");
        assert_string_equal(deadline_status_name(ST_DROPPED), "dropped");
        assert_string_equal(deadline_status_name(42), "unknown");
        assert_string_equal(deadline_status_name(-1), "unknown");
        deadlines_free(&ds);
        tm_free(m);
}

static void test_active(void **state)
{
        struct deadline d = {0};
        const uint8_t yes[] = {ST_UPCOMING, ST_OVERDUE};
        const uint8_t no[] = {ST_MET, ST_LATE_MET, ST_MISSED, ST_DROPPED};

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                d.status = yes[i];
                assert_true(deadline_active(&d));
        }
        for (size_t i = 0; i < ELEMENTSOF(no); i++) {
                d.status = no[i];
                assert_false(deadline_active(&d));
        }
}

static bool sel(struct model *m, const char *expr, const struct deadline *d)
{
        struct selector s = tm_select(m, expr);

        return deadline_selected(m, &s, d);
}

static void test_selectors(void **state)
{
        struct model *m = tm_new();
        struct deadlines ds = {0};
        const struct deadline *c, *jane, *bob, *jane2;
        uint32_t p;

        tm_rule(m, "senco-npq", "NPQ", "senco", "appointed", "3y");
        tm_rule(m, "first-aid", "First aid", NULL, "appointed", "1y");
        p = tm_person(m, "jane", "Jane", NULL, "senco", "oak", IDX_NONE);
        tm_set_date(m, p, "appointed", "2024-01-01");
        p = tm_person(m, "bob", "Bob", NULL, "dsl", "elm", IDX_NONE);
        tm_set_date(m, p, "appointed", "2024-01-01");
        tm_commitment(m, "x", "X", "2027", CST_OPEN);
        assert_int_equal(deadline_derive(m, day("2024-06-01"), &ds, NULL), 0);
        assert_int_equal(ds.n, 4);
        c = &ds.v[0];
        jane = &ds.v[1];  /* senco-npq */
        jane2 = &ds.v[2]; /* first-aid */
        bob = &ds.v[3];
        assert_int_equal(bob->person, 1);

        assert_true(sel(m, "all", c));
        assert_true(sel(m, "all", bob));
        assert_true(sel(m, "commitments", c));
        assert_false(sel(m, "commitments", jane));
        assert_false(sel(m, "people", c));
        assert_true(sel(m, "people", jane));
        assert_true(sel(m, "rule:senco-npq", jane));
        assert_false(sel(m, "rule:senco-npq", jane2));
        assert_false(sel(m, "rule:senco-npq", c));
        assert_true(sel(m, "role:senco", jane2));
        assert_false(sel(m, "role:senco", bob));
        assert_false(sel(m, "role:senco", c));
        assert_true(sel(m, "org:elm", bob));
        assert_false(sel(m, "org:elm", jane));
        assert_false(sel(m, "org:elm", c));
        assert_true(sel(m, "person:bob", bob));
        assert_false(sel(m, "person:bob", jane2));
        assert_false(sel(m, "person:bob", c));
        /* Terms are OR'ed. */
        assert_true(sel(m, "person:bob commitments", c));
        assert_true(sel(m, "person:bob commitments", bob));
        assert_false(sel(m, "person:bob commitments", jane));
        assert_false(sel(m, "", jane));
        deadlines_free(&ds);
        tm_free(m);
}

/* Scale: 100k people x 2 rules derive into one array (timing is checked by bench). */
static void test_scale(void **state)
{
        struct model *m = tm_new();
        struct deadlines ds = {0};
        uint32_t f;

        tm_rule(m, "senco-npq", "NPQ", "senco", "appointed", "3y");
        tm_rule(m, "first-aid", "First aid", NULL, "appointed", "1y");
        f = tm_field(m, "appointed");
        for (int i = 0; i < 100000; i++) {
                char id[32];
                uint32_t p;

                snprintf(id, sizeof(id), "p%d", i);
                p = tm_person(m, id, id, NULL, i % 2 ? "senco" : "teacher", NULL, IDX_NONE);
                m->people[p].dates[f] = day("2024-01-01") + i % 1000;
        }
        assert_int_equal(deadline_derive(m, day("2024-06-01"), &ds, NULL), 0);
        assert_int_equal(ds.n, 150000);
        assert_true(ds.cap >= ds.n);
        assert_int_equal(ds.v[149999].person, 99999);
        assert_int_equal(ds.v[149999].src, 1);
        assert_int_equal(ds.v[149999].due.day, date_add(day("2024-01-01") + 999, tm_dur("1y")));
        deadlines_free(&ds);
        tm_free(m);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_leap_day_anchor),
            cmocka_unit_test(test_not_after_cap),
            cmocka_unit_test(test_not_after_without_within),
            cmocka_unit_test(test_status_boundaries),
            cmocka_unit_test(test_recurring),
            cmocka_unit_test(test_commitments),
            cmocka_unit_test(test_order_and_applies_to),
            cmocka_unit_test(test_missing_anchor_warns),
            cmocka_unit_test(test_ids_titles_names),
            cmocka_unit_test(test_active),
            cmocka_unit_test(test_selectors),
            cmocka_unit_test(test_scale),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test-plan.c: catch-up and digest decisions, with an in-memory "ledger". */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "deadlined/core/plan.h"
#include "testmodel.h"

/* A fake ledger: the keys recorded so far. */
struct fake {
        char **keys;
        size_t n;
};

static int fake_known(void *userdata, const char *key)
{
        struct fake *f = userdata;

        for (size_t i = 0; i < f->n; i++)
                if (!strcmp(f->keys[i], key))
                        return 1;
        return 0;
}

static void fake_record(struct fake *f, const struct plan *p)
{
        for (size_t i = 0; i < p->n; i++) {
                TM_GROW(f->keys, f->n);
                f->keys[f->n++] = xstrdup(p->items[i].key);
        }
}

static void fake_free(struct fake *f)
{
        for (size_t i = 0; i < f->n; i++)
                free(f->keys[i]);
        free(f->keys);
}

static int64_t at(const char *s)
{
        int64_t t = 0;

        assert_int_equal(time_parse_instant(s, tz_utc(), &t), 0);
        return t;
}

static uint32_t add_webhook(struct model *m, const char *name)
{
        TM_GROW(m->webhooks, m->nwebhooks);
        memset(&m->webhooks[m->nwebhooks], 0, sizeof(struct webhook));
        m->webhooks[m->nwebhooks].name = arena_strdup(&m->arena, name);
        m->webhooks[m->nwebhooks].url = "http://127.0.0.1:1/hook";
        return m->nwebhooks++;
}

/* Jane (senco, manager Head) appointed 2020-01-01: NPQ due 2023-01-01,
 * weekly overdue notices on Mondays from 2023-01-02. A second rule (dsl)
 * due 2026-07-15 with a 1m lead on 2026-06-15. */
static struct model *school(void)
{
        struct model *m = tm_new();
        uint32_t head, jane, hook = add_webhook(m, "send-team");
        struct rule *r;

        r = tm_rule(m, "senco-npq", "SENCO NPQ", "senco", "appointed", "3y");
        tm_remind(&r->remind, "6m 1m", "1w");
        tm_notify(&r->remind, RCPT_PERSON, NULL, 0);
        tm_notify(&r->remind, RCPT_MANAGER, NULL, 0);
        tm_notify(&r->remind, RCPT_WEBHOOK, NULL, hook);
        r = tm_rule(m, "dsl", "DSL refresher", "dsl", "trained", "2y");
        tm_remind(&r->remind, "1m", "1w");
        tm_notify(&r->remind, RCPT_PERSON, NULL, 0);
        head = tm_person(m, "head", "Head Teacher", "Head@Example.org", NULL, NULL, IDX_NONE);
        jane = tm_person(m, "jane", "Jane Smith", "jane@example.org", "senco dsl", "oak", head);
        tm_set_date(m, jane, "appointed", "2020-01-01");
        tm_set_date(m, jane, "trained", "2024-07-15");
        return m;
}

static void derive(const struct model *m, int64_t now, struct deadlines *ds)
{
        dl_day today;
        int minute;

        tz_utc_to_local(m->set.tz, now, &today, &minute);
        assert_int_equal(deadline_derive(m, today, ds, NULL), 0);
}

static void test_catch_up_until(void **state)
{
        struct model *m = tm_new();
        struct reminder r = {.day = tm_day("2027-01-31"), .lead = 0, .repeat = -1};

        r.at = at("2027-01-31T09:00Z");
        assert_int_equal(plan_catch_up_until(m, &r), at("2027-02-07T09:00Z"));
        m->set.catch_up = tm_dur("1m");
        assert_int_equal(plan_catch_up_until(m, &r), at("2027-02-28T09:00Z"));
        m->set.catch_up = tm_dur("0");
        assert_int_equal(plan_catch_up_until(m, &r), at("2027-02-01T00:00Z"));
        tm_free(m);
}

static void test_window_start(void **state)
{
        struct model *m = tm_new();
        int64_t now = at("2026-06-15T12:00Z");

        /* Fresh ledger: a year back. */
        assert_int_equal(plan_window_start(m, now, -1), now - PLAN_SKIP_HORIZON);
        /* Recent pass: the catch-up span (7d + 2d margin). */
        assert_int_equal(plan_window_start(m, now, now - 60), now - 9 * 86400);
        /* Down for 20 days: back to just after the last pass. */
        assert_int_equal(plan_window_start(m, now, now - 20 * 86400), now - 20 * 86400 + 1);
        /* Down for two years: capped at a year. */
        assert_int_equal(plan_window_start(m, now, now - 730 * 86400), now - PLAN_SKIP_HORIZON);
        tm_free(m);
}

static size_t count(const struct plan *p, uint8_t act, const char *key_prefix)
{
        size_t n = 0;

        for (size_t i = 0; i < p->n; i++)
                if (p->items[i].act == act && str_has_prefix(p->items[i].key, key_prefix))
                        n++;
        return n;
}

/* A fresh ledger years after the data starts: at most one SEND per deadline
 * and recipient, older ones skipped (a year back); a second pass: nothing. */
static void test_fresh_ledger_years_later(void **state)
{
        struct model *m = school();
        struct deadlines ds = {0};
        struct fake f = {0};
        struct plan p = {0};
        int64_t now = at("2026-06-15T12:00Z");

        derive(m, now, &ds);
        assert_int_equal(ds.n, 2);
        assert_int_equal(plan_build(m, &ds, plan_window_start(m, now, -1), now, fake_known, &f, &p),
                         0);
        /* senco: 3 recipients x 1 send; dsl lead 1m on 2026-06-15: 1 send. */
        assert_int_equal(p.nsend, 4);
        assert_int_equal(count(&p, PLAN_SEND,
                               "rule/senco-npq/jane|2023-01-01|overdue:180|mailto:jane@example.org"),
                         1);
        assert_int_equal(count(&p, PLAN_SEND, "rule/dsl/jane|2026-07-15|lead:1m|mailto:jane"), 1);
        /* 2025-06-16 .. 2026-06-08: 52 Mondays skipped for each senco recipient. */
        assert_int_equal(count(&p, PLAN_SKIP, "rule/senco-npq/jane|2023-01-01|overdue:"), 3 * 52);
        assert_int_equal(p.nskip, 3 * 52);
        fake_record(&f, &p);
        plan_free(&p);

        assert_int_equal(plan_build(m, &ds, plan_window_start(m, now, now), now, fake_known, &f, &p),
                         0);
        assert_int_equal(p.n, 0);
        assert_int_equal(p.ndigests, 0);
        plan_free(&p);
        /* Even rescanning the whole year finds nothing new. */
        assert_int_equal(plan_build(m, &ds, plan_window_start(m, now, -1), now, fake_known, &f, &p),
                         0);
        assert_int_equal(p.n, 0);
        plan_free(&p);
        fake_free(&f);
        deadlines_free(&ds);
        tm_free(m);
}

/* Digests: one per recipient, sorted by recipient, items by time then key. */
static void test_digest_grouping(void **state)
{
        struct model *m = school();
        struct deadlines ds = {0};
        struct fake f = {0};
        struct plan p = {0};
        int64_t now = at("2026-06-15T09:00Z");

        derive(m, now, &ds);
        assert_int_equal(plan_build(m, &ds, now - 86400, now, fake_known, &f, &p), 0);
        assert_int_equal(p.nskip, 0);
        assert_int_equal(p.ndigests, 3);
        assert_string_equal(p.digests[0].recipient, "mailto:head@example.org");
        assert_string_equal(p.digests[1].recipient, "mailto:jane@example.org");
        assert_string_equal(p.digests[2].recipient, "webhook:send-team");
        assert_int_equal(p.digests[0].n, 1);
        assert_int_equal(p.digests[1].n, 2);
        assert_int_equal(p.digests[2].n, 1);
        assert_int_equal(p.digests[2].rc.kind, RCPT_WEBHOOK);
        assert_string_equal(p.items[p.digests[1].items[0]].key,
                            "rule/dsl/jane|2026-07-15|lead:1m|mailto:jane@example.org");
        assert_string_equal(p.items[p.digests[1].items[1]].key,
                            "rule/senco-npq/jane|2023-01-01|overdue:180|mailto:jane@example.org");
        /* Message-ID: sha256 of the sorted keys joined by newlines, 32 hex. */
        assert_string_equal(p.digests[1].message_id, "<cec9d6d1e9c0ccee548cd2e5cae94f8c@test.example>");
        assert_string_equal(p.digests[1].idem, "cec9d6d1e9c0ccee548cd2e5cae94f8c");
        plan_free(&p);
        deadlines_free(&ds);
        tm_free(m);
}

/* A reminder older than catch_up is skipped, never sent. */
static void test_too_old_is_skipped(void **state)
{
        struct model *m = school();
        struct deadlines ds = {0};
        struct fake f = {0};
        struct plan p = {0};
        /* Tuesday 2026-06-23: the Monday notice is 1 day old (send), dsl lead 8 days (skip). */
        int64_t now = at("2026-06-23T08:00Z");

        derive(m, now, &ds);
        assert_int_equal(plan_build(m, &ds, now - 20 * 86400, now, fake_known, &f, &p), 0);
        assert_int_equal(count(&p, PLAN_SKIP, "rule/dsl/jane|2026-07-15|lead:1m|"), 1);
        assert_int_equal(count(&p, PLAN_SEND, "rule/dsl/"), 0);
        /* senco: 06-22 sent, 06-15 and 06-08 (in the 20-day window) skipped, per recipient. */
        assert_int_equal(count(&p, PLAN_SEND, "rule/senco-npq/jane|2023-01-01|overdue:181|"), 3);
        assert_int_equal(count(&p, PLAN_SKIP, "rule/senco-npq/jane|2023-01-01|overdue:"), 6);
        assert_int_equal(p.ndigests, 3);
        plan_free(&p);
        deadlines_free(&ds);
        tm_free(m);
}

/* Before send_at nothing of the day fires; exactly at send_at it does. */
static void test_send_at_boundary(void **state)
{
        struct model *m = school();
        struct deadlines ds = {0};
        struct fake f = {0};
        struct plan p = {0};
        int64_t now = at("2026-06-15T08:59Z");

        derive(m, now, &ds);
        assert_int_equal(plan_build(m, &ds, now - 3600, now, fake_known, &f, &p), 0);
        assert_int_equal(p.n, 0);
        plan_free(&p);
        now = at("2026-06-15T09:00Z");
        assert_int_equal(plan_build(m, &ds, now - 3600, now, fake_known, &f, &p), 0);
        assert_int_equal(p.nsend, 4);
        plan_free(&p);
        deadlines_free(&ds);
        tm_free(m);
}

/* Met deadlines have no reminders; the ledger lookup failing aborts the plan. */
static int failing_known(void *userdata, const char *key)
{
        return -EIO;
}

static void test_met_and_errors(void **state)
{
        struct model *m = school();
        struct deadlines ds = {0};
        struct fake f = {0};
        struct plan p = {0};
        int64_t now = at("2026-06-15T09:00Z");

        derive(m, now, &ds);
        assert_int_equal(plan_build(m, &ds, now - 3600, now, failing_known, NULL, &p), -EIO);
        assert_null(p.items);
        for (size_t i = 0; i < ds.n; i++)
                ds.v[i].status = ST_MET;
        assert_int_equal(plan_build(m, &ds, now - 3600, now, fake_known, &f, &p), 0);
        assert_int_equal(p.n, 0);
        plan_free(&p);
        deadlines_free(&ds);
        tm_free(m);
}

static void test_digest_id_order_free(void **state)
{
        const char *a[] = {"k2", "k1"}, *b[] = {"k1", "k2"};
        char ia[PLAN_IDEM_LEN + 1], ib[PLAN_IDEM_LEN + 1];
        char *ma = NULL, *mb = NULL;

        plan_digest_id(a, 2, "x.example", ia, &ma);
        plan_digest_id(b, 2, "x.example", ib, &mb);
        assert_string_equal(ia, ib);
        /* sha256("k1\nk2") */
        assert_string_equal(ma, "<f418ef775552103f1b7be000b4505b96@x.example>");
        assert_string_equal(ma, mb);
        free(ma);
        free(mb);
}

static void test_slot_and_recipient(void **state)
{
        struct model *m = school();
        struct deadlines ds = {0};
        char buf[48];
        struct reminder r = {.lead = 1, .repeat = -1};
        struct recipient rc = {.kind = RCPT_EMAIL, .email = "Head@Example.ORG"};

        derive(m, at("2026-06-15T09:00Z"), &ds);
        assert_string_equal(plan_slot(m, &ds.v[0], &r, buf, sizeof(buf)), "lead:1m");
        r = (struct reminder){.lead = -1, .repeat = 7};
        assert_string_equal(plan_slot(m, &ds.v[0], &r, buf, sizeof(buf)), "overdue:7");
        char *s = plan_recipient_name(m, &rc);
        assert_string_equal(s, "mailto:head@example.org");
        free(s);
        rc = (struct recipient){.kind = RCPT_WEBHOOK, .webhook = 0};
        s = plan_recipient_name(m, &rc);
        assert_string_equal(s, "webhook:send-team");
        free(s);
        deadlines_free(&ds);
        tm_free(m);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_catch_up_until),
                cmocka_unit_test(test_window_start),
                cmocka_unit_test(test_fresh_ledger_years_later),
                cmocka_unit_test(test_digest_grouping),
                cmocka_unit_test(test_too_old_is_skipped),
                cmocka_unit_test(test_send_at_boundary),
                cmocka_unit_test(test_met_and_errors),
                cmocka_unit_test(test_digest_id_order_free),
                cmocka_unit_test(test_slot_and_recipient),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

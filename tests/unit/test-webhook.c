/* test-webhook.c: payload schemas, signatures, URL policy. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>

#include "deadlined/deliver/webhook.h"
#include "testmodel.h"

static struct model *school(struct deadlines *ds, uint8_t format)
{
        struct model *m = tm_new();
        struct rule *r = tm_rule(m, "senco-npq", "SENCO NPQ", "senco", "appointed", "3y");
        struct commitment *c;
        uint32_t p;

        tm_remind(&r->remind, "6m 1m", "1w");
        p = tm_person(m, "jane", "Jane Smith", "jane@example.org", "senco", "oak", IDX_NONE);
        tm_set_date(m, p, "appointed", "2024-02-29");
        c = tm_commitment(m, "ect-review", "Full review of the ECT Entitlement", "2027-03",
                          CST_OPEN);
        c->url = "https://petition.parliament.uk/";
        c->source = "000_b13f8de290c266c6.txt";
        c->owner = "DfE";
        TM_GROW(m->webhooks, m->nwebhooks);
        m->webhooks[0] = (struct webhook){.name = "team", .url = "http://127.0.0.1:9/h",
                                          .format = format};
        m->nwebhooks = 1;
        assert_int_equal(deadline_derive(m, tm_day("2027-01-28"), ds, NULL), 0);
        return m;
}

static json_t *build(struct model *m, struct deadlines *ds)
{
        struct mail_entry e[2] = {{.d = &ds->v[1], .r = {.lead = 1, .repeat = -1}},
                                  {.d = &ds->v[0], .r = {.lead = -1, .repeat = 3}}};
        struct strbuf sb = {0};
        json_error_t err;
        json_t *j;

        assert_int_equal(webhook_payload(m, &m->webhooks[0], e, 2, 1800000000, "abc123", &sb), 0);
        j = json_loads(sb.buf, 0, &err);
        assert_non_null(j);
        sb_free(&sb);
        return j;
}

static void test_json_schema(void **state)
{
        struct deadlines ds = {0};
        struct model *m = school(&ds, WH_JSON);
        json_t *j = build(m, &ds), *d0, *d1;

        assert_string_equal(json_string_value(json_object_get(j, "type")), "deadlined.reminder");
        assert_string_equal(json_string_value(json_object_get(j, "idempotency_key")), "abc123");
        assert_string_equal(json_string_value(json_object_get(j, "sent_at")),
                            "2027-01-15T08:00:00Z");
        assert_int_equal(json_array_size(json_object_get(j, "deadlines")), 2);
        d0 = json_array_get(json_object_get(j, "deadlines"), 0);
        assert_string_equal(json_string_value(json_object_get(d0, "id")), "rule/senco-npq/jane");
        assert_string_equal(json_string_value(json_object_get(d0, "due")), "2027-02-28");
        assert_string_equal(json_string_value(json_object_get(d0, "precision")), "day");
        assert_string_equal(json_string_value(json_object_get(d0, "status")), "upcoming");
        assert_int_equal(json_integer_value(json_object_get(d0, "days_left")), 44);
        assert_string_equal(json_string_value(json_object_get(json_object_get(d0, "person"), "org")),
                            "oak");
        assert_string_equal(json_string_value(json_object_get(d0, "rule")), "senco-npq");
        assert_true(json_is_null(json_object_get(d0, "url")));
        assert_string_equal(
                json_string_value(json_object_get(json_object_get(d0, "reminder"), "lead")), "1m");
        d1 = json_array_get(json_object_get(j, "deadlines"), 1);
        assert_string_equal(json_string_value(json_object_get(d1, "id")), "commitment/ect-review");
        assert_string_equal(json_string_value(json_object_get(d1, "due")), "2027-03");
        assert_string_equal(json_string_value(json_object_get(d1, "precision")), "month");
        assert_true(json_is_null(json_object_get(d1, "person")));
        assert_true(json_is_null(json_object_get(d1, "rule")));
        assert_string_equal(json_string_value(json_object_get(d1, "owner")), "DfE");
        assert_string_equal(json_string_value(json_object_get(d1, "url")),
                            "https://petition.parliament.uk/");
        assert_string_equal(
                json_string_value(json_object_get(json_object_get(d1, "reminder"), "kind")),
                "overdue");
        assert_int_equal(
                json_integer_value(json_object_get(json_object_get(d1, "reminder"), "repeat")), 3);
        json_decref(j);
        deadlines_free(&ds);
        tm_free(m);
}

static void test_slack_and_teams(void **state)
{
        struct deadlines ds = {0};
        struct model *m = school(&ds, WH_SLACK);
        json_t *j = build(m, &ds);

        assert_string_equal(json_string_value(json_object_get(j, "text")),
                            "Reminder: 2 deadlines (next: SENCO NPQ for Jane Smith, 28 February 2027)");
        assert_int_equal(json_array_size(json_object_get(j, "blocks")), 3);
        assert_string_equal(
                json_string_value(json_object_get(
                        json_object_get(json_array_get(json_object_get(j, "blocks"), 2), "text"),
                        "text")),
                "Full review of the ECT Entitlement: by end of March 2027 (in 75 days)");
        json_decref(j);
        m->webhooks[0].format = WH_TEAMS;
        j = build(m, &ds);
        assert_string_equal(json_string_value(json_object_get(j, "@type")), "MessageCard");
        assert_string_equal(json_string_value(json_object_get(j, "@context")),
                            "https://schema.org/extensions");
        assert_int_equal(json_array_size(json_object_get(j, "sections")), 2);
        assert_string_equal(json_string_value(json_object_get(
                                    json_array_get(json_object_get(j, "sections"), 0),
                                    "activityTitle")),
                            "SENCO NPQ for Jane Smith: 28 February 2027 (in 44 days)");
        json_decref(j);
        deadlines_free(&ds);
        tm_free(m);
}

static void test_invalid_utf8_refused(void **state)
{
        struct deadlines ds = {0};
        struct model *m = school(&ds, WH_JSON);
        struct mail_entry e = {.d = &ds.v[1], .r = {.lead = 0, .repeat = -1}};
        struct strbuf sb = {0};

        m->people[0].name = "Jane \xff";
        assert_int_equal(webhook_payload(m, &m->webhooks[0], &e, 1, 0, "k", &sb), -EINVAL);
        sb_free(&sb);
        deadlines_free(&ds);
        tm_free(m);
}

static void test_sign(void **state)
{
        char hex[65];

        webhook_sign("s3cret", 6, 1700000000, "{\"a\":1}", 7, hex);
        assert_string_equal(hex,
                            "1698a50bc74d1ff1db85c4e0a5297c2ad9fdba245d5737cdb789e4cc6e098940");
}

static void test_easy_policy(void **state)
{
        struct webhook w = {.name = "x", .url = "file:///etc/passwd", .secret = "k",
                            .secret_len = 1};
        struct webhook_upload *up = NULL;
        CURL *c = NULL;

        assert_int_equal(webhook_easy_new(&w, NULL, 0, "k", 0, 30, &up, &c), -EPERM);
        w.url = "ftp://example.org/";
        assert_int_equal(webhook_easy_new(&w, NULL, 0, "k", 0, 30, &up, &c), -EPERM);
        w.url = "https://hooks.example.org/T0";
        assert_int_equal(webhook_easy_new(&w, xstrdup("{}"), 2, "k", 5, 30, &up, &c), 0);
        /* Content-Type, Expect, Idempotency-Key, timestamp, signature. */
        assert_string_equal(up->headers->next->next->data, "Idempotency-Key: k");
        assert_string_equal(up->headers->next->next->next->data, "X-Deadlined-Timestamp: 5");
        webhook_upload_free(up);
        curl_easy_cleanup(c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_json_schema),
                cmocka_unit_test(test_slack_and_teams),
                cmocka_unit_test(test_invalid_utf8_refused),
                cmocka_unit_test(test_sign),
                cmocka_unit_test(test_easy_policy),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test-agenda.c: which deadlines the agenda window lists, in what order, and the JSON shape. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>

#include "deadlined/cli/agenda-print.h"
#include "testmodel.h"

struct fixture {
        struct model *m;
        struct deadlines ds;
        dl_day today;
};

/* One rule (3y from appointed, leads 1m and 1w, weekly overdue) and five people:
 *   due-in-window   due 2026-12-01, inside a 30-day window from 2026-11-22
 *   overdue         due 2026-01-10, not done
 *   lead-in-window  due 2026-12-28; its 1m lead fires 2026-11-28
 *   far             due 2027-06-01; nothing in the window
 *   met-far         due 2027-01-10, done: met, not listed */
static int setup(void **state)
{
        struct fixture *f = xcalloc(1, sizeof(*f));
        struct model *m = tm_new();
        struct rule *r = tm_rule(m, "npq", "Hold the NPQ", "senco", "appointed", "3y");
        tm_rule_done(m, r, "qualified");
        tm_remind(&r->remind, "1m 1w", "1w");
        tm_notify(&r->remind, RCPT_PERSON, NULL, 0);
        const char *ids[] = {"far", "lead-in-window", "overdue", "due-in-window", "met-far"};
        const char *appointed[] = {"2024-06-01", "2023-12-28", "2023-01-10", "2023-12-01",
                                   "2024-01-10"};
        for (int i = 0; i < 5; i++) {
                char email[64];
                snprintf(email, sizeof(email), "%s@school.example", ids[i]);
                uint32_t p = tm_person(m, ids[i], ids[i], email, "senco", "oak", IDX_NONE);
                tm_set_date(m, p, "appointed", appointed[i]);
        }
        tm_set_date(m, 4, "qualified", "2025-05-01");
        f->m = m;
        f->today = tm_day("2026-11-22");
        assert_int_equal(deadline_derive(m, f->today, &f->ds, NULL), 0);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        deadlines_free(&f->ds);
        tm_free(f->m);
        free(f);
        return 0;
}

static void test_rows_selection_and_order(void **state)
{
        struct fixture *f = *state;
        struct agenda_opts o = {.today = f->today, .from = f->today, .days = 30};
        struct agenda_row *rows = NULL;
        size_t n = agenda_rows(f->m, &f->ds, &o, &rows);

        assert_int_equal(n, 3);
        /* Overdue first, then by due day. */
        assert_string_equal(f->m->people[rows[0].d->person].id, "overdue");
        assert_int_equal(rows[0].d->status, ST_OVERDUE);
        assert_string_equal(f->m->people[rows[1].d->person].id, "due-in-window");
        assert_string_equal(f->m->people[rows[2].d->person].id, "lead-in-window");
        /* The 1m lead of a 2026-12-28 deadline fires 2026-11-28 at 09:00 UTC. */
        assert_true(rows[2].has_next);
        assert_int_equal(rows[2].next.day, tm_day("2026-11-28"));
        assert_int_equal(rows[2].next.lead, 0);
        free(rows);
}

static void test_one_day_window(void **state)
{
        struct fixture *f = *state;
        /* Only the overdue deadline: nothing else is due or reminded on 2026-11-23. */
        struct agenda_opts o = {.today = f->today, .from = tm_day("2026-11-23"), .days = 1};
        struct agenda_row *rows = NULL;
        size_t n = agenda_rows(f->m, &f->ds, &o, &rows);

        assert_int_equal(n, 1);
        assert_string_equal(f->m->people[rows[0].d->person].id, "overdue");
        free(rows);
}

static void test_json(void **state)
{
        struct fixture *f = *state;
        struct agenda_opts o = {.today = f->today, .from = f->today, .days = 30, .json = true};
        char *buf = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&buf, &len);

        assert_int_equal(agenda_print(mem, f->m, &f->ds, &o), 0);
        fclose(mem);
        json_error_t err;
        json_t *arr = json_loads(buf, 0, &err);
        assert_non_null(arr);
        assert_int_equal(json_array_size(arr), 3);
        json_t *third = json_array_get(arr, 2);
        assert_string_equal(json_string_value(json_object_get(third, "id")),
                            "rule/npq/lead-in-window");
        assert_string_equal(json_string_value(json_object_get(third, "kind")), "rule");
        assert_string_equal(json_string_value(json_object_get(third, "due")), "2026-12-28");
        assert_string_equal(json_string_value(json_object_get(third, "precision")), "day");
        assert_string_equal(json_string_value(json_object_get(third, "status")), "upcoming");
        assert_int_equal(json_integer_value(json_object_get(third, "days_left")), 36);
        json_t *rem = json_object_get(third, "reminders");
        assert_int_equal(json_array_size(rem), 2); /* 1m on 11-28, 1w on 12-21 */
        json_t *r0 = json_array_get(rem, 0);
        assert_string_equal(json_string_value(json_object_get(r0, "at")), "2026-11-28T09:00:00Z");
        assert_string_equal(json_string_value(json_object_get(r0, "lead")), "1m");
        json_t *rc = json_object_get(r0, "recipients");
        assert_string_equal(json_string_value(json_array_get(rc, 0)),
                            "lead-in-window@school.example");
        json_decref(arr);
        free(buf);
}

static void test_table(void **state)
{
        struct fixture *f = *state;
        struct agenda_opts o = {.today = f->today, .from = f->today, .days = 30};
        char *buf = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&buf, &len);

        assert_int_equal(agenda_print(mem, f->m, &f->ds, &o), 0);
        fclose(mem);
        assert_non_null(strstr(buf, "Agenda 2026-11-22 to 2026-12-21 (UTC): 3 deadlines\n"));
        assert_non_null(strstr(buf, "2026-01-10  316d ago    overdue "));
        assert_non_null(strstr(buf, "2026-12-28  in 36d      upcoming  2026-11-28 09:00 UTC (1m before)"));
        assert_non_null(strstr(buf, "lead-in-window: Hold the NPQ\n"));
        free(buf);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_rows_selection_and_order, setup, teardown),
                cmocka_unit_test_setup_teardown(test_one_day_window, setup, teardown),
                cmocka_unit_test_setup_teardown(test_json, setup, teardown),
                cmocka_unit_test_setup_teardown(test_table, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

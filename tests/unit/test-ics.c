/* test-ics.c: iCalendar rendering. A golden file pins the exact bytes; the
 * other tests parse the output back with libical and check what a calendar
 * client relies on. Set ICS_GOLDEN_UPDATE=1 to rewrite the golden file (then
 * review the diff by hand before keeping it). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libical/ical.h>

#include "deadlined/core/deadline.h"
#include "deadlined/core/ics.h"
#include "testmodel.h"

#define FEED_URL "http://127.0.0.1:8025/feeds/everything.ics"
/* Long, accented and with few spaces, so libical must fold inside multi-byte text. */
// clang-format off
#define WELSH_TITLE \
        "Adolygiad llawn o Hawl Athrawon Gyrfa Gynnar yng Nghymru a Lloegr, gyda " \
        "chyfraniad gan ysgolion, awdurdodau lleol a’r sector: ŵŷâêîôûŴŶÂÊÎÔÛáéíóúẁýẃ" \
        "ŵŷâêîôûŴŶÂÊÎÔÛáéíóúẁýẃŵŷâêîôûŴŶÂÊÎÔÛáéíóúẁýẃ—café—naïve—Zürich—søster"
// clang-format on

/* After libical folds "URL:https:", 73 octets with no ';', ':' or ' ' remain:
 * libical 3.0.16 then splits the CRLF itself; with one more octet it leaves a
 * continuation line holding only a space (see mend_split_crlf in ics.c). */
#define LONG_URL "https://www.hispteachingschoolhub.org/page/?pid=385&title=NPQ+Frameworks+Review"

struct fixture {
        struct model *m;
        struct deadlines ds;
        struct feed *all, *commitments;
};

static void push(struct deadlines *ds, uint8_t kind, uint32_t src, uint32_t person, const char *due,
                 uint8_t status, const char *done)
{
        struct deadline *d;

        if (ds->n == ds->cap) {
                ds->cap = ds->cap ? 2 * ds->cap : 16;
                ds->v = xreallocarray(ds->v, ds->cap, sizeof(*ds->v));
        }
        d = &ds->v[ds->n++];
        memset(d, 0, sizeof(*d));
        d->kind = kind;
        d->src = src;
        d->person = person;
        assert_int_equal(date_parse(due, &d->due), 0);
        d->status = status;
        d->done = done ? tm_day(done) : DATE_NONE;
}

static void add_commitments(struct model *m)
{
        struct commitment *c;

        c = tm_commitment(m, "ect-entitlement-review",
                          "Full review of the Early Career Teacher Entitlement", "2027", CST_OPEN);
        c->owner = "Department for Education";
        c->source = "000_b13f8de290c266c6.txt";
        c->url = "https://petition.parliament.uk/";
        tm_remind(&c->remind, "1y 6m 1m", "0");
        c = tm_commitment(m, "send-review", "Publish the SEND review: funding, workforce; training",
                          "2019-03", CST_DROPPED);
        c->owner = "Department for Education";
        c->description = "Promised in the 2019 response.\nDropped in 2022.";
        tm_remind(&c->remind, "1m", "0");
}

static void add_people(struct model *m)
{
        struct rule *r = tm_rule(m, "senco-npq", "SENCO must hold the NPQ for SENCOs", "senco",
                                 "appointed", "3y");
        uint32_t p;

        tm_rule_done(m, r, "senco_qualified");
        r->source = "england-qualification-rules.ini";
        tm_remind(&r->remind, "6m 3m 1m 2w 1d", "1w");
        p = tm_person(m, "jane-smith", "Jane Smith", "jane@oakfield.example", "senco dsl",
                      "oakfield-primary", IDX_NONE);
        tm_set_date(m, p, "appointed", "2024-02-29");
        p = tm_person(m, "sian-jones", "Siân Jones", NULL, "senco", "ysgol-y-bryn", IDX_NONE);
        tm_set_date(m, p, "appointed", "2023-09-01");
        tm_set_date(m, p, "senco_qualified", "2026-01-05");
        p = tm_person(m, "tom-brown", "Tom Brown", NULL, "senco", NULL, IDX_NONE);
        tm_set_date(m, p, "appointed", "2023-01-15");
}

/* Deadlines filled by hand (as deadline_derive would for today = 2026-11-22). */
static int setup(void **state)
{
        struct fixture *f = xcalloc(1, sizeof(*f));

        f->m = tm_new();
        add_commitments(f->m);
        add_people(f->m);
        tm_feed(f->m, "everything", "Oakfield deadlines", "all");
        tm_feed(f->m, "commitments", "SEND workforce commitments (England)", "commitments");
        /* Only now: tm_feed grows the array, so earlier pointers would dangle. */
        f->all = &f->m->feeds[0];
        f->all->description = "Staff qualifications, and SEND commitments; kept by the SENCO.";
        f->all->alarms = true;
        f->commitments = &f->m->feeds[1];
        push(&f->ds, DL_COMMITMENT, 0, IDX_NONE, "2027", ST_UPCOMING, NULL);
        push(&f->ds, DL_COMMITMENT, 1, IDX_NONE, "2019-03", ST_DROPPED, NULL);
        push(&f->ds, DL_RULE, 0, 0, "2027-02-28", ST_UPCOMING, NULL);
        push(&f->ds, DL_RULE, 0, 1, "2026-09-01", ST_MET, "2026-01-05");
        push(&f->ds, DL_RULE, 0, 2, "2026-01-15", ST_OVERDUE, NULL);
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

static char *render(const struct fixture *f, const struct feed *feed, ics_state_fn fn, void *ud)
{
        struct ics_opts o = {.feed = feed, .state = fn, .state_userdata = ud, .feed_url = FEED_URL};
        struct strbuf sb = {0};

        assert_int_equal(ics_render_feed(f->m, &f->ds, &o, &sb), 0);
        return sb_steal(&sb);
}

static icalcomponent *parse(const char *s)
{
        icalcomponent *c = icalparser_parse_string(s);

        assert_non_null(c);
        assert_int_equal(icalcomponent_isa(c), ICAL_VCALENDAR_COMPONENT);
        return c;
}

static icalcomponent *event_by_uid(icalcomponent *cal, const char *uid)
{
        for (icalcomponent *e = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT); e;
             e = icalcomponent_get_next_component(cal, ICAL_VEVENT_COMPONENT))
                if (strcmp(icalcomponent_get_uid(e), uid) == 0)
                        return e;
        fail_msg("no VEVENT with UID %s", uid);
        return NULL;
}

static const char *golden_path(void)
{
        static char path[1024];
        const char *dir = getenv("ICS_GOLDEN_DIR");

        if (dir) {
                snprintf(path, sizeof(path), "%s/basic.ics", dir);
        } else {
                /* __FILE__ is tests/unit/test-ics.c relative to the repo root, where tests run. */
                const char *slash = strrchr(__FILE__, '/');
                int n = slash ? (int)(slash - __FILE__) : 1;
                snprintf(path, sizeof(path), "%.*s/golden/basic.ics", n, slash ? __FILE__ : ".");
        }
        return path;
}

static char *slurp(const char *path)
{
        struct strbuf sb = {0};
        char buf[4096];
        size_t n;
        FILE *fp = fopen(path, "rb");

        if (!fp)
                return NULL;
        while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
                sb_append(&sb, buf, n);
        fclose(fp);
        sb_putc(&sb, '\0');
        sb.len--;
        return sb_steal(&sb);
}

static void write_file(const char *path, const char *s)
{
        FILE *fp = fopen(path, "wb");

        assert_non_null(fp);
        assert_int_equal(fwrite(s, 1, strlen(s), fp), strlen(s));
        assert_int_equal(fclose(fp), 0);
}

/* Report the first differing line, and leave the actual bytes for diff -u. */
static void golden_mismatch(const char *path, const char *want, const char *got)
{
        size_t i = 0, bol = 0;
        int line = 1;
        char actual[1100];

        for (; want[i] && want[i] == got[i]; i++)
                if (want[i] == '\n') {
                        line++;
                        bol = i + 1;
                }
        snprintf(actual, sizeof(actual), "%s/test-ics-basic.actual.ics",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        write_file(actual, got);
        fail_msg("output differs from %s at line %d:\n  want: %.*s\n  got:  %.*s\n"
                 "run: diff -u %s %s",
                 path, line, (int)strcspn(want + bol, "\r\n"), want + bol,
                 (int)strcspn(got + bol, "\r\n"), got + bol, path, actual);
}

static void test_golden(void **state)
{
        const struct fixture *f = *state;
        _cleanup_free_ char *got = render(f, f->all, NULL, NULL);
        const char *path = golden_path();
        _cleanup_free_ char *want = NULL;

        if (getenv("ICS_GOLDEN_UPDATE"))
                write_file(path, got);
        want = slurp(path);
        if (!want)
                fail_msg("cannot read golden file %s", path);
        if (strcmp(want, got) != 0)
                golden_mismatch(path, want, got);
}

static void assert_all_day(icalcomponent *e, const char *start, const char *end)
{
        struct icaltimetype s = icalcomponent_get_dtstart(e), t = icalcomponent_get_dtend(e);
        icalproperty *p = icalcomponent_get_first_property(e, ICAL_DTSTART_PROPERTY);
        icalparameter *v = icalproperty_get_first_parameter(p, ICAL_VALUE_PARAMETER);

        assert_non_null(v);
        assert_int_equal(icalparameter_get_value(v), ICAL_VALUE_DATE);
        assert_true(s.is_date);
        assert_true(t.is_date);
        assert_string_equal(icaltime_as_ical_string(s), start);
        assert_string_equal(icaltime_as_ical_string(t), end);
}

static void test_parse_events(void **state)
{
        const struct fixture *f = *state;
        _cleanup_free_ char *s = render(f, NULL, NULL, NULL);
        icalcomponent *cal = parse(s), *e;

        assert_int_equal(icalcomponent_count_components(cal, ICAL_VEVENT_COMPONENT), 5);
        assert_string_equal(
            icalproperty_get_x(icalcomponent_get_first_property(cal, ICAL_X_PROPERTY)),
            "deadlined: all deadlines");
        e = event_by_uid(cal, "commitment/ect-entitlement-review@test.example");
        assert_all_day(e, "20271231", "20280101");
        assert_string_equal(icalcomponent_get_summary(e),
                            "Full review of the Early Career Teacher Entitlement (in 2027)");
        assert_int_equal(icalcomponent_get_sequence(e), 0);
        assert_int_equal(icalcomponent_get_status(e), ICAL_STATUS_CONFIRMED);
        e = event_by_uid(cal, "commitment/send-review@test.example");
        assert_all_day(e, "20190331", "20190401");
        assert_int_equal(icalcomponent_get_status(e), ICAL_STATUS_CANCELLED);
        e = event_by_uid(cal, "rule/senco-npq/jane-smith@test.example");
        assert_all_day(e, "20270228", "20270301");
        assert_string_equal(icalcomponent_get_summary(e),
                            "SENCO must hold the NPQ for SENCOs: Jane Smith");
        assert_string_equal(icaltime_as_ical_string(icalcomponent_get_dtstamp(e)),
                            "20260101T000000Z");
        /* Without a feed asking for them there are no alarms. */
        assert_int_equal(icalcomponent_count_components(e, ICAL_VALARM_COMPONENT), 0);
        e = event_by_uid(cal, "rule/senco-npq/sian-jones@test.example");
        assert_non_null(strstr(icalcomponent_get_description(e), "\nStatus: met on 2026-01-05\n"));
        icalcomponent_free(cal);
}

static void assert_triggers(icalcomponent *e, const char *const *want, int n)
{
        icalcomponent *a = icalcomponent_get_first_component(e, ICAL_VALARM_COMPONENT);
        char *t;

        assert_int_equal(icalcomponent_count_components(e, ICAL_VALARM_COMPONENT), n);
        for (int i = 0; i < n;
             i++, a = icalcomponent_get_next_component(e, ICAL_VALARM_COMPONENT)) {
                icalproperty *p = icalcomponent_get_first_property(a, ICAL_TRIGGER_PROPERTY);
                icalparameter *rel = icalproperty_get_first_parameter(p, ICAL_RELATED_PARAMETER);

                assert_non_null(rel);
                assert_int_equal(icalparameter_get_related(rel), ICAL_RELATED_START);
                t = icaldurationtype_as_ical_string_r(icalproperty_get_trigger(p).duration);
                assert_string_equal(t, want[i]);
                free(t);
                p = icalcomponent_get_first_property(a, ICAL_ACTION_PROPERTY);
                assert_int_equal(icalproperty_get_action(p), ICAL_ACTION_DISPLAY);
                assert_string_equal(icalcomponent_get_description(a), icalcomponent_get_summary(e));
        }
}

/* Leads become exact day counts before this deadline's due day:
 * 2027-02-28 - 6m = 2026-08-28 (184 days), - 3m = 2026-11-28 (92), - 1m = 2027-01-28 (31). */
static void test_alarms(void **state)
{
        const struct fixture *f = *state;
        _cleanup_free_ char *s = render(f, f->all, NULL, NULL);
        icalcomponent *cal = parse(s);
        static const char *const jane[] = {"-P184D", "-P92D", "-P31D", "-P2W", "-P1D"};
        static const char *const ect[] = {"-P365D", "-P184D", "-P31D"};

        assert_triggers(event_by_uid(cal, "rule/senco-npq/jane-smith@test.example"), jane, 5);
        assert_triggers(event_by_uid(cal, "commitment/ect-entitlement-review@test.example"), ect,
                        3);
        /* Overdue is still active: its alarms stay; met and dropped ones have none. */
        assert_triggers(event_by_uid(cal, "rule/senco-npq/tom-brown@test.example"), jane, 5);
        assert_triggers(event_by_uid(cal, "rule/senco-npq/sian-jones@test.example"), NULL, 0);
        assert_triggers(event_by_uid(cal, "commitment/send-review@test.example"), NULL, 0);
        icalcomponent_free(cal);
}

static void assert_well_formed_lines(const char *s)
{
        size_t nlines = 0;

        assert_true(strlen(s) > 2);
        while (*s) {
                const char *crlf = strstr(s, "\r\n");
                size_t n;

                assert_non_null(crlf);
                n = (size_t)(crlf - s);
                if (n > 75)
                        fail_msg("line %zu is %zu octets: %.*s", nlines + 1, n, (int)n, s);
                /* A fold must never split a UTF-8 sequence. */
                if (utf8_check(s, n, false) != -1)
                        fail_msg("line %zu has a bare CR or invalid UTF-8: %.*s", nlines + 1,
                                 (int)n, s);
                assert_null(memchr(s, '\n', n));
                /* A continuation holding only the fold's space is legal but odd. */
                if (n == 1 && s[0] == ' ')
                        fail_msg("line %zu is an empty continuation", nlines + 1);
                s = crlf + 2;
                nlines++;
        }
        assert_true(nlines > 10);
}

static void test_lines_and_folding(void **state)
{
        struct fixture *f = *state;
        const char *title = f->m->commitments[0].title;
        _cleanup_free_ char *s = NULL;
        icalcomponent *cal, *e;

        f->m->commitments[0].title = WELSH_TITLE;
        f->m->commitments[0].url = LONG_URL;
        f->m->commitments[1].url = LONG_URL "s";
        s = render(f, f->all, NULL, NULL);
        f->m->commitments[0].title = title;
        assert_well_formed_lines(s);
        assert_non_null(strstr(s, "\r\n "));
        cal = parse(s);
        e = event_by_uid(cal, "commitment/ect-entitlement-review@test.example");
        assert_string_equal(icalcomponent_get_summary(e), WELSH_TITLE " (in 2027)");
        assert_string_equal(
            icalproperty_get_url(icalcomponent_get_first_property(e, ICAL_URL_PROPERTY)), LONG_URL);
        e = event_by_uid(cal, "commitment/send-review@test.example");
        assert_string_equal(
            icalproperty_get_url(icalcomponent_get_first_property(e, ICAL_URL_PROPERTY)),
            LONG_URL "s");
        icalcomponent_free(cal);
}

/* RFC 5545 3.1: remove every CRLF followed by one space or tab. */
static char *unfold(const char *s)
{
        struct strbuf sb = {0};

        sb_puts(&sb, "");
        for (; *s; s++) {
                if (s[0] == '\r' && s[1] == '\n' && (s[2] == ' ' || s[2] == '\t')) {
                        s += 2;
                        continue;
                }
                sb_putc(&sb, *s);
        }
        return sb_steal(&sb);
}

static void test_escaping(void **state)
{
        const struct fixture *f = *state;
        _cleanup_free_ char *s = render(f, f->all, NULL, NULL);
        _cleanup_free_ char *flat = unfold(s);
        icalcomponent *cal, *e;

        assert_non_null(strstr(flat, "\r\nSUMMARY:Publish the SEND review: funding\\, workforce\\; "
                                     "training (by end of March 2019)\r\n"));
        assert_non_null(strstr(flat,
                               "\r\nDESCRIPTION:Staff qualifications\\, and SEND commitments\\; "
                               "kept by the SENCO.\r\n"));
        /* libical leaves , and ; bare in X- values; readers take them as they are. */
        assert_non_null(strstr(flat, "\r\nX-WR-CALDESC:Staff qualifications, and SEND commitments; "
                                     "kept by the SENCO.\r\n"));
        assert_non_null(strstr(flat, "\\nDue: by end of March 2019\\nStatus: dropped\\n"));
        cal = parse(s);
        e = event_by_uid(cal, "commitment/send-review@test.example");
        assert_string_equal(
            icalcomponent_get_summary(e),
            "Publish the SEND review: funding, workforce; training (by end of March 2019)");
        assert_string_equal(icalcomponent_get_description(e),
                            "Owner: Department for Education\n"
                            "Due: by end of March 2019\n"
                            "Status: dropped\n"
                            "The commitment gives only a month; shown on its last day.\n"
                            "\n"
                            "Promised in the 2019 response.\nDropped in 2022.");
        icalcomponent_free(cal);
}

static void test_determinism(void **state)
{
        const struct fixture *f = *state;
        _cleanup_free_ char *a = render(f, f->all, NULL, NULL);
        _cleanup_free_ char *b = render(f, f->all, NULL, NULL);

        assert_string_equal(a, b);
}

static void test_selection(void **state)
{
        const struct fixture *f = *state;
        _cleanup_free_ char *s = render(f, f->commitments, NULL, NULL);
        icalcomponent *cal = parse(s), *e;
        int n = 0;

        for (e = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT); e;
             e = icalcomponent_get_next_component(cal, ICAL_VEVENT_COMPONENT), n++)
                assert_true(str_has_prefix(icalcomponent_get_uid(e), "commitment/"));
        assert_int_equal(n, 2);
        assert_null(strstr(s, "BEGIN:VALARM"));
        assert_non_null(strstr(s, "\r\nX-WR-CALNAME:SEND workforce commitments (England)\r\n"));
        icalcomponent_free(cal);
}

static void test_selection_person(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *s = NULL;
        icalcomponent *cal, *e;

        /* tm_feed may move the feeds array: drop the fixture's pointers into it. */
        tm_feed(f->m, "tom", "Tom", "person:tom-brown org:oakfield-primary");
        f->all = f->commitments = NULL;
        f->m->feeds[2].title = NULL;
        s = render(f, &f->m->feeds[2], NULL, NULL);
        cal = parse(s);
        assert_int_equal(icalcomponent_count_components(cal, ICAL_VEVENT_COMPONENT), 2);
        e = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT);
        assert_string_equal(icalcomponent_get_uid(e), "rule/senco-npq/jane-smith@test.example");
        e = icalcomponent_get_next_component(cal, ICAL_VEVENT_COMPONENT);
        assert_string_equal(icalcomponent_get_uid(e), "rule/senco-npq/tom-brown@test.example");
        /* A feed with no title is named after itself. */
        assert_non_null(strstr(s, "\r\nNAME:tom\r\n"));
        icalcomponent_free(cal);
}

static void test_calendar_props(void **state)
{
        const struct fixture *f = *state;
        _cleanup_free_ char *s = render(f, f->commitments, NULL, NULL);

        assert_true(str_has_prefix(s, "BEGIN:VCALENDAR\r\n"
                                      "PRODID:-//deadlined//deadlined 0.1//EN\r\n"
                                      "VERSION:2.0\r\n"
                                      "CALSCALE:GREGORIAN\r\n"
                                      "METHOD:PUBLISH\r\n"
                                      "NAME:SEND workforce commitments (England)\r\n"
                                      "X-WR-CALNAME:SEND workforce commitments (England)\r\n"
                                      "X-WR-TIMEZONE:UTC\r\n"
                                      "REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n"
                                      "X-PUBLISHED-TTL:PT1H\r\n"
                                      "SOURCE;VALUE=URI:" FEED_URL "\r\n"
                                      "BEGIN:VEVENT\r\n"));
        assert_int_equal(strlen(strstr(s, "END:VCALENDAR\r\n")), strlen("END:VCALENDAR\r\n"));
        assert_null(strstr(s, "\r\nDESCRIPTION:SEND workforce"));
}

struct state_stub {
        int calls;
        int ret;
        char last_uid[128];
        uint64_t last_hash;
};

static int state_cb(void *userdata, const char *uid, uint64_t hash, struct ics_event_state *out)
{
        struct state_stub *st = userdata;

        st->calls++;
        snprintf(st->last_uid, sizeof(st->last_uid), "%s", uid);
        st->last_hash = hash;
        if (st->ret < 0)
                return st->ret;
        out->last_modified = 1780000000; /* 2026-05-28T20:26:40Z */
        out->sequence = 7;
        return 0;
}

static void test_state_callback(void **state)
{
        const struct fixture *f = *state;
        struct state_stub st = {0};
        _cleanup_free_ char *s = render(f, f->commitments, state_cb, &st);
        icalcomponent *cal = parse(s), *e;

        assert_int_equal(st.calls, 2);
        assert_string_equal(st.last_uid, "commitment/send-review@test.example");
        assert_true(st.last_hash == ics_event_hash(f->m, &f->ds.v[1]));
        e = event_by_uid(cal, "commitment/send-review@test.example");
        assert_int_equal(icalcomponent_get_sequence(e), 7);
        assert_string_equal(icaltime_as_ical_string(icalcomponent_get_dtstamp(e)),
                            "20260528T202640Z");
        assert_non_null(strstr(s, "\r\nLAST-MODIFIED:20260528T202640Z\r\nSEQUENCE:7\r\n"));
        icalcomponent_free(cal);
}

static void test_state_fallback_and_error(void **state)
{
        const struct fixture *f = *state;
        struct state_stub st = {.ret = -ENOENT};
        struct ics_opts o = {.feed = f->all, .state = state_cb, .state_userdata = &st};
        _cleanup_free_ char *plain = render(f, f->all, NULL, NULL);
        _cleanup_free_ char *fallback = render(f, f->all, state_cb, &st);
        struct strbuf sb = {0};

        assert_string_equal(plain, fallback);
        st.ret = -EIO;
        sb_puts(&sb, "kept");
        assert_int_equal(ics_render_feed(f->m, &f->ds, &o, &sb), -EIO);
        assert_string_equal(sb.buf, "kept");
        sb_free(&sb);
}

static void test_hash(void **state)
{
        struct fixture *f = *state;
        const struct deadline *jane = &f->ds.v[2];
        uint64_t h = ics_event_hash(f->m, jane);
        const char *name = f->m->people[0].name;

        assert_true(h == ics_event_hash(f->m, jane));
        assert_true(h != ics_event_hash(f->m, &f->ds.v[4]));
        f->m->people[0].name = "Jane Smith-Jones";
        assert_true(h != ics_event_hash(f->m, jane));
        f->m->people[0].name = name;
        /* The mtime feeds DTSTAMP only, never the content hash. */
        f->m->mtime += 3600;
        assert_true(h == ics_event_hash(f->m, jane));
        f->m->mtime -= 3600;
        f->ds.v[2].status = ST_MET;
        assert_true(h != ics_event_hash(f->m, jane));
        f->ds.v[2].status = ST_UPCOMING;
}

static void test_render_list(void **state)
{
        const struct fixture *f = *state;
        const struct deadline *list[] = {&f->ds.v[4], &f->ds.v[0]};
        struct ics_opts o = {0};
        struct strbuf sb = {0};
        icalcomponent *cal, *e;

        assert_int_equal(ics_render_list(f->m, list, ELEMENTSOF(list), &o, &sb), 0);
        assert_non_null(strstr(sb.buf, "\r\nX-WR-CALNAME:deadlined reminder\r\n"));
        assert_null(strstr(sb.buf, "SOURCE"));
        assert_well_formed_lines(sb.buf);
        cal = parse(sb.buf);
        assert_int_equal(icalcomponent_count_components(cal, ICAL_VEVENT_COMPONENT), 2);
        e = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT);
        assert_string_equal(icalcomponent_get_uid(e), "rule/senco-npq/tom-brown@test.example");
        e = icalcomponent_get_next_component(cal, ICAL_VEVENT_COMPONENT);
        assert_string_equal(icalcomponent_get_uid(e),
                            "commitment/ect-entitlement-review@test.example");
        icalcomponent_free(cal);
        sb_free(&sb);
}

static void test_empty_feed(void **state)
{
        const struct fixture *f = *state;
        struct deadlines none = {0};
        struct ics_opts o = {.feed = f->all};
        struct strbuf sb = {0};
        icalcomponent *cal;

        assert_int_equal(ics_render_feed(f->m, &none, &o, &sb), 0);
        assert_null(strstr(sb.buf, "VEVENT"));
        cal = parse(sb.buf);
        assert_int_equal(icalcomponent_count_components(cal, ICAL_ANY_COMPONENT), 0);
        icalcomponent_free(cal);
        sb_free(&sb);
}

/* The n-th VEVENT block of s (CRLF-terminated), malloc'ed. */
static char *vevent_at(const char *s, size_t n)
{
        const char *p = s;

        for (size_t i = 0;; i++) {
                p = strstr(p, "BEGIN:VEVENT\r\n");
                assert_non_null(p);
                const char *end = strstr(p, "END:VEVENT\r\n");
                assert_non_null(end);
                end += strlen("END:VEVENT\r\n");
                if (i == n)
                        return xstrndup(p, (size_t)(end - p));
                p = end;
        }
}

/* 40 distinct LAST-MODIFIED values, a function of the UID: more than the
 * renderer's 16 memo slots, so memoised lines must survive slot collisions. */
static int spread_state(void *userdata, const char *uid, uint64_t hash, struct ics_event_state *out)
{
        out->last_modified = 1767225600 + (int64_t)(hash64(uid, strlen(uid)) % 40) * 86400;
        out->sequence = (uint32_t)(hash64(uid, strlen(uid)) % 3);
        return 0;
}

/* Above 64 events the renderer reuses serialised lines whose values repeat.
 * Every event of a big feed must still equal that event rendered alone. */
static void test_large_feed_matches_single_events(void **state)
{
        struct fixture *f = *state;
        static const char *const days[] = {"2026-01-15", "2027-02-28", "2026-09-01", "2027-03-31"};
        struct ics_opts o = {.feed = f->all, .feed_url = FEED_URL, .state = spread_state};

        /* 5 deadlines from setup, then 95 more mixing repeated and distinct days. */
        for (int i = 0; i < 95; i++) {
                uint8_t kind = i % 3 == 0 ? DL_COMMITMENT : DL_RULE;
                uint32_t src = kind == DL_COMMITMENT ? (uint32_t)(i % 2) : 0;
                uint32_t person = kind == DL_RULE ? (uint32_t)(i % 3) : IDX_NONE;
                char due[16];
                if (i % 4 == 3)
                        snprintf(due, sizeof(due), "2026-%02d-%02d", 1 + i % 12, 1 + i % 28);
                else
                        snprintf(due, sizeof(due), "%s", days[i % 4]);
                push(&f->ds, kind, src, person, due, i % 5 == 0 ? ST_OVERDUE : ST_UPCOMING, NULL);
        }
        assert_int_equal(f->ds.n, 100);
        _cleanup_free_ char *all = render(f, f->all, spread_state, NULL);
        for (size_t i = 0; i < f->ds.n; i++) {
                const struct deadline *one = &f->ds.v[i];
                struct strbuf sb = {0};
                assert_int_equal(ics_render_list(f->m, &one, 1, &o, &sb), 0);
                _cleanup_free_ char *want = vevent_at(sb.buf, 0);
                _cleanup_free_ char *got = vevent_at(all, i);
                if (strcmp(want, got) != 0)
                        fail_msg("event %zu differs:\n--- alone\n%s--- in the feed\n%s", i, want, got);
                sb_free(&sb);
        }
}

/* Render f->all with o's reuse and state; record spans into sp (may be NULL). */
static char *render_reusing(const struct fixture *f, const char *url, const struct ics_reuse *ru,
                            ics_state_fn fn, struct ics_spans *sp)
{
        struct state_stub stub = {0};
        struct ics_opts o = {.feed = f->all,
                             .feed_url = url,
                             .state = fn,
                             .state_userdata = &stub,
                             .reuse = ru,
                             .spans = sp};
        struct strbuf sb = {0};

        assert_int_equal(ics_render_feed(f->m, &f->ds, &o, &sb), 0);
        return sb_steal(&sb);
}

static void test_reuse(void **state)
{
        const struct fixture *f = *state;
        struct ics_spans sp = {0}, sp2 = {0}, other = {0};
        _cleanup_free_ char *plain = render(f, f->all, NULL, NULL);
        _cleanup_free_ char *a = render_reusing(f, FEED_URL, NULL, NULL, &sp);

        /* Recording spans changes nothing; each span is one whole VEVENT. */
        assert_string_equal(a, plain);
        assert_int_equal(sp.n, f->ds.n);
        for (size_t i = 0; i < sp.n; i++) {
                assert_memory_equal(a + sp.v[i].off, "BEGIN:VEVENT\r\n", 14);
                assert_memory_equal(a + sp.v[i].off + sp.v[i].len - 12, "END:VEVENT\r\n", 12);
        }
        /* The same input again: identical bytes, and the spans agree. */
        struct ics_reuse ru = {.spans = &sp, .body = a, .len = strlen(a)};
        _cleanup_free_ char *b = render_reusing(f, FEED_URL, &ru, NULL, &sp2);
        assert_string_equal(b, a);
        assert_memory_equal(sp2.v, sp.v, sp.n * sizeof(*sp.v));

        /* Proof that bytes are copied: mark the old first event's SUMMARY. */
        _cleanup_free_ char *marked = xstrdup(a);
        char *summary = strstr(marked + sp.v[0].off, "\r\nSUMMARY:");
        assert_non_null(summary);
        summary[8] = 'X'; /* SUMMARX: */
        ru.body = marked;
        _cleanup_free_ char *c = render_reusing(f, FEED_URL, &ru, NULL, NULL);
        assert_non_null(strstr(c, "\r\nSUMMARX:"));

        /* Another state (SEQUENCE 7), another feed URL: serialised afresh. */
        _cleanup_free_ char *d = render_reusing(f, FEED_URL, &ru, state_cb, NULL);
        assert_null(strstr(d, "SUMMARX"));
        assert_non_null(strstr(d, "\r\nSEQUENCE:7\r\n"));
        _cleanup_free_ char *e = render_reusing(f, "https://elsewhere.example/x.ics", NULL, NULL,
                                                &other);
        assert_true(other.sig != sp.sig);
        ru.spans = &other;
        _cleanup_free_ char *g = render_reusing(f, FEED_URL, &ru, NULL, NULL);
        assert_string_equal(g, a);

        /* Damaged old bytes or spans past the end are never copied. */
        ru.spans = &sp;
        marked[sp.v[0].off] = 'X';
        sp.v[1].len = (uint32_t)strlen(a);
        sp.v[2].off = UINT64_MAX - 4;
        _cleanup_free_ char *h = render_reusing(f, FEED_URL, &ru, NULL, NULL);
        assert_null(strstr(h, "SUMMARX"));
        assert_string_equal(h, a);
        ics_spans_free(&sp);
        ics_spans_free(&sp2);
        ics_spans_free(&other);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_golden, setup, teardown),
            cmocka_unit_test_setup_teardown(test_parse_events, setup, teardown),
            cmocka_unit_test_setup_teardown(test_alarms, setup, teardown),
            cmocka_unit_test_setup_teardown(test_lines_and_folding, setup, teardown),
            cmocka_unit_test_setup_teardown(test_escaping, setup, teardown),
            cmocka_unit_test_setup_teardown(test_determinism, setup, teardown),
            cmocka_unit_test_setup_teardown(test_selection, setup, teardown),
            cmocka_unit_test_setup_teardown(test_selection_person, setup, teardown),
            cmocka_unit_test_setup_teardown(test_calendar_props, setup, teardown),
            cmocka_unit_test_setup_teardown(test_state_callback, setup, teardown),
            cmocka_unit_test_setup_teardown(test_state_fallback_and_error, setup, teardown),
            cmocka_unit_test_setup_teardown(test_hash, setup, teardown),
            cmocka_unit_test_setup_teardown(test_render_list, setup, teardown),
            cmocka_unit_test_setup_teardown(test_empty_feed, setup, teardown),
            cmocka_unit_test_setup_teardown(test_large_feed_matches_single_events, setup, teardown),
            cmocka_unit_test_setup_teardown(test_reuse, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

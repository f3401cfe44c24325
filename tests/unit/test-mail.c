/* test-mail.c: message composition, header encoding, address checks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "deadlined/deliver/mail.h"
#include "testmodel.h"

static int64_t at(const char *s, const struct tz *tz)
{
        int64_t t = 0;

        assert_int_equal(time_parse_instant(s, tz, &t), 0);
        return t;
}

static void test_addresses(void **state)
{
        char *name = NULL, *addr = NULL;

        assert_int_equal(mail_check_address("jane.smith@oakfield.example"), 0);
        assert_int_equal(mail_check_address("jos\xc3\xa9@example.org"), 0);
        assert_int_equal(mail_check_address("jane@example.org\r\nRCPT TO:<x@y>"), -EINVAL);
        assert_int_equal(mail_check_address("jane@example.org>"), -EINVAL);
        assert_int_equal(mail_check_address("<jane@example.org"), -EINVAL);
        assert_int_equal(mail_check_address("jane smith@example.org"), -EINVAL);
        assert_int_equal(mail_check_address("jane"), -EINVAL);
        assert_int_equal(mail_check_address("a@b@c"), -EINVAL);
        assert_int_equal(mail_check_address("@example.org"), -EINVAL);
        assert_int_equal(mail_check_address(""), -EINVAL);
        assert_int_equal(mail_check_address("bad\xff@example.org"), -EINVAL);

        assert_int_equal(mail_parse_from("SEND deadlines <deadlines@example.org>", &name, &addr),
                         0);
        assert_string_equal(name, "SEND deadlines");
        assert_string_equal(addr, "deadlines@example.org");
        free(name);
        free(addr);
        assert_int_equal(mail_parse_from("\"Quoted\" <q@example.org>", &name, &addr), 0);
        assert_string_equal(name, "Quoted");
        free(name);
        free(addr);
        assert_int_equal(mail_parse_from("plain@example.org", &name, &addr), 0);
        assert_null(name);
        assert_string_equal(addr, "plain@example.org");
        free(addr);
        assert_int_equal(mail_parse_from("X\r\nBcc: a@b <d@example.org>", &name, &addr), -EINVAL);
        assert_int_equal(mail_parse_from("X <d@example.org> trailing", &name, &addr), -EINVAL);
}

static void test_encode_header(void **state)
{
        struct strbuf sb = {0};

        assert_int_equal(mail_encode_header("Plain ASCII", &sb), 0);
        assert_string_equal(sb.buf, "Plain ASCII");
        sb_reset(&sb);
        assert_int_equal(mail_encode_header("Caf\xc3\xa9", &sb), 0);
        assert_string_equal(sb.buf, "=?UTF-8?B?Q2Fmw6k=?=");
        sb_reset(&sb);
        /* 44 ASCII + a 2-byte char: the char is not split across words. */
        assert_int_equal(mail_encode_header("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9z",
                                            &sb),
                         0);
        assert_string_equal(sb.buf, "=?UTF-8?B?YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=?=\r\n"
                                    " =?UTF-8?B?w6l6?=");
        sb_reset(&sb);
        assert_int_equal(mail_encode_header("Subject\r\nBcc: x@y", &sb), -EINVAL);
        assert_int_equal(mail_encode_header("tab\there", &sb), -EINVAL);
        sb_free(&sb);
}

static void test_date(void **state)
{
        struct tz *london = tm_load_tz("Europe/London");
        char buf[48];

        assert_string_equal(mail_date(london, at("2026-06-15T09:00", london), buf, sizeof(buf)),
                            "Mon, 15 Jun 2026 09:00:00 +0100");
        assert_string_equal(mail_date(london, at("2027-02-01T09:00", london), buf, sizeof(buf)),
                            "Mon, 1 Feb 2027 09:00:00 +0000");
        assert_string_equal(mail_date(tz_utc(), 0, buf, sizeof(buf)),
                            "Thu, 1 Jan 1970 00:00:00 +0000");
        tz_free(london);
}

static struct model *school(struct deadlines *ds, const char *today)
{
        struct model *m = tm_new();
        struct rule *r = tm_rule(m, "senco-npq", "SENCO NPQ", "senco", "appointed", "3y");
        struct commitment *c;
        uint32_t p;

        r->source = "https://www.legislation.gov.uk/uksi/2014/1530";
        tm_remind(&r->remind, "1m", "1w");
        p = tm_person(m, "jane", "Jane Sm\xc3\xadth", "jane@example.org", "senco", NULL, IDX_NONE);
        tm_set_date(m, p, "appointed", "2024-02-29");
        c = tm_commitment(m, "ect-review", "Full review of the ECT Entitlement", "2027",
                          CST_OPEN);
        c->owner = "Department for Education";
        assert_int_equal(deadline_derive(m, tm_day(today), ds, NULL), 0);
        assert_int_equal(ds->n, 2);
        return m;
}

/* Decode the quoted-printable text part far enough to search it. */
static char *qp_decode(const char *s)
{
        struct strbuf sb = {0};

        for (; *s; s++) {
                if (s[0] == '=' && s[1] == '\r' && s[2] == '\n') {
                        s += 2;
                } else if (s[0] == '=' && s[1] && s[2]) {
                        char hex[3] = {s[1], s[2], 0};
                        sb_putc(&sb, (char)strtol(hex, NULL, 16));
                        s += 2;
                } else if (*s != '\r') {
                        sb_putc(&sb, *s);
                }
        }
        return sb_steal(&sb);
}

static void test_compose(void **state)
{
        struct deadlines ds = {0};
        struct model *m = school(&ds, "2027-01-28");
        struct mail_entry e[2] = {{.d = &ds.v[1]}, {.d = &ds.v[0]}};
        struct strbuf sb = {0};
        int64_t now = at("2027-01-28T09:00Z", tz_utc());

        assert_int_equal(mail_compose(m, "SEND deadlines <deadlines@example.org>",
                                      "jane@example.org", e, 2, now, "<abc@test.example>", &sb),
                         0);
        /* Bare LF never appears: CRLF everywhere. */
        for (size_t i = 0; i < sb.len; i++)
                if (sb.buf[i] == '\n')
                        assert_int_equal(sb.buf[i - 1], '\r');
        assert_non_null(strstr(sb.buf, "Date: Thu, 28 Jan 2027 09:00:00 +0000\r\n"
                                       "From: \"SEND deadlines\" <deadlines@example.org>\r\n"
                                       "To: <jane@example.org>\r\n"
                                       "Subject: =?UTF-8?B?"));
        assert_non_null(strstr(sb.buf, "\r\nMessage-ID: <abc@test.example>\r\nMIME-Version: 1.0\r\n"));
        assert_non_null(strstr(sb.buf, "Content-Type: multipart/mixed; "
                                       "boundary=\"=_deadlined_abctestexample\"\r\n"));
        assert_non_null(strstr(sb.buf, "\r\n--=_deadlined_abctestexample--\r\n"));
        assert_non_null(strstr(sb.buf, "Content-Type: text/calendar; charset=UTF-8; method=PUBLISH"));
        assert_non_null(strstr(sb.buf, "Content-Transfer-Encoding: quoted-printable"));
        char *text = qp_decode(strstr(sb.buf, "quoted-printable\r\n\r\n"));
        assert_non_null(strstr(text, "1. SENCO NPQ for Jane Sm\xc3\xadth\n   Due: 28 February 2027 "
                                     "(in 31 days)\n   Who: Jane Sm\xc3\xadth\n   Status: upcoming\n"
                                     "   Rule: senco-npq\n"
                                     "   Source: https://www.legislation.gov.uk/uksi/2014/1530\n"));
        assert_non_null(strstr(text, "2. Full review of the ECT Entitlement\n   Due: in 2027 (in "
                                     "337 days)\n   Owner: Department for Education\n"));
        assert_non_null(strstr(text, "Calendar feeds: http://127.0.0.1:8025\n"));
        free(text);
        sb_free(&sb);

        char *subject = mail_subject(m, e, 2);
        assert_string_equal(subject,
                            "Reminder: 2 deadlines (next: SENCO NPQ for Jane Sm\xc3\xadth, 28 February 2027)");
        free(subject);
        subject = mail_subject(m, e + 1, 1);
        assert_string_equal(subject, "Reminder: 1 deadline (next: Full review of the ECT Entitlement, in 2027)");
        free(subject);
        deadlines_free(&ds);
        tm_free(m);
}

static void test_compose_rejects_injection(void **state)
{
        struct deadlines ds = {0};
        struct model *m = school(&ds, "2027-01-28");
        struct mail_entry e = {.d = &ds.v[0]};
        struct strbuf sb = {0};

        assert_int_equal(mail_compose(m, NULL, "jane@example.org\r\nBcc: x@y", &e, 1, 0, "<a@b>",
                                      &sb),
                         -EINVAL);
        assert_int_equal(sb.len, 0);
        assert_int_equal(mail_compose(m, "Evil\n <x@y.z>", "jane@example.org", &e, 1, 0, "<a@b>",
                                      &sb),
                         -EINVAL);
        /* NULL from: deadlined@uid_domain. */
        assert_int_equal(mail_compose(m, NULL, "jane@example.org", &e, 1, 0, "<a@b>", &sb), 0);
        assert_non_null(strstr(sb.buf, "From: \"deadlined\" <deadlined@test.example>\r\n"));
        sb_free(&sb);
        deadlines_free(&ds);
        tm_free(m);
}

static void test_easy_refuses_plaintext_remote(void **state)
{
        struct smtp s = {.present = true, .url = "smtp://mail.example.org:25", .tls = TLS_NONE,
                         .from = "d@example.org"};
        struct mail_upload *up = NULL;
        CURL *c = NULL;

        assert_int_equal(mail_easy_new(&s, "jane@example.org", NULL, 0, 30, &up, &c), -EPERM);
        s.url = "smtp://localhost.evil.example:25";
        assert_int_equal(mail_easy_new(&s, "jane@example.org", NULL, 0, 30, &up, &c), -EPERM);
        s.url = "smtp://127.0.0.1:2525";
        assert_int_equal(mail_easy_new(&s, "bad\naddr@x", NULL, 0, 30, &up, &c), -EINVAL);
        assert_int_equal(mail_easy_new(&s, "jane@example.org", xstrdup("x"), 1, 30, &up, &c), 0);
        mail_upload_free(up);
        curl_easy_cleanup(c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_addresses),
                cmocka_unit_test(test_encode_header),
                cmocka_unit_test(test_date),
                cmocka_unit_test(test_compose),
                cmocka_unit_test(test_compose_rejects_injection),
                cmocka_unit_test(test_easy_refuses_plaintext_remote),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

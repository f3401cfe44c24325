/* test-ini.c: the INI pre-scan. Each case asserts the exact diagnostics,
 * rendered as "LINE: message" lines, and the recorded line numbers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "deadlined/config/ini.h"

/* Scan text; return the diagnostics as "LINE: msg\n" lines (caller frees). */
static char *scan(const char *text, size_t len, struct ini_scan *s, int *ret)
{
        struct diags d = {0};
        struct strbuf out = {0};

        *s = (struct ini_scan){0};
        *ret = ini_prescan("t.conf", text, len, s, &d);
        sb_puts(&out, "");
        for (size_t i = 0; i < d.n; i++) {
                assert_string_equal(d.v[i].file, "t.conf");
                assert_int_equal(d.v[i].sev, DIAG_ERROR);
                sb_appendf(&out, "%d: %s\n", d.v[i].line, d.v[i].msg);
        }
        diag_free(&d);
        return sb_steal(&out);
}

static void expect(const char *text, const char *diags)
{
        struct ini_scan s;
        int r;
        char *got = scan(text, strlen(text), &s, &r);

        assert_string_equal(got, diags);
        assert_int_equal(r, diags[0] ? -EINVAL : 0);
        free(got);
        ini_scan_free(&s);
}

static void test_clean_file_records_lines(void **state)
{
        const char *text = "; a comment\n"
                           "# another\n"
                           "\n"
                           "[deadlined]\n"
                           "timezone = Europe/London ; zone\n"
                           "  Send_At=09:00\n"
                           "[Rule SENCO-npq]\n"
                           "title = \"SENCO; NPQ # 1\"\n"
                           "empty =\n"
                           "[feed commitments]\n";
        struct ini_scan s;
        int r;
        char *got = scan(text, strlen(text), &s, &r);

        assert_string_equal(got, "");
        assert_int_equal(r, 0);
        assert_int_equal(ini_line(&s, "deadlined", NULL), 4);
        assert_int_equal(ini_line(&s, "deadlined", "timezone"), 5);
        assert_int_equal(ini_line(&s, "DEADLINED", "send_at"), 6);
        assert_int_equal(ini_line(&s, "deadlined", "SEND_AT"), 6);
        assert_int_equal(ini_line(&s, "rule senco-npq", NULL), 7);
        assert_int_equal(ini_line(&s, "Rule Senco-NPQ", "title"), 8);
        assert_int_equal(ini_line(&s, "rule senco-npq", "empty"), 9);
        assert_int_equal(ini_line(&s, "feed commitments", NULL), 10);
        assert_int_equal(ini_line(&s, "feed commitments", "title"), 0);
        assert_int_equal(ini_line(&s, "nosuch", NULL), 0);
        assert_int_equal(ini_line(&s, "deadlined", "nosuch"), 0);
        assert_int_equal(s.nsections, 3);
        assert_string_equal(s.sections[0], "deadlined");
        assert_string_equal(s.sections[1], "rule senco-npq");
        assert_string_equal(s.sections[2], "feed commitments");
        assert_int_equal(s.section_lines[0], 4);
        assert_int_equal(s.section_lines[1], 7);
        assert_int_equal(s.section_lines[2], 10);
        free(got);
        ini_scan_free(&s);
        assert_null(s.sections);
}

static void test_empty_file(void **state)
{
        struct ini_scan s;
        int r;
        char *got = scan("", 0, &s, &r);

        assert_string_equal(got, "");
        assert_int_equal(r, 0);
        assert_int_equal(s.nsections, 0);
        assert_int_equal(ini_line(&s, "x", NULL), 0);
        free(got);
        ini_scan_free(&s);
}

static void test_crlf_and_no_final_newline(void **state)
{
        struct ini_scan s;
        int r;
        const char *text = "[a]\r\nk = v\r\n\r\n[b]\r\nj = \"x\"";
        char *got = scan(text, strlen(text), &s, &r);

        assert_string_equal(got, "");
        assert_int_equal(r, 0);
        assert_int_equal(ini_line(&s, "a", "k"), 2);
        assert_int_equal(ini_line(&s, "b", NULL), 4);
        assert_int_equal(ini_line(&s, "b", "j"), 5);
        free(got);
        ini_scan_free(&s);
}

static void test_duplicates(void **state)
{
        expect("[rule x]\n"
               "a = 1\n"
               "A = 2\n"
               "[other]\n"
               "a = 3\n"
               "[Rule X]\n"
               "b = 4\n"
               "a = 5\n",
               "3: duplicate key 'a' in [rule x] (first at line 2)\n"
               "6: duplicate section [rule x] (first at line 1)\n"
               "8: duplicate key 'a' in [rule x] (first at line 2)\n");
}

static void test_duplicate_section_merges_keys(void **state)
{
        struct ini_scan s;
        int r;
        const char *text = "[s]\na=1\n[t]\n[S]\nb=2\n";
        char *got = scan(text, strlen(text), &s, &r);

        assert_string_equal(got, "4: duplicate section [s] (first at line 1)\n");
        assert_int_equal(s.nsections, 2);
        assert_int_equal(ini_line(&s, "s", "b"), 5);
        assert_int_equal(ini_line(&s, "s", NULL), 1);
        free(got);
        ini_scan_free(&s);
}

static void test_syntax_errors(void **state)
{
        expect("[s]\n"
               "just words\n"
               "[rule:senco]\n"
               "[unterminated\n"
               "= 3\n"
               "   =\n"
               "k = \"abc\n"
               "q = 'abc\n"
               "ok = \"\"\n"
               "[]\n"
               "[feed x]   ; comment\n",
               "2: expected '[section]', 'key = value' or a comment\n"
               "3: section name [rule:senco] contains ':'; use a space, e.g. [rule senco-npq]\n"
               "4: unterminated section header\n"
               "5: empty key name\n"
               "6: empty key name\n"
               "7: unterminated quoted value\n"
               "8: unterminated quoted value\n"
               "10: empty section name\n"
               "11: text after ']' in section header; put comments on their own line\n");
}

static void test_key_outside_section(void **state)
{
        expect("x = 1\n[s]\ny = 2\n", "1: key 'x' outside any section\n");
}

static void test_bytes(void **state)
{
        const char text[] = "[s]\n"
                            "a = caf\xc3\xa9\n"  /* valid UTF-8 */
                            "b = caf\xe9\n"      /* Latin-1 */
                            "c = x\x01y\n"       /* SOH */
                            "d = x\x7fy\n"       /* DEL */
                            "e = x\0y\n"         /* NUL */
                            "f = \xed\xa0\x80\n" /* surrogate */
                            "g = a\rb\n"         /* lone CR */
                            "h = \xc0\xaf\n"     /* overlong */
                            "i = tab\there\n";
        struct ini_scan s;
        int r;
        char *got = scan(text, sizeof(text) - 1, &s, &r);

        assert_string_equal(got, "3: invalid UTF-8\n"
                                 "4: control character 0x01\n"
                                 "5: control character 0x7f\n"
                                 "6: NUL byte\n"
                                 "7: invalid UTF-8\n"
                                 "8: control character 0x0d\n"
                                 "9: invalid UTF-8\n");
        assert_int_equal(r, -EINVAL);
        /* structure is still recorded on lines with bad bytes */
        assert_int_equal(ini_line(&s, "s", "f"), 7);
        assert_int_equal(ini_line(&s, "s", "i"), 10);
        free(got);
        ini_scan_free(&s);
}

static void test_bom(void **state)
{
        struct ini_scan s;
        int r;
        const char *text = "\xef\xbb\xbf[s]\nk = v\n";
        char *got = scan(text, strlen(text), &s, &r);

        assert_string_equal(got, "1: UTF-8 byte order mark at start of file; save the file as "
                                 "UTF-8 without BOM\n");
        assert_int_equal(r, -EINVAL);
        assert_int_equal(ini_line(&s, "s", NULL), 1);
        assert_int_equal(ini_line(&s, "s", "k"), 2);
        free(got);
        ini_scan_free(&s);
}

/* A line of exactly n bytes: "k=" then 'a's, then term. */
static char *long_line(size_t n, const char *term)
{
        struct strbuf sb = {0};

        sb_puts(&sb, "[s]\nk=");
        for (size_t i = 2; i < n; i++)
                sb_putc(&sb, 'a');
        sb_puts(&sb, term);
        sb_puts(&sb, "j=1\n");
        return sb_steal(&sb);
}

static void test_line_length(void **state)
{
        /* iniparser 4.1 loads 1022 bytes and fails on 1023 (checked against the library) */
        char *ok = long_line(1022, "\n");
        char *bad = long_line(1023, "\n");
        char *bad_crlf = long_line(1022, "\r\n"); /* the CR is a byte iniparser keeps */
        char *huge = long_line(5000, "\n");

        expect(ok, "");
        expect(bad, "2: line is 1023 bytes long; the limit is 1022\n");
        expect(bad_crlf, "2: line is 1023 bytes long; the limit is 1022\n");
        expect(huge, "2: line is 5000 bytes long; the limit is 1022\n");
        free(ok);
        free(bad);
        free(bad_crlf);
        free(huge);
}

static void test_continuation(void **state)
{
        struct ini_scan s;
        int r;
        /* iniparser joins a line ending in '\' with the next one */
        const char *text = "[s]\nk = a \\\n  b\nj = 2\n; note \\\nnot a key\nm = 3\n";
        char *got = scan(text, strlen(text), &s, &r);

        assert_string_equal(got, "");
        assert_int_equal(ini_line(&s, "s", "k"), 2);
        assert_int_equal(ini_line(&s, "s", "j"), 4);
        assert_int_equal(ini_line(&s, "s", "m"), 7);
        free(got);
        ini_scan_free(&s);
}

static void test_continues_after_errors(void **state)
{
        /* every problem in the file is reported, not just the first */
        expect("[a]\nx\n[a]\ny\n[b]\nk=1\nk=2\n",
               "2: expected '[section]', 'key = value' or a comment\n"
               "3: duplicate section [a] (first at line 1)\n"
               "4: expected '[section]', 'key = value' or a comment\n"
               "7: duplicate key 'k' in [b] (first at line 6)\n");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_clean_file_records_lines),
            cmocka_unit_test(test_empty_file),
            cmocka_unit_test(test_crlf_and_no_final_newline),
            cmocka_unit_test(test_duplicates),
            cmocka_unit_test(test_duplicate_section_merges_keys),
            cmocka_unit_test(test_syntax_errors),
            cmocka_unit_test(test_key_outside_section),
            cmocka_unit_test(test_bytes),
            cmocka_unit_test(test_bom),
            cmocka_unit_test(test_line_length),
            cmocka_unit_test(test_continuation),
            cmocka_unit_test(test_continues_after_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

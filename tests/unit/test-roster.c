/* test-roster.c: the streaming CSV roster parser. Rows are rendered as
 * "LINE: a|b|c" ("LINE H: ..." for the header) and diagnostics as
 * "LINE: message", and compared exactly. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "deadlined/config/roster.h"
#include "deadlined/base/util.h"

struct collect {
        struct strbuf rows;
        int stop_after; /* return -ECANCELED after this many rows (0 = never) */
        int seen;
};

static int on_row(const struct roster_row *row, void *userdata)
{
        struct collect *c = userdata;

        sb_appendf(&c->rows, "%ld%s:", row->line, row->header ? " H" : "");
        for (size_t i = 0; i < row->n; i++) {
                assert_int_equal(strlen(row->fields[i]), row->lens[i]);
                sb_appendf(&c->rows, "%s%s", i ? "|" : " ", row->fields[i]);
        }
        sb_putc(&c->rows, '\n');
        if (c->stop_after && ++c->seen == c->stop_after)
                return -ECANCELED;
        return 0;
}

struct result {
        char *rows, *diags;
        int feed_ret, finish_ret;
};

static void result_free(struct result *r)
{
        free(r->rows);
        free(r->diags);
}

/* Parse len bytes of text fed in chunks of `chunk` bytes (0 = all at once). */
static struct result parse(const char *text, size_t len, size_t chunk, int stop_after)
{
        struct collect c = {.stop_after = stop_after};
        struct diags d = {0};
        struct strbuf out = {0};
        struct result res = {0};
        struct roster_parser *p = roster_new("r.csv", on_row, &c, &d);

        sb_puts(&c.rows, "");
        for (size_t pos = 0; pos < len && res.feed_ret == 0;) {
                size_t n = chunk && len - pos > chunk ? chunk : len - pos;
                res.feed_ret = roster_feed(p, text + pos, n);
                pos += n;
        }
        res.finish_ret = roster_finish(p);
        roster_free(p);
        sb_puts(&out, "");
        for (size_t i = 0; i < d.n; i++) {
                assert_string_equal(d.v[i].file, "r.csv");
                sb_appendf(&out, "%d: %s\n", d.v[i].line, d.v[i].msg);
        }
        diag_free(&d);
        res.rows = sb_steal(&c.rows);
        res.diags = sb_steal(&out);
        return res;
}

/* Every chunk size from 1 to 17 and all-at-once must give the same result. */
static void expect_n(const char *text, size_t len, const char *rows, const char *diags)
{
        for (size_t chunk = 0; chunk <= 17; chunk++) {
                struct result r = parse(text, len, chunk, 0);
                assert_string_equal(r.rows, rows);
                assert_string_equal(r.diags, diags);
                assert_int_equal(r.feed_ret, 0);
                assert_int_equal(r.finish_ret, diags[0] ? -EINVAL : 0);
                result_free(&r);
        }
}

static void expect(const char *text, const char *rows, const char *diags)
{
        expect_n(text, strlen(text), rows, diags);
}

static void test_basic(void **state)
{
        expect("id,name,email\n"
               "a1, Jane Smith ,jane@x.example\n"
               "\n"
               "   \n"
               "b2,\tBob\t,bob@x.example\n",
               "1 H: id|name|email\n"
               "2: a1|Jane Smith|jane@x.example\n"
               "5: b2|Bob|bob@x.example\n",
               "");
}

static void test_empty_and_header_only(void **state)
{
        expect("", "", "");
        expect("\n\n", "", "");
        expect("id,name", "1 H: id|name\n", "");
        expect("id,name\n", "1 H: id|name\n", "");
        expect("\n\nid,name\r\n", "3 H: id|name\n", "");
}

static void test_trailing_newline_or_not(void **state)
{
        expect("h1,h2\nx,y", "1 H: h1|h2\n2: x|y\n", "");
        expect("h1,h2\nx,y\n", "1 H: h1|h2\n2: x|y\n", "");
        expect("h1,h2\nx,\n", "1 H: h1|h2\n2: x|\n", "");
        expect("h1,h2\nx,", "1 H: h1|h2\n2: x|\n", "");
}

static void test_crlf(void **state)
{
        expect("id,name\r\n"
               "1,\"A, B\"\r\n"
               "\r\n"
               "2,C\r\n",
               "1 H: id|name\n"
               "2: 1|A, B\n"
               "4: 2|C\n",
               "");
}

static void test_bom(void **state)
{
        /* skipped silently, also when it arrives one byte at a time */
        expect("\xef\xbb\xbfid,name\n1,x\n", "1 H: id|name\n2: 1|x\n", "");
        /* a BOM prefix that is not a BOM is data */
        expect("\xef\xbb", "", "1: invalid UTF-8\n");
        expect("\xef\xbbx\n", "", "1: invalid UTF-8\n");
}

static void test_quotes(void **state)
{
        expect("id,name,note\n"
               "1,\"Smith, Jane\",\"said \"\"hi\"\"\"\n"
               "2,  \"  padded  \"  ,\"\"\n",
               "1 H: id|name|note\n"
               "2: 1|Smith, Jane|said \"hi\"\n"
               "3: 2|padded|\n",
               "");
}

static void test_ragged(void **state)
{
        expect("a,b,c\n"
               "1,2,3\n"
               "1,2\n"
               "\n"
               "1,2,3,4\n"
               "x,y,z\n",
               "1 H: a|b|c\n"
               "2: 1|2|3\n"
               "6: x|y|z\n",
               "3: row has 2 fields; the header has 3\n"
               "5: row has 4 fields; the header has 3\n");
}

static void test_line_break_in_field(void **state)
{
        /* rejected, and later line numbers stay right */
        expect("a,b\n"
               "\"x\ny\",1\n"
               "2,\"p\r\nq\"\n"
               "3,4\n",
               "1 H: a|b\n"
               "6: 3|4\n",
               "2: line break inside a field\n"
               "4: line break inside a field\n");
}

static void test_unterminated_quote(void **state)
{
        expect("a,b\n1,2\n3,\"open\n", "1 H: a|b\n2: 1|2\n",
               "3: unterminated quoted field (opened on line 3)\n");
        expect("a,b\n1,2\n3,\"open", "1 H: a|b\n2: 1|2\n",
               "3: unterminated quoted field (opened on line 3)\n");
        expect("a,b\n\"open\n\nmore\n", "1 H: a|b\n",
               "2: unterminated quoted field (opened on line 2)\n");
}

static void test_malformed(void **state)
{
        /* a stray quote is reported, the rest of the line skipped, parsing resumes */
        expect("a,b\n"
               "x\"y,1\n"
               "\"q\"z,2\n"
               "3,4\n"
               "5,\"6\" \"",
               "1 H: a|b\n"
               "4: 3|4\n",
               "2: malformed CSV: error parsing data while strict checking enabled\n"
               "3: malformed CSV: error parsing data while strict checking enabled\n"
               "5: malformed CSV: error parsing data while strict checking enabled\n");
}

static void test_bytes(void **state)
{
        const char text[] = "a,b\n"
                            "caf\xc3\xa9,ok\n"
                            "caf\xe9,1\n"
                            "x\x01y,1\n"
                            "x,\"nul\0\"\n"
                            "x\x7f,1\n"
                            "\"\xed\xa0\x80\",1\n"
                            "tab\there,1\n";

        expect_n(text, sizeof(text) - 1,
                 "1 H: a|b\n"
                 "2: café|ok\n"
                 "8: tab\there|1\n",
                 "3: invalid UTF-8\n"
                 "4: control character 0x01\n"
                 "5: control character 0x00\n"
                 "6: control character 0x7f\n"
                 "7: invalid UTF-8\n");
}

static void test_limits(void **state)
{
        struct strbuf sb = {0};

        sb_puts(&sb, "a,b\n");
        for (int i = 0; i < 1024; i++)
                sb_putc(&sb, 'x');
        sb_puts(&sb, ",1\n\"");
        for (int i = 0; i < 1025; i++)
                sb_putc(&sb, 'y');
        sb_puts(&sb, "\",2\n");
        for (int i = 0; i < 65; i++)
                sb_puts(&sb, i ? ",f" : "f");
        sb_puts(&sb, "\nz,3\n");

        struct result r = parse(sb.buf, sb.len, 0, 0);
        assert_int_equal(strlen(r.rows), strlen("1 H: a|b\n2: ") + 1024 + strlen("|1\n5: z|3\n"));
        assert_string_equal(r.rows + strlen(r.rows) - 10, "|1\n5: z|3\n");
        assert_string_equal(r.diags, "3: field is 1025 bytes long; the limit is 1024\n"
                                     "4: row has more than 64 fields\n");
        assert_int_equal(r.finish_ret, -EINVAL);
        result_free(&r);
        sb_free(&sb);
}

static void test_runaway_field(void **state)
{
        /* an unterminated quote in a big file stops parsing instead of buffering it all */
        struct strbuf sb = {0};

        sb_puts(&sb, "a,b\n1,\"open\n");
        for (int i = 0; i < 20000; i++)
                sb_puts(&sb, "x,y\n");
        struct result r = parse(sb.buf, sb.len, 4096, 0);
        assert_string_equal(r.rows, "1 H: a|b\n");
        assert_string_equal(r.diags, "2: field is over 65536 bytes long (unterminated quote?); "
                                     "the limit is 1024\n");
        assert_int_equal(r.feed_ret, -EINVAL);
        assert_int_equal(r.finish_ret, -EINVAL);
        result_free(&r);
        sb_free(&sb);
}

static void test_callback_stop(void **state)
{
        const char *text = "h\n1\n2\n3\n4\n";

        for (size_t chunk = 0; chunk <= 5; chunk++) {
                struct result r = parse(text, strlen(text), chunk, 2);
                assert_string_equal(r.rows, "1 H: h\n2: 1\n");
                assert_int_equal(r.feed_ret, -ECANCELED);
                assert_int_equal(r.finish_ret, -ECANCELED);
                result_free(&r);
        }
        /* stop on the last row, which only csv_fini delivers */
        struct result r = parse("h\n1", 3, 0, 2);
        assert_string_equal(r.rows, "1 H: h\n2: 1\n");
        assert_int_equal(r.feed_ret, 0);
        assert_int_equal(r.finish_ret, -ECANCELED);
        result_free(&r);
}

static void test_bad_header_delivers_nothing(void **state)
{
        expect("id,na\x01me\n1,x\n1\n", "",
               "1: control character 0x01\n"
               "3: row has 1 fields; the header has 2\n");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_basic),
            cmocka_unit_test(test_empty_and_header_only),
            cmocka_unit_test(test_trailing_newline_or_not),
            cmocka_unit_test(test_crlf),
            cmocka_unit_test(test_bom),
            cmocka_unit_test(test_quotes),
            cmocka_unit_test(test_ragged),
            cmocka_unit_test(test_line_break_in_field),
            cmocka_unit_test(test_unterminated_quote),
            cmocka_unit_test(test_malformed),
            cmocka_unit_test(test_bytes),
            cmocka_unit_test(test_limits),
            cmocka_unit_test(test_runaway_field),
            cmocka_unit_test(test_callback_stop),
            cmocka_unit_test(test_bad_header_delivers_nothing),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test-ledger.c: the SQLite outbox in a temporary directory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deadlined/deliver/ledger.h"
#include "deadlined/deliver/ledger-feed.h"
#include "deadlined/base/util.h"

static char dir[64];

static int setup(void **state)
{
        snprintf(dir, sizeof(dir), "/tmp/test-ledger.XXXXXX");
        if (!mkdtemp(dir))
                return -1;
        unsetenv("STATE_DIRECTORY");
        return 0;
}

static int teardown(void **state)
{
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        return system(cmd) == 0 ? 0 : -1;
}

static struct ledger_row row(const char *key, const char *state, const char *msgid)
{
        return (struct ledger_row){
                .key = key,
                .deadline = "rule/senco-npq/jane",
                .due = "2027-02-28",
                .slot = "lead:6m",
                .recipient = "mailto:jane@example.org",
                .fire_at = 1000,
                .state = state,
                .message_id = msgid,
        };
}

struct seen {
        char keys[8][64];
        char states[8][16];
        int64_t attempts[8], next[8];
        size_t n;
};

static int collect(const struct ledger_row *r, void *userdata)
{
        struct seen *s = userdata;

        if (s->n == 8)
                return 1;
        snprintf(s->keys[s->n], 64, "%s", r->key);
        snprintf(s->states[s->n], 16, "%s", r->state);
        s->attempts[s->n] = r->attempts;
        s->next[s->n] = r->next_attempt;
        s->n++;
        return 0;
}

static void test_claim_mark_pending(void **state)
{
        struct ledger *l = NULL;
        struct ledger_row a = row("a|mailto:jane@example.org", "pending", "<m1@x>");
        struct ledger_row b = row("b|mailto:jane@example.org", "pending", "<m1@x>");
        struct ledger_row c = row("c|mailto:jane@example.org", "skipped", NULL);
        struct seen s = {0};
        int64_t t;

        assert_int_equal(ledger_open(dir, &l), 0);
        assert_int_equal(ledger_known(l, a.key), 0);
        assert_int_equal(ledger_begin(l), 0);
        assert_int_equal(ledger_insert(l, &a, 100), 1);
        assert_int_equal(ledger_insert(l, &b, 100), 1);
        assert_int_equal(ledger_insert(l, &c, 100), 1);
        assert_int_equal(ledger_insert(l, &a, 101), 0); /* already claimed */
        assert_int_equal(ledger_commit(l), 0);
        assert_int_equal(ledger_known(l, a.key), 1);

        assert_int_equal(ledger_pending(l, 100, collect, &s), 0);
        assert_int_equal(s.n, 2);
        assert_string_equal(s.keys[0], a.key);
        assert_string_equal(s.keys[1], b.key);
        assert_int_equal(ledger_next_attempt(l, &t), 0);
        assert_int_equal(t, 0);

        /* A transient failure: still pending, due later, attempt counted. */
        assert_int_equal(ledger_mark(l, "<m1@x>", "pending", "421 try later", 500, 200), 2);
        s.n = 0;
        assert_int_equal(ledger_pending(l, 499, collect, &s), 0);
        assert_int_equal(s.n, 0);
        assert_int_equal(ledger_pending(l, 500, collect, &s), 0);
        assert_int_equal(s.n, 2);
        assert_int_equal(s.attempts[0], 1);
        assert_int_equal(s.next[0], 500);
        assert_int_equal(ledger_next_attempt(l, &t), 0);
        assert_int_equal(t, 500);

        assert_int_equal(ledger_mark(l, "<m1@x>", "sent", NULL, 0, 600), 2);
        /* Only pending rows change: marking again does nothing. */
        assert_int_equal(ledger_mark(l, "<m1@x>", "failed", "x", 0, 700), 0);
        assert_int_equal(ledger_next_attempt(l, &t), -ENOENT);
        ledger_close(l);

        /* Reopen: rows survived, newest first in history. */
        assert_int_equal(ledger_open(dir, &l), 0);
        s.n = 0;
        assert_int_equal(ledger_history(l, NULL, collect, &s), 0);
        assert_int_equal(s.n, 3);
        assert_string_equal(s.keys[0], a.key);
        assert_string_equal(s.states[0], "sent");
        assert_string_equal(s.keys[2], c.key);
        assert_string_equal(s.states[2], "skipped");
        s.n = 0;
        assert_int_equal(ledger_history(l, "commitment/none", collect, &s), 0);
        assert_int_equal(s.n, 0);
        ledger_close(l);
}

static void test_bad_state_rejected(void **state)
{
        struct ledger *l = NULL;
        struct ledger_row a = row("a", "bogus", NULL);

        assert_int_equal(ledger_open(dir, &l), 0);
        assert_int_equal(ledger_insert(l, &a, 1), -EIO); /* CHECK constraint */
        assert_int_equal(ledger_known(l, "a"), 0);
        ledger_close(l);
}

static void test_meta_and_feed_state(void **state)
{
        struct ledger *l = NULL;
        struct ledger_feed lf = {.now = 5000, .fallback = 42};
        struct ics_event_state es;
        int64_t v;

        assert_int_equal(ledger_open(dir, &l), 0);
        lf.l = l;
        assert_int_equal(ledger_meta_get(l, "last_pass", &v), -ENOENT);
        assert_int_equal(ledger_meta_set(l, "last_pass", 77), 0);
        assert_int_equal(ledger_meta_set(l, "last_pass", 78), 0);
        assert_int_equal(ledger_meta_get(l, "last_pass", &v), 0);
        assert_int_equal(v, 78);

        assert_int_equal(ledger_feed_state(&lf, "u@x", 0xdeadbeefcafef00dull, &es), 0);
        assert_int_equal(es.sequence, 0);
        assert_int_equal(es.last_modified, 42);
        lf.now = 6000;
        assert_int_equal(ledger_feed_state(&lf, "u@x", 0xdeadbeefcafef00dull, &es), 0);
        assert_int_equal(es.sequence, 0);
        assert_int_equal(es.last_modified, 42);
        assert_int_equal(ledger_feed_state(&lf, "u@x", 1, &es), 0);
        assert_int_equal(es.sequence, 1);
        assert_int_equal(es.last_modified, 6000);
        lf.now = 7000;
        assert_int_equal(ledger_feed_state(&lf, "u@x", 1, &es), 0);
        assert_int_equal(es.sequence, 1);
        assert_int_equal(es.last_modified, 6000);
        ledger_close(l);
}

static void test_corrupt_refused(void **state)
{
        struct ledger *l = NULL;
        char path[128];
        char junk[4096];
        int fd;

        snprintf(path, sizeof(path), "%s/" LEDGER_FILE, dir);
        memset(junk, 'x', sizeof(junk));
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, junk, sizeof(junk)), sizeof(junk));
        close(fd);
        assert_int_equal(ledger_open(dir, &l), -EBADMSG);
        assert_null(l);
}

static int mode_of(const char *name)
{
        char path[160];
        struct stat st;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        assert_int_equal(stat(path, &st), 0);
        return (int)(st.st_mode & 0777);
}

static void test_private_files(void **state)
{
        struct ledger *l = NULL;
        char path[160];

        assert_int_equal(ledger_open(dir, &l), 0);
        assert_int_equal(ledger_meta_set(l, "x", 1), 0);
        assert_int_equal(mode_of(LEDGER_FILE), 0600);
        assert_int_equal(mode_of(LEDGER_FILE "-wal"), 0600);
        ledger_close(l);
        /* A ledger made 0644 by an earlier version is mended on open. */
        snprintf(path, sizeof(path), "%s/" LEDGER_FILE, dir);
        assert_int_equal(chmod(path, 0644), 0);
        assert_int_equal(ledger_open(dir, &l), 0);
        assert_int_equal(mode_of(LEDGER_FILE), 0600);
        ledger_close(l);
}

static void test_deferred_check(void **state)
{
        struct ledger *l = NULL;
        int64_t v = 0;

        assert_int_equal(ledger_open(dir, &l), 0); /* creates and migrates */
        ledger_close(l);
        ledger_defer_check(true);
        assert_int_equal(ledger_open(dir, &l), 0);
        ledger_defer_check(false);
        assert_int_equal(ledger_begin(l), 0);
        assert_int_equal(ledger_meta_set(l, "y", 7), 0);
        assert_int_equal(ledger_commit(l), 0); /* waited for the verdict */
        assert_int_equal(ledger_check_wait(l), 0);
        assert_int_equal(ledger_meta_get(l, "y", &v), 0);
        assert_int_equal(v, 7);
        ledger_close(l);
}

static void test_state_directory_env(void **state)
{
        setenv("STATE_DIRECTORY", "/var/lib/deadlined:/var/lib/other", 1);
        assert_string_equal(ledger_state_dir("state"), "/var/lib/deadlined");
        unsetenv("STATE_DIRECTORY");
        assert_string_equal(ledger_state_dir("state"), "state");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_claim_mark_pending, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_state_rejected, setup, teardown),
                cmocka_unit_test_setup_teardown(test_meta_and_feed_state, setup, teardown),
                cmocka_unit_test_setup_teardown(test_corrupt_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_private_files, setup, teardown),
                cmocka_unit_test_setup_teardown(test_deferred_check, setup, teardown),
                cmocka_unit_test(test_state_directory_env),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

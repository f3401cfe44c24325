/* ledger-check.c: the ledger's integrity check. A damaged file must not be
 * migrated, written or trusted to say what was sent. Deferred (the daemon),
 * PRAGMA quick_check runs in a thread with its own connection beside the
 * caller's first work (0.3 s on a 180 MB ledger), and every commit, and every
 * write outside a transaction, waits for its verdict first. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "deadlined/base/log.h"
#include "deadlined/base/util.h"
#include "ledger-internal.h"

static bool defer_check;

/* PRAGMA quick_check on db: SQLITE_OK and *bad NULL when it says "ok", else
 * the failing SQLite code or the first line of its report in *bad. */
static int run_quick_check(sqlite3 *db, char **bad)
{
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL);

        *bad = NULL;
        if (rc == SQLITE_OK)
                rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                const char *res = (const char *)sqlite3_column_text(st, 0);
                rc = SQLITE_OK;
                if (!res || strcmp(res, "ok") != 0)
                        *bad = xstrdup(res ? res : "?");
        }
        sqlite3_finalize(st);
        return rc;
}

static int damaged(struct ledger *l, const char *why)
{
        log_errx("%s: ledger is damaged (%s); not sending anything. Restore it from a "
                 "backup, or move it aside (mv %s %s.damaged): a fresh ledger sends at "
                 "most the latest reminder per deadline and recipient within catch_up",
                 l->path, why, l->path, l->path);
        return -EBADMSG;
}

static int quick_check(struct ledger *l)
{
        _cleanup_free_ char *bad = NULL;
        int rc = run_quick_check(l->db, &bad);

        if (rc != SQLITE_OK)
                return ldg_sql_err(l, rc, "PRAGMA quick_check");
        return bad ? damaged(l, bad) : 0;
}

static void *check_thread(void *userdata)
{
        struct ledger *l = userdata;
        sqlite3 *db = NULL;

        /* Read-write without create: WAL readers need the shared-memory file. */
        l->check.rc = sqlite3_open_v2(l->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                                      NULL);
        if (l->check.rc == SQLITE_OK) {
                sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
                l->check.rc = run_quick_check(db, &l->check.result);
        }
        sqlite3_close(db);
        return NULL;
}

void ledger_defer_check(bool on)
{
        defer_check = on;
}

int ledger_check_wait(struct ledger *l)
{
        if (!l->check.running)
                return l->check.r;
        pthread_join(l->check.thread, NULL);
        l->check.running = false;
        if (l->check.result)
                l->check.r = damaged(l, l->check.result);
        else if (l->check.rc == SQLITE_CORRUPT || l->check.rc == SQLITE_NOTADB)
                l->check.r = damaged(l, sqlite3_errstr(l->check.rc));
        else if (l->check.rc != SQLITE_OK)
                l->check.r = quick_check(l); /* the thread could not: check here */
        free(l->check.result);
        l->check.result = NULL;
        return l->check.r;
}

int ldg_check_before_write(struct ledger *l)
{
        return sqlite3_get_autocommit(l->db) ? ledger_check_wait(l) : 0;
}

int ldg_check_start(struct ledger *l, int64_t version)
{
        int64_t v = 0;

        if (defer_check && ldg_query_int(l, "PRAGMA user_version", &v) >= 0 && v == version) {
                l->check.running = pthread_create(&l->check.thread, NULL, check_thread, l) == 0;
                return l->check.running ? 0 : quick_check(l);
        }
        return quick_check(l);
}

void ldg_check_join(struct ledger *l)
{
        if (!l->check.running)
                return;
        pthread_join(l->check.thread, NULL);
        free(l->check.result);
}

/* ledger-internal.h: what the ledger*.c files share and nothing else uses.
 *
 *   ledger.c         opening (schema, migrations, WAL), transactions, reminder rows, meta
 *   ledger-check.c   the integrity check, in a thread when deferred
 *   ledger-feed.c    each feed event's history (SEQUENCE, LAST-MODIFIED) */
#pragma once
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "deadlined/deliver/ledger.h"

enum { ST_KNOWN, ST_INSERT, ST_MARK, ST_FEED_GET, ST_FEED_PUT, ST_MAX };

#define BUSY_TIMEOUT_MS 5000

/* The integrity check of a deferred open (ledger_defer_check): a thread with
 * its own read-only connection. Until it has answered, nothing is committed. */
struct check {
        pthread_t thread;
        bool running;
        int rc;       /* SQLite code of the check; SQLITE_OK when it said "ok" */
        char *result; /* the first line quick_check gave when not "ok" */
        int r;        /* the verdict once joined: 0 or -errno */
};

struct ledger {
        sqlite3 *db;
        char *path;
        int busy_ms;
        bool quiet; /* errors at debug level: the caller reports them */
        sqlite3_stmt *st[ST_MAX];
        struct check check;
};

/* ledger.c */
int ldg_sql_err(struct ledger *l, int rc, const char *what);
int ldg_prepare(struct ledger *l, const char *sql, sqlite3_stmt **st);
void ldg_bind_text(sqlite3_stmt *st, int i, const char *s);
/* Step a cached statement once; returns the sqlite code and resets it. */
int ldg_step_reset(struct ledger *l, sqlite3_stmt *st, const char *what, int *rows);
/* A statement run once: prepare sql, bind the arguments in order as types
 * says ('t' a const char *, NULL binding NULL; 'i' an int64_t), step, and
 * finalize. Column 0 of a row goes to *out when out is not NULL. Returns 1
 * for a row, 0 for none, or a negative errno (logged, as what). */
int ldg_run(struct ledger *l, const char *sql, const char *what, int64_t *out, const char *types,
            ...);
/* The one integer a PRAGMA or an aggregate SELECT answers. */
int ldg_query_int(struct ledger *l, const char *sql, int64_t *out);

/* ledger-check.c */
/* Check l's integrity now, or in a thread when deferred and the schema is at
 * version (a ledger to migrate is never written before its verdict). */
int ldg_check_start(struct ledger *l, int64_t version);
/* Before a statement that commits by itself; in a transaction, COMMIT waits. */
int ldg_check_before_write(struct ledger *l);
/* Join a running check without a verdict: the ledger is being closed. */
void ldg_check_join(struct ledger *l);

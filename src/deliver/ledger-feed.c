/* ledger-feed.c: each feed event's history in table feed_events, so that
 * SEQUENCE and LAST-MODIFIED change only when the event does, across
 * restarts, reloads and `export`. */
#include <stdint.h>

#include "deadlined/deliver/ledger-feed.h"
#include "ledger-internal.h"

static int feed_put(struct ledger *l, const char *uid, uint64_t hash,
                    const struct ics_event_state *s)
{
        sqlite3_stmt *st = l->st[ST_FEED_PUT];
        int rows;

        if (ldg_check_before_write(l) < 0)
                return l->check.r;

        ldg_bind_text(st, 1, uid);
        sqlite3_bind_int64(st, 2, (int64_t)hash);
        sqlite3_bind_int64(st, 3, s->sequence);
        sqlite3_bind_int64(st, 4, s->last_modified);
        return ldg_step_reset(l, st, "feed state", &rows);
}

int ledger_feed_state(void *userdata, const char *uid, uint64_t content_hash,
                      struct ics_event_state *out)
{
        struct ledger_feed *lf = userdata;
        struct ledger *l = lf->l;
        sqlite3_stmt *st = l->st[ST_FEED_GET];
        int rc, r;

        ldg_bind_text(st, 1, uid);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                uint64_t old = (uint64_t)sqlite3_column_int64(st, 0);

                out->sequence = (uint32_t)sqlite3_column_int64(st, 1);
                out->last_modified = sqlite3_column_int64(st, 2);
                sqlite3_reset(st);
                sqlite3_clear_bindings(st);
                if (old == content_hash)
                        return 0;
                out->sequence++;
                out->last_modified = lf->now;
        } else {
                r = rc == SQLITE_DONE ? 0 : ldg_sql_err(l, rc, "feed state");
                sqlite3_reset(st);
                sqlite3_clear_bindings(st);
                if (r < 0)
                        return r;
                out->sequence = 0;
                out->last_modified = lf->fallback;
        }
        r = feed_put(l, uid, content_hash, out);
        return r < 0 ? r : 0;
}

int ledger_feed_each(struct ledger *l, ledger_feed_fn fn, void *userdata)
{
        sqlite3_stmt *st = NULL;
        int rc = SQLITE_OK;
        int r = ldg_prepare(l, "SELECT uid, hash, sequence, last_modified FROM feed_events", &st);

        if (r < 0)
                return r;
        while (r >= 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                const char *uid = (const char *)sqlite3_column_text(st, 0);
                struct ics_event_state s = {
                    .sequence = (uint32_t)sqlite3_column_int64(st, 2),
                    .last_modified = sqlite3_column_int64(st, 3),
                };

                if (uid)
                        r = fn(userdata, uid, (uint64_t)sqlite3_column_int64(st, 1), &s);
        }
        if (r >= 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
                r = ldg_sql_err(l, rc, "feed history");
        sqlite3_finalize(st);
        return r;
}

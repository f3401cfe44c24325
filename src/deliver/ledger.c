/* ledger.c: the SQLite outbox. WAL with synchronous=FULL so a row marked
 * pending is on disk before the send starts, and a row marked sent survives a
 * power cut right after the 250. Schema changes go through the migration list
 * keyed by PRAGMA user_version; never edit a shipped migration, append one. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deadlined/base/log.h"
#include "deadlined/base/util.h"
#include "ledger-internal.h"

static const char *const stmt_sql[ST_MAX] = {
        [ST_KNOWN] = "SELECT 1 FROM reminders WHERE key = ?1",
        [ST_INSERT] = "INSERT INTO reminders(key, deadline, due, slot, recipient, fire_at, state,"
                      " attempts, next_attempt, last_error, message_id, created, updated)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, ?9, ?10, ?11, ?11)"
                      " ON CONFLICT DO NOTHING RETURNING key",
        [ST_MARK] = "UPDATE reminders SET state = ?2, attempts = attempts + 1, last_error = ?3,"
                    " next_attempt = ?4, updated = ?5 WHERE message_id = ?1 AND state = 'pending'",
        [ST_FEED_GET] = "SELECT hash, sequence, last_modified FROM feed_events WHERE uid = ?1",
        [ST_FEED_PUT] = "INSERT INTO feed_events(uid, hash, sequence, last_modified)"
                        " VALUES (?1, ?2, ?3, ?4) ON CONFLICT(uid) DO UPDATE SET"
                        " hash = excluded.hash, sequence = excluded.sequence,"
                        " last_modified = excluded.last_modified",
};

/* Migrations: index i takes user_version i to i + 1. Append only. */
static const char *const migrations[] = {
        "CREATE TABLE reminders ("
        " key TEXT PRIMARY KEY NOT NULL, deadline TEXT NOT NULL, due TEXT NOT NULL,"
        " slot TEXT NOT NULL, recipient TEXT NOT NULL, fire_at INTEGER NOT NULL,"
        " state TEXT NOT NULL CHECK (state IN ('pending','sent','failed','skipped')),"
        " attempts INTEGER NOT NULL DEFAULT 0, next_attempt INTEGER NOT NULL DEFAULT 0,"
        " last_error TEXT, message_id TEXT, created INTEGER NOT NULL, updated INTEGER NOT NULL"
        ") STRICT;"
        "CREATE INDEX reminders_pending ON reminders(next_attempt) WHERE state = 'pending';"
        "CREATE INDEX reminders_message ON reminders(message_id);"
        "CREATE INDEX reminders_deadline ON reminders(deadline);"
        "CREATE INDEX reminders_updated ON reminders(updated);"
        "CREATE TABLE feed_events (uid TEXT PRIMARY KEY NOT NULL, hash INTEGER NOT NULL,"
        " sequence INTEGER NOT NULL, last_modified INTEGER NOT NULL) STRICT;"
        "CREATE TABLE meta (name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL) STRICT;",
};

int ldg_sql_err(struct ledger *l, int rc, const char *what)
{
        int prio = l->quiet ? LOG_DEBUG : LOG_ERR;

        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
                log_msg(prio, "%s: %s: %s (another process holds the lock; gave up after %d ms)",
                        l->path, what, sqlite3_errmsg(l->db), l->busy_ms);
        else
                log_msg(prio, "%s: %s: %s", l->path, what, sqlite3_errmsg(l->db));
        if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB)
                return -EBADMSG;
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
                return -EBUSY;
        if (rc == SQLITE_FULL)
                return -ENOSPC;
        return -EIO;
}

static int exec(struct ledger *l, const char *sql)
{
        int rc = sqlite3_exec(l->db, sql, NULL, NULL, NULL);

        return rc == SQLITE_OK ? 0 : ldg_sql_err(l, rc, sql);
}

const char *ledger_state_dir(const char *dir)
{
        static char buf[4096];
        const char *e = getenv("STATE_DIRECTORY");

        if (!e || !*e)
                return dir;
        /* systemd passes a colon-separated list; ours is the first. */
        snprintf(buf, sizeof(buf), "%.*s", (int)strcspn(e, ":"), e);
        return buf;
}

void ldg_bind_text(sqlite3_stmt *st, int i, const char *s)
{
        if (s)
                sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
        else
                sqlite3_bind_null(st, i);
}

int ldg_step_reset(struct ledger *l, sqlite3_stmt *st, const char *what, int *rows)
{
        int rc = sqlite3_step(st), r = 0;

        if (rc == SQLITE_ROW)
                *rows = 1;
        else if (rc == SQLITE_DONE)
                *rows = 0;
        else
                r = ldg_sql_err(l, rc, what);
        /* Drain a RETURNING statement so its change is complete. */
        while (rc == SQLITE_ROW)
                rc = sqlite3_step(st);
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return r;
}

int ldg_prepare(struct ledger *l, const char *sql, sqlite3_stmt **st)
{
        int rc = sqlite3_prepare_v2(l->db, sql, -1, st, NULL);

        return rc == SQLITE_OK ? 0 : ldg_sql_err(l, rc, "prepare");
}

int ldg_run(struct ledger *l, const char *sql, const char *what, int64_t *out, const char *types,
            ...)
{
        sqlite3_stmt *st = NULL;
        va_list ap;
        int rc, r = ldg_prepare(l, sql, &st);

        if (r < 0)
                return r;
        va_start(ap, types);
        for (int i = 0; types[i]; i++) {
                if (types[i] == 't')
                        ldg_bind_text(st, i + 1, va_arg(ap, const char *));
                else
                        sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
        }
        va_end(ap);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW && out)
                *out = sqlite3_column_int64(st, 0);
        r = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : ldg_sql_err(l, rc, what);
        sqlite3_finalize(st);
        return r;
}

int ldg_query_int(struct ledger *l, const char *sql, int64_t *out)
{
        int r = ldg_run(l, sql, sql, out, "");

        return r < 0 ? r : r ? 0 : -ENOENT;
}

static int migrate(struct ledger *l)
{
        int64_t v;
        int r = ldg_query_int(l, "PRAGMA user_version", &v);

        if (r < 0)
                return r;
        if (v > (int64_t)ELEMENTSOF(migrations)) {
                log_errx("%s: schema version %lld is newer than this deadlined knows (%zu)",
                         l->path, (long long)v, ELEMENTSOF(migrations));
                return -EPROTO;
        }
        for (; v < (int64_t)ELEMENTSOF(migrations); v++) {
                char sql[64];

                r = ledger_begin(l);
                if (r >= 0)
                        r = exec(l, migrations[v]);
                snprintf(sql, sizeof(sql), "PRAGMA user_version = %lld", (long long)v + 1);
                if (r >= 0)
                        r = exec(l, sql);
                if (r >= 0)
                        r = ledger_commit(l);
                if (r < 0) {
                        ledger_rollback(l);
                        return r;
                }
        }
        return 0;
}

/* WAL is recorded in the file, so this only changes anything for a new
 * ledger. Switching the journal mode does not go through SQLite's busy
 * handler: when two processes create the same ledger at once (the daemon
 * starting while an admin runs export), the loser gets SQLITE_BUSY at once,
 * so retry for as long as the busy timeout would have waited. */
static int ensure_wal(struct ledger *l)
{
        for (int waited = 0;; waited += 10) {
                sqlite3_stmt *st = NULL;
                int rc = sqlite3_prepare_v2(l->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
                if (rc == SQLITE_OK)
                        rc = sqlite3_step(st);
                bool wal = rc == SQLITE_ROW &&
                           !strcmp((const char *)sqlite3_column_text(st, 0), "wal");
                sqlite3_finalize(st);
                if (wal)
                        return 0;
                if (rc == SQLITE_ROW || ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) ||
                                         waited >= BUSY_TIMEOUT_MS))
                        return ldg_sql_err(l, rc == SQLITE_ROW ? SQLITE_ERROR : rc,
                                           "PRAGMA journal_mode = WAL");
                usleep(10 * 1000);
        }
}

static int ledger_setup(struct ledger *l)
{
        int r;

        ledger_set_busy_timeout(l, BUSY_TIMEOUT_MS);
        /* quick_check first: a damaged file must not be migrated or written. */
        r = ldg_check_start(l, (int64_t)ELEMENTSOF(migrations));
        if (r < 0)
                return r;
        r = ensure_wal(l);
        if (r >= 0)
                r = exec(l, "PRAGMA synchronous = FULL");
        if (r >= 0)
                r = exec(l, "PRAGMA foreign_keys = ON");
        /* Feed history is one lookup per event (200k at 100k people): read
         * pages straight from the page cache instead of copying each in. */
        if (r >= 0)
                r = exec(l, "PRAGMA mmap_size = 268435456");
        if (r >= 0)
                r = migrate(l);
        for (int i = 0; r >= 0 && i < ST_MAX; i++) {
                int rc = sqlite3_prepare_v3(l->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                            &l->st[i], NULL);
                if (rc != SQLITE_OK)
                        r = ldg_sql_err(l, rc, stmt_sql[i]);
        }
        return r;
}

static int ledger_open_locked(const char *dir, struct ledger **out);

/* Opening is check + WAL switch + migrations: steps that race when two
 * processes open a new ledger at once (the daemon starting while an admin runs
 * export or tick), and some of which bypass SQLite's busy handler. An flock
 * on a file beside the ledger serialises just the opening. Returns the locked
 * fd, or -1 if the lock cannot be had (then open unserialised, as before). */
static int open_lock(const char *dir)
{
        _cleanup_free_ char *path = xasprintf("%s/%s.lock", dir, LEDGER_FILE);
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

        if (fd < 0)
                return -1;
        for (int waited = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; waited += 10) {
                if (errno != EWOULDBLOCK || waited >= BUSY_TIMEOUT_MS) {
                        close(fd);
                        return -1;
                }
                usleep(10 * 1000);
        }
        return fd;
}

int ledger_open(const char *dir, struct ledger **out)
{
        int r;

        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return log_error_errno(-errno, "Failed to create state directory %s", dir);
        int lock = open_lock(dir);
        r = ledger_open_locked(dir, out);
        if (lock >= 0)
                close(lock); /* releases the flock */
        return r;
}

/* The ledger holds recipients' addresses: 0600 like every other state file.
 * SQLite would create it 0644, and its -wal and -shm take the database's
 * mode, so create it first (an empty file is an empty database) and mend
 * ledgers made before this. */
static void private_files(const char *path)
{
        static const char *const suffix[] = {"", "-wal", "-shm"};

        for (size_t i = 0; i < ELEMENTSOF(suffix); i++) {
                _cleanup_free_ char *p = xasprintf("%s%s", path, suffix[i]);
                int fd = open(p, O_RDWR | O_CLOEXEC | (i == 0 ? O_CREAT : 0), 0600);
                if (fd < 0)
                        continue;
                if (fchmod(fd, 0600) < 0)
                        log_debug("%s: cannot make it private: %s", p, strerror(errno));
                close(fd);
        }
}

static int ledger_open_locked(const char *dir, struct ledger **out)
{
        struct ledger *l;
        int rc, r;

        l = xcalloc(1, sizeof(*l));
        l->path = xasprintf("%s/%s", dir, LEDGER_FILE);
        private_files(l->path);
        rc = sqlite3_open_v2(l->path, &l->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc != SQLITE_OK) {
                r = l->db ? ldg_sql_err(l, rc, "open") : -ENOMEM;
                ledger_close(l);
                return r;
        }
        r = ledger_setup(l);
        if (r < 0) {
                if (r == -EBADMSG)
                        log_errx("%s: the ledger is not a valid database", l->path);
                ledger_close(l);
                return r;
        }
        *out = l;
        return 0;
}

void ledger_set_busy_timeout(struct ledger *l, int ms)
{
        l->busy_ms = ms;
        sqlite3_busy_timeout(l->db, ms);
}

void ledger_set_quiet(struct ledger *l, bool quiet)
{
        l->quiet = quiet;
}

void ledger_close(struct ledger *l)
{
        if (!l)
                return;
        ldg_check_join(l);
        for (int i = 0; i < ST_MAX; i++)
                sqlite3_finalize(l->st[i]);
        sqlite3_close(l->db);
        free(l->path);
        free(l);
}

int ledger_begin(struct ledger *l)
{
        return exec(l, "BEGIN IMMEDIATE");
}

int ledger_commit(struct ledger *l)
{
        int r = ledger_check_wait(l);

        return r < 0 ? r : exec(l, "COMMIT");
}

void ledger_rollback(struct ledger *l)
{
        if (!sqlite3_get_autocommit(l->db))
                sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
}

int ledger_known(struct ledger *l, const char *key)
{
        sqlite3_stmt *st = l->st[ST_KNOWN];
        int rows = 0, r;

        ldg_bind_text(st, 1, key);
        r = ldg_step_reset(l, st, "lookup", &rows);
        return r < 0 ? r : rows;
}

int ledger_insert(struct ledger *l, const struct ledger_row *row, int64_t now)
{
        sqlite3_stmt *st = l->st[ST_INSERT];
        int rows = 0, r;

        r = ldg_check_before_write(l);
        if (r < 0)
                return r;

        ldg_bind_text(st, 1, row->key);
        ldg_bind_text(st, 2, row->deadline);
        ldg_bind_text(st, 3, row->due);
        ldg_bind_text(st, 4, row->slot);
        ldg_bind_text(st, 5, row->recipient);
        sqlite3_bind_int64(st, 6, row->fire_at);
        ldg_bind_text(st, 7, row->state);
        sqlite3_bind_int64(st, 8, row->next_attempt);
        ldg_bind_text(st, 9, row->last_error);
        ldg_bind_text(st, 10, row->message_id);
        sqlite3_bind_int64(st, 11, now);
        r = ldg_step_reset(l, st, "claim", &rows);
        return r < 0 ? r : rows;
}

int ledger_mark(struct ledger *l, const char *message_id, const char *state, const char *error,
                int64_t next_attempt, int64_t now)
{
        sqlite3_stmt *st = l->st[ST_MARK];
        int rows = 0, r;

        r = ldg_check_before_write(l);
        if (r < 0)
                return r;

        ldg_bind_text(st, 1, message_id);
        ldg_bind_text(st, 2, state);
        ldg_bind_text(st, 3, error);
        sqlite3_bind_int64(st, 4, next_attempt);
        sqlite3_bind_int64(st, 5, now);
        r = ldg_step_reset(l, st, "mark", &rows);
        return r < 0 ? r : sqlite3_changes(l->db);
}

int ledger_set_state(struct ledger *l, const char *key, const char *state, const char *error,
                     int64_t now)
{
        int r = ldg_check_before_write(l);

        if (r >= 0)
                r = ldg_run(l,
                            "UPDATE reminders SET state = ?2, last_error = ?3, updated = ?4"
                            " WHERE key = ?1",
                            "set state", NULL, "ttti", key, state, error, now);
        return r < 0 ? r : sqlite3_changes(l->db);
}

static const char *col_text(sqlite3_stmt *st, int i)
{
        return (const char *)sqlite3_column_text(st, i);
}

static void row_from(sqlite3_stmt *st, struct ledger_row *r)
{
        *r = (struct ledger_row){
                .key = col_text(st, 0),
                .deadline = col_text(st, 1),
                .due = col_text(st, 2),
                .slot = col_text(st, 3),
                .recipient = col_text(st, 4),
                .fire_at = sqlite3_column_int64(st, 5),
                .state = col_text(st, 6),
                .attempts = sqlite3_column_int64(st, 7),
                .next_attempt = sqlite3_column_int64(st, 8),
                .last_error = col_text(st, 9),
                .message_id = col_text(st, 10),
                .created = sqlite3_column_int64(st, 11),
                .updated = sqlite3_column_int64(st, 12),
        };
}

#define ROW_COLS                                                                                   \
        "SELECT key, deadline, due, slot, recipient, fire_at, state, attempts, next_attempt,"     \
        " last_error, message_id, created, updated FROM reminders "

/* Run a row query; fn's nonzero return stops and is returned. */
static int query_rows(struct ledger *l, const char *sql, const char *text, int64_t num,
                      ledger_row_fn fn, void *userdata)
{
        sqlite3_stmt *st = NULL;
        int rc, r = ldg_prepare(l, sql, &st);

        if (r < 0)
                return r;
        if (text)
                ldg_bind_text(st, 1, text);
        else
                sqlite3_bind_int64(st, 1, num);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                struct ledger_row row;

                row_from(st, &row);
                r = fn(&row, userdata);
                if (r != 0)
                        break;
        }
        if (r == 0 && rc != SQLITE_DONE)
                r = ldg_sql_err(l, rc, "query");
        sqlite3_finalize(st);
        return r;
}

int ledger_pending(struct ledger *l, int64_t before, ledger_row_fn fn, void *userdata)
{
        return query_rows(l,
                          ROW_COLS "WHERE state = 'pending' AND next_attempt <= ?1"
                                   " ORDER BY min(fire_at) OVER (PARTITION BY message_id),"
                                   " message_id, key",
                          NULL, before, fn, userdata);
}

int ledger_next_attempt(struct ledger *l, int64_t *out)
{
        int64_t v;
        int r = ldg_query_int(l,
                              "SELECT coalesce(min(next_attempt), -1) FROM reminders"
                              " WHERE state = 'pending'",
                              &v);

        if (r < 0)
                return r;
        if (v < 0)
                return -ENOENT;
        *out = v;
        return 0;
}

int ledger_history(struct ledger *l, const char *deadline, ledger_row_fn fn, void *userdata)
{
        if (deadline)
                return query_rows(l, ROW_COLS "WHERE deadline = ?1 ORDER BY updated DESC, key",
                                  deadline, 0, fn, userdata);
        return query_rows(l, ROW_COLS "WHERE ?1 = 0 ORDER BY updated DESC, key", NULL, 0, fn,
                          userdata);
}

int ledger_meta_get(struct ledger *l, const char *name, int64_t *out)
{
        int r = ldg_run(l, "SELECT value FROM meta WHERE name = ?1", "meta", out, "t", name);

        return r < 0 ? r : r ? 0 : -ENOENT;
}

int ledger_meta_set(struct ledger *l, const char *name, int64_t value)
{
        int r = ldg_check_before_write(l);

        if (r >= 0)
                r = ldg_run(l,
                            "INSERT INTO meta(name, value) VALUES (?1, ?2)"
                            " ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                            "meta", NULL, "ti", name, value);
        return r < 0 ? r : 0;
}

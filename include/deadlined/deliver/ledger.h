/* ledger.h: the SQLite outbox (STATE/ledger.db). One row per reminder and
 * recipient: pending before the send, sent after the 250/2xx, so a crash
 * resends (same Message-ID) but never loses. Each feed event's history is
 * in the same file: ledger-feed.h. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#define LEDGER_FILE "ledger.db"

struct ledger;

/* A row of table reminders. Strings are borrowed (valid during a callback). */
struct ledger_row {
        const char *key;       /* reminder key + "|" + recipient */
        const char *deadline;  /* deadline id */
        const char *due;       /* "2027-02-28" */
        const char *slot;      /* "lead:6m" or "overdue:N" */
        const char *recipient; /* "mailto:addr" or "webhook:name" */
        int64_t fire_at;
        const char *state; /* pending | sent | failed | skipped */
        int64_t attempts, next_attempt;
        const char *last_error, *message_id; /* may be NULL */
        int64_t created, updated;
};
typedef int (*ledger_row_fn)(const struct ledger_row *r, void *userdata);

/* The state directory: $STATE_DIRECTORY (first entry) when set, else dir. */
const char *ledger_state_dir(const char *dir);
/* Open (creating dir and file), migrate, check integrity. A damaged database
 * gives -EBADMSG (logged); the caller must stop rather than resend. */
int ledger_open(const char *dir, struct ledger **out);
void ledger_close(struct ledger *l);
/* For the daemon: ledger_open from now on starts the integrity check in a
 * thread (its own connection) instead of before returning, so it overlaps the
 * first render. Every commit, and every write outside a transaction, waits
 * for the verdict first; a damaged ledger then fails them with -EBADMSG. */
void ledger_defer_check(bool on);
/* Wait for a deferred check: 0, or -EBADMSG (logged) for a damaged ledger. */
int ledger_check_wait(struct ledger *l);
/* How long a write waits for another process's lock (default 5000 ms). */
void ledger_set_busy_timeout(struct ledger *l, int ms);
/* Log SQLite errors at debug level only: the caller reports them (once). */
void ledger_set_quiet(struct ledger *l, bool quiet);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. */
int ledger_begin(struct ledger *l);
int ledger_commit(struct ledger *l);
void ledger_rollback(struct ledger *l);

/* 1 if key is in the ledger, 0 if not, or a negative errno. */
int ledger_known(struct ledger *l, const char *key);
/* INSERT ... ON CONFLICT DO NOTHING: 1 if inserted (claimed), 0 if it existed.
 * created/updated are set to now; attempts to 0. */
int ledger_insert(struct ledger *l, const struct ledger_row *r, int64_t now);
/* Every pending row of one message: state (sent, pending, failed), attempts + 1,
 * last_error, next_attempt. Returns the number of rows changed. */
int ledger_mark(struct ledger *l, const char *message_id, const char *state, const char *error,
                int64_t next_attempt, int64_t now);
/* Set a skipped/failed state on one row by key (no attempt counted). */
int ledger_set_state(struct ledger *l, const char *key, const char *state, const char *error,
                     int64_t now);
/* Pending rows with next_attempt <= before: each message's rows together,
 * messages in due order (earliest fire_at first), then by key. */
int ledger_pending(struct ledger *l, int64_t before, ledger_row_fn fn, void *userdata);
/* Earliest next_attempt of a pending row: 0, or -ENOENT when none. */
int ledger_next_attempt(struct ledger *l, int64_t *out);
/* Rows newest first (updated, then key), optionally of one deadline. */
int ledger_history(struct ledger *l, const char *deadline, ledger_row_fn fn, void *userdata);
/* Small named integers (e.g. "last_pass"). get: 0 or -ENOENT. */
int ledger_meta_get(struct ledger *l, const char *name, int64_t *out);
int ledger_meta_set(struct ledger *l, const char *name, int64_t value);

/* deliver.h: one delivery pass, asynchronous on the caller's sd_event loop:
 * plan (catch-up, digests) -> claim in the ledger (one transaction) -> send
 * every digest through curl multi (or write .eml files to STATE/outbox/ when
 * there is no [smtp], a slice per loop iteration, made durable by one
 * syncfs before their rows are marked) -> mark each message sent / pending
 * (retry) / failed.
 * Only the holder of STATE/deliver.lock delivers (deliver_pass takes it and
 * keeps it until deliver_free): rows another process has claimed but not yet
 * marked are never sent by a second one, and rows still pending when the
 * lock is taken are a dead holder's, safe to resend at once.
 * Each pass also resends rows left pending by a crash (same Message-ID and
 * idempotency key) and retries whose next_attempt has come; so the daemon's
 * first pass after start-up is what resends a crashed run's messages.
 * Nothing blocks except short SQLite transactions. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <systemd/sd-event.h>
#include "deadlined/core/deadline.h"
#include "deadlined/deliver/ledger.h"

#define DELIVER_LOCK_FILE "deliver.lock"

struct deliverer;
struct deliver_stats {
        unsigned sent, retry, failed, skipped; /* messages (skipped: reminder rows) */
};
typedef void (*deliver_done_fn)(void *userdata);

/* Opens (creates) STATE/ledger.db; -EBADMSG when it is damaged (exit, do not send).
 * state_dir should already be ledger_state_dir(m->set.state_dir). */
int deliver_new(sd_event *e, const char *state_dir, struct deliverer **out);
/* Transfers still in flight are aborted; their rows stay pending. Finished
 * sends are recorded first, then the delivery lock is released. */
void deliver_free(struct deliverer *d);
/* deliver_free, returning 0 or the ledger error when finished sends could not
 * be recorded (logged; their rows stay pending and are sent again later with
 * the same Message-ID). */
int deliver_close(struct deliverer *d);
/* Take STATE/deliver.lock (flock, O_CLOEXEC, 0600; our pid written into it)
 * unless held already: 0, or -EWOULDBLOCK while another process holds it
 * (deliver_lock_holder() then gives its pid, 0 if unknown), or another
 * -errno when the file cannot be opened. */
int deliver_lock(struct deliverer *d);
pid_t deliver_lock_holder(const struct deliverer *d);
struct ledger *deliver_ledger(struct deliverer *d);
/* Print one line per message and skipped reminder to f (tick); NULL: log only. */
void deliver_set_output(struct deliverer *d, FILE *f);
/* Ledger errors at debug level only: the caller has reported them once. */
void deliver_set_quiet(struct deliverer *d, bool quiet);
/* Start a pass as of now. m and ds are only used during this call. done is
 * called from the loop once every send has finished (also when there was
 * nothing to do). -EBUSY while a previous pass is still running;
 * -EWOULDBLOCK when another process holds the delivery lock; a ledger
 * error (-ENOSPC, -EBUSY when locked, -EIO, -EBADMSG) when nothing could be
 * claimed, and then nothing was sent. Stats are reset at the start of each pass. */
int deliver_pass(struct deliverer *d, const struct model *m, const struct deadlines *ds,
                 int64_t now, deliver_done_fn done, void *userdata);
/* One test message to an address or a webhook (by name), not recorded: it
 * claims no row, so it needs no delivery lock. */
int deliver_test(struct deliverer *d, const struct model *m, const char *to, const char *webhook,
                 int64_t now, deliver_done_fn done, void *userdata);
bool deliver_busy(const struct deliverer *d);
const struct deliver_stats *deliver_stats(const struct deliverer *d);
/* The next instant a pass has work: the earliest reminder after the start of
 * the last pass that claimed (or after now, if earlier or there was none)
 * over all deadlines, or the earliest pending retry. A reminder that fell due
 * while that pass ran gives an instant <= now: run a pass at once. INT64_MAX
 * when nothing is due. */
int64_t deliver_next_wakeup(struct deliverer *d, const struct model *m,
                            const struct deadlines *ds, int64_t now);

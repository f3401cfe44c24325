/* ledger-feed.h: each feed event's history in the ledger (table feed_events):
 * its content hash, SEQUENCE and LAST-MODIFIED, kept across restarts. */
#pragma once
#include <stdint.h>
#include "deadlined/core/ics.h"
#include "deadlined/deliver/ledger.h"

/* An ics_state_fn: userdata is a struct ledger_feed. A changed content hash
 * bumps SEQUENCE and sets LAST-MODIFIED to now; a new UID is stored with
 * sequence 0 and last_modified = fallback (the model's mtime). */
struct ledger_feed {
        struct ledger *l;
        int64_t now, fallback;
};
int ledger_feed_state(void *userdata, const char *uid, uint64_t content_hash,
                      struct ics_event_state *out);
/* Every row of the feed history, in no particular order; uid is borrowed for
 * the call. One SELECT, for a render that would otherwise look up each of its
 * events in turn. fn returning < 0 stops the walk with that value. */
typedef int (*ledger_feed_fn)(void *userdata, const char *uid, uint64_t content_hash,
                              const struct ics_event_state *st);
int ledger_feed_each(struct ledger *l, ledger_feed_fn fn, void *userdata);

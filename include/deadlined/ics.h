/* ics.h: render a feed as iCalendar (RFC 5545 + RFC 7986) with libical. Pure.
 * Each VEVENT is built, serialised and freed in turn, so memory is bounded by
 * the output bytes, never by a libical tree of the whole calendar. */
#pragma once
#include <stdint.h>
#include "deadlined/deadline.h"
#include "deadlined/util.h"

/* Per-event history kept by the ledger. Without one, last_modified is the
 * model's mtime and sequence 0, so identical input gives identical bytes. */
struct ics_event_state {
        int64_t last_modified;
        uint32_t sequence;
};
/* Given an event's UID and content hash, fill its state. Return 0, or
 * -ENOENT to fall back to the default. */
typedef int (*ics_state_fn)(void *userdata, const char *uid, uint64_t content_hash,
                            struct ics_event_state *out);

struct ics_opts {
        const struct feed *feed; /* NULL: every deadline, default title */
        ics_state_fn state;      /* may be NULL */
        void *state_userdata;
        const char *feed_url; /* for URL fallback and SOURCE; may be NULL */
};

/* Append the whole VCALENDAR to out. Returns 0 or a negative errno. */
int ics_render_feed(const struct model *m, const struct deadlines *ds, const struct ics_opts *o,
                    struct strbuf *out);
/* Content hash of one event (what goes into SEQUENCE decisions). */
uint64_t ics_event_hash(const struct model *m, const struct deadline *d);
/* Render only the given deadlines (an email's calendar attachment). */
int ics_render_list(const struct model *m, const struct deadline *const *list, size_t n,
                    const struct ics_opts *o, struct strbuf *out);

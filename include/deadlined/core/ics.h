/* ics.h: render a feed as iCalendar (RFC 5545 + RFC 7986) with libical. Pure.
 * Each VEVENT is built, serialised and freed in turn, so memory is bounded by
 * the output bytes, never by a libical tree of the whole calendar. */
#pragma once
#include <stdint.h>
#include "deadlined/core/deadline.h"
#include "deadlined/base/util.h"

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

/* Where one VEVENT's bytes are in a rendered feed, and what they were made
 * from: the event's UID and content hashes and its state. */
struct ics_span {
        uint64_t uid_hash, content_hash;
        int64_t last_modified;
        uint64_t off;
        uint32_t len, sequence;
};

/* The spans of one rendered feed. sig covers what every event's bytes
 * depend on besides its own content and state (the format, libical's version,
 * the feed's URL and alarms): spans of another sig are never reused. */
struct ics_spans {
        struct ics_span *v;
        size_t n, cap;
        uint64_t sig;
};
void ics_spans_free(struct ics_spans *sp);

/* A previous render of the same feed: an event whose UID, content and state
 * are unchanged is copied from it instead of being serialised again (a
 * reload, or a start-up from the daemon's cache). Bytes that do not look like
 * a whole VEVENT are never copied. */
struct ics_reuse {
        const struct ics_spans *spans;
        const char *body;
        size_t len;
};

struct ics_opts {
        const struct feed *feed; /* NULL: every deadline, default title */
        ics_state_fn state;      /* may be NULL */
        void *state_userdata;
        const char *feed_url;       /* for URL fallback and SOURCE; may be NULL */
        const struct ics_reuse *reuse; /* may be NULL */
        struct ics_spans *spans;    /* may be NULL: where each event went (reset first) */
};

/* Append the whole VCALENDAR to out. Returns 0 or a negative errno. */
int ics_render_feed(const struct model *m, const struct deadlines *ds, const struct ics_opts *o,
                    struct strbuf *out);
/* Content hash of one event (what goes into SEQUENCE decisions). */
uint64_t ics_event_hash(const struct model *m, const struct deadline *d);
/* Render only the given deadlines (an email's calendar attachment). */
int ics_render_list(const struct model *m, const struct deadline *const *list, size_t n,
                    const struct ics_opts *o, struct strbuf *out);

/* feeds.h: every feed of a model rendered once, with its gzip copy, ETag and
 * Last-Modified. `export` and the HTTP server both go through feeds_render_one,
 * so the bytes served equal the bytes exported for the same config and day. */
#pragma once
#include <stdatomic.h>
#include <stdint.h>
#include "deadlined/core/deadline.h"
#include "deadlined/core/ics.h"

struct feed_bytes {
        const struct feed *feed; /* points into the model */
        char *body;
        size_t len;
        char *gz; /* gzip of body, made once; NULL until made (a big feed: after READY) */
        size_t gzlen;
        char etag[48];    /* strong: "\"" + hex of SHA-256 prefix + "\"" */
        char gz_etag[48]; /* distinct ETag for the gzip representation */
        int64_t last_modified;
        struct ics_spans spans; /* where each event is in body, for the next render */
};


struct feedset {
        struct feed_bytes *v;
        size_t n;
};

/* Earlier renders to copy unchanged events from, by feed name (borrowed). */
struct feeds_prev_one {
        const char *name;
        struct ics_reuse ru;
};
struct feeds_prev {
        struct feeds_prev_one *v;
        size_t n;
};
/* The bytes being served, as a feeds_prev (borrows fs; free with feeds_prev_free). */
void feeds_prev_from(const struct feedset *fs, struct feeds_prev *out);
void feeds_prev_free(struct feeds_prev *p);

/* zlib's default level: a big feed is compressed in the background, so the
 * 5 % over level 1 costs no start-up time. Part of the gzip ETag. */
#define FEEDS_GZIP_LEVEL 6
/* Feeds up to this size are compressed while rendering (a few ms); bigger
 * ones are left for compress.c. */
#define FEEDS_GZIP_NOW_MAX ((size_t)1 << 20)

/* gzip (RFC 1952) of buf; safe in any thread. cancel (may be NULL) is polled
 * between 1 MiB steps: set, the result is -ECANCELED. */
int feeds_gzip(const char *buf, size_t len, const atomic_bool *cancel, char **out,
               size_t *outlen);

/* The URL a feed is published at: public_url + "/feeds/NAME.ics". */
char *feeds_url(const struct model *m, const struct feed *f);
/* Render one feed (f may be NULL: every deadline) into out. */
int feeds_render_one(const struct model *m, const struct deadlines *ds, const struct feed *f,
                     ics_state_fn state, void *state_userdata, struct strbuf *out);
/* Render all feeds of m and hash them; compress those up to FEEDS_GZIP_NOW_MAX.
 * prev (may be NULL): earlier renders whose unchanged events are copied. */
int feeds_render_all(const struct model *m, const struct deadlines *ds, ics_state_fn state,
                     void *state_userdata, const struct feeds_prev *prev, struct feedset *out);
void feedset_free(struct feedset *fs);

/* The same with each event's SEQUENCE and LAST-MODIFIED from the ledger's
 * history (ledger_feed_state; now is when a changed event changed), looked up
 * and updated inside ONE transaction. l NULL: no history. `run` and `export`
 * both render through these, so they agree on the bytes. */
struct ledger;
int feeds_render_one_history(const struct model *m, const struct deadlines *ds,
                             const struct feed *f, struct ledger *l, int64_t now,
                             struct strbuf *out);
int feeds_render_all_history(const struct model *m, const struct deadlines *ds, struct ledger *l,
                             int64_t now, const struct feeds_prev *prev, struct feedset *out);

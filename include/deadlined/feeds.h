/* feeds.h: every feed of a model rendered once, with its gzip copy, ETag and
 * Last-Modified. `export` and the HTTP server both go through feeds_render_one,
 * so the bytes served equal the bytes exported for the same config and day. */
#pragma once
#include <stdint.h>
#include "deadlined/deadline.h"
#include "deadlined/ics.h"

struct feed_bytes {
        const struct feed *feed; /* points into the model */
        char *body;
        size_t len;
        char *gz; /* gzip of body (zlib), made once */
        size_t gzlen;
        char etag[48];    /* strong: "\"" + hex of SHA-256 prefix + "\"" */
        char gz_etag[48]; /* distinct ETag for the gzip representation */
        int64_t last_modified;
};

struct feedset {
        struct feed_bytes *v;
        size_t n;
};

/* The URL a feed is published at: public_url + "/feeds/NAME.ics". */
char *feeds_url(const struct model *m, const struct feed *f);
/* Render one feed (f may be NULL: every deadline) into out. */
int feeds_render_one(const struct model *m, const struct deadlines *ds, const struct feed *f,
                     ics_state_fn state, void *state_userdata, struct strbuf *out);
/* Render all feeds of m, compress and hash them. */
int feeds_render_all(const struct model *m, const struct deadlines *ds, ics_state_fn state,
                     void *state_userdata, struct feedset *out);
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
                             int64_t now, struct feedset *out);

/* snapshot.h: what the daemon serves, the daemon's current state in one
 * reference-counted value. The types keep their http_ names: the daemon, the
 * compression job, the request router and the fuzzer use them as they are. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "deadlined/core/deadline.h"
#include "deadlined/serve/feeds.h"

#define SNAPSHOT_DIGEST_LEN 32 /* SHA-256 */

struct MHD_Response;

/* A model shared by every content rendered from it: a day rollover
 * re-derives and re-renders without reloading the files. */
struct http_model {
        unsigned refs;
        struct model *m;
};
struct http_model *http_model_new(struct model *m); /* takes ownership of m */
struct http_model *http_model_ref(struct http_model *hm);
void http_model_unref(struct http_model *hm);

/* One feed's prebuilt responses and its token's digest. */
struct http_feed {
        unsigned char token_md[SNAPSHOT_DIGEST_LEN];
        bool has_token;
        struct MHD_Response *ok[2], *not_modified[2]; /* [0] identity, [1] gzip */
};

/* What is served: one model's deadlines for one local day and its rendered
 * feeds. Reference counted because in-flight responses send straight from
 * fs's buffers (no copy): a reload drops the daemon's reference and the last
 * finished response frees the old content. */
struct http_content {
        unsigned refs;
        struct http_model *hm;
        struct deadlines ds;
        struct feedset fs;
        dl_day today;
        size_t by_status[ST_DROPPED + 1];
        int64_t next_reminder;   /* INT64_MAX when none */
        struct http_feed *feeds; /* fs.n prebuilt responses and token digests */
};
/* Takes a reference on hm and ownership of ds and fs (both zeroed on return).
 * The caller may set next_reminder afterwards. */
struct http_content *http_content_new(struct http_model *hm, dl_day today, struct deadlines *ds,
                                      struct feedset *fs);
/* Attach feed i's gzip copy (made later, off the loop) and its responses;
 * takes ownership of gz. From then on gzip clients get it. */
void http_content_set_gzip(struct http_content *c, size_t i, char *gz, size_t gzlen);
struct http_content *http_content_ref(struct http_content *c);
void http_content_unref(struct http_content *c);

/* The digest a token is compared by, as http_feed.token_md holds it. */
void snapshot_token_digest(const char *token, unsigned char md[SNAPSHOT_DIGEST_LEN]);

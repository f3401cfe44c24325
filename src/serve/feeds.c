/* feeds.c: render every feed of a model once, with its gzip copy and ETags.
 * `export` and the HTTP server share feeds_render_one, so what is served is
 * byte for byte what is exported for the same config and day. */
#include <errno.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <string.h>
#include <zlib.h>

#include "deadlined/serve/feeds.h"
#include "deadlined/deliver/ledger.h"
#include "deadlined/deliver/ledger-feed.h"
#include "deadlined/base/log.h"
#include "deadlined/base/util.h"

char *feeds_url(const struct model *m, const struct feed *f)
{
        const char *base = m->set.public_url ? m->set.public_url : "";
        size_t n = strlen(base);

        /* "http://host/" and "http://host" both give one slash. */
        while (n > 0 && base[n - 1] == '/')
                n--;
        return xasprintf("%.*s/feeds/%s.ics", (int)n, base, f->name);
}

/* The one place a feed's ics_opts are made: export and the server must
 * agree on the bytes. reuse and spans only save work. */
static int render_feed(const struct model *m, const struct deadlines *ds, const struct feed *f,
                       ics_state_fn state, void *state_userdata, const struct ics_reuse *reuse,
                       struct ics_spans *spans, struct strbuf *out)
{
        _cleanup_free_ char *url = f ? feeds_url(m, f) : NULL;
        struct ics_opts o = {
            .feed = f,
            .state = state,
            .state_userdata = state_userdata,
            .feed_url = url,
            .reuse = reuse,
            .spans = spans,
        };

        return ics_render_feed(m, ds, &o, out);
}

int feeds_render_one(const struct model *m, const struct deadlines *ds, const struct feed *f,
                     ics_state_fn state, void *state_userdata, struct strbuf *out)
{
        return render_feed(m, ds, f, state, state_userdata, NULL, NULL, out);
}

/* gzip (RFC 1952) of buf at zlib's default level, in 1 MiB steps so a
 * compression in a thread can be called off between them (*cancel). */
int feeds_gzip(const char *buf, size_t len, const atomic_bool *cancel, char **out,
               size_t *outlen)
{
        z_stream z = {0};
        int r = Z_OK;

        /* 15 + 16: a gzip header and trailer instead of zlib's. */
        if (deflateInit2(&z, FEEDS_GZIP_LEVEL, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
                return -ENOMEM;
        size_t cap = deflateBound(&z, len);
        char *dst = xmalloc(cap);
        z.next_in = (Bytef *)buf;
        z.next_out = (Bytef *)dst;
        z.avail_out = (uInt)(cap > UINT32_MAX ? UINT32_MAX : cap);
        for (size_t left = len; r == Z_OK;) {
                size_t step = left < (1u << 20) ? left : (1u << 20);
                if (cancel && atomic_load(cancel)) {
                        r = Z_STREAM_ERROR;
                        break;
                }
                z.avail_in += (uInt)step; /* with what the last step left, if any */
                left -= step;
                /* deflateBound covers the whole output: no step runs out of room. */
                r = deflate(&z, left ? Z_NO_FLUSH : Z_FINISH);
        }
        *outlen = (size_t)(z.next_out - (Bytef *)dst);
        deflateEnd(&z);
        if (r != Z_STREAM_END) {
                free(dst);
                return cancel && atomic_load(cancel) ? -ECANCELED : -EFBIG;
        }
        *out = dst;
        return 0;
}

/* Strong ETags: the first 128 bits of SHA-256 over the identity bytes, in
 * hex; the gzip copy is another representation, so "-gz" is appended. One
 * digest serves both (hashing 90 MB costs 60 ms). */
static int make_etags(struct feed_bytes *fb)
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        char hex[33];

        if (!EVP_Digest(fb->body, fb->len, md, &mdlen, EVP_sha256(), NULL) || mdlen < 16)
                return -EIO;
        for (int i = 0; i < 16; i++)
                snprintf(hex + 2 * i, 3, "%02x", md[i]);
        snprintf(fb->etag, sizeof(fb->etag), "\"%s\"", hex);
        /* The gzip bytes depend on the level too: a strong ETag must change with them. */
        snprintf(fb->gz_etag, sizeof(fb->gz_etag), "\"%s-gz%d\"", hex, FEEDS_GZIP_LEVEL);
        return 0;
}

void feeds_prev_from(const struct feedset *fs, struct feeds_prev *out)
{
        *out = (struct feeds_prev){.v = xcalloc(fs->n ? fs->n : 1, sizeof(*out->v)), .n = fs->n};
        for (size_t i = 0; i < fs->n; i++)
                out->v[i] = (struct feeds_prev_one){
                    .name = fs->v[i].feed->name,
                    .ru = {.spans = &fs->v[i].spans, .body = fs->v[i].body, .len = fs->v[i].len}};
}

void feeds_prev_free(struct feeds_prev *p)
{
        free(p->v);
        *p = (struct feeds_prev){0};
}

static const struct ics_reuse *prev_find(const struct feeds_prev *prev, const char *name)
{
        for (size_t i = 0; prev && i < prev->n; i++)
                if (!strcmp(prev->v[i].name, name))
                        return &prev->v[i].ru;
        return NULL;
}

static int render_feed_bytes(const struct model *m, const struct deadlines *ds,
                             const struct feed *f, ics_state_fn state, void *ud,
                             const struct feeds_prev *prev, struct feed_bytes *fb)
{
        struct strbuf sb = {0};
        int r;

        fb->feed = f;
        fb->last_modified = m->mtime;
        r = render_feed(m, ds, f, state, ud, prev_find(prev, f->name), &fb->spans, &sb);
        if (r < 0) {
                sb_free(&sb);
                return r;
        }
        fb->len = sb.len;
        fb->body = sb_steal(&sb);
        /* A big feed is compressed after READY=1, off the loop (compress.c). */
        if (fb->len <= FEEDS_GZIP_NOW_MAX) {
                r = feeds_gzip(fb->body, fb->len, NULL, &fb->gz, &fb->gzlen);
                if (r < 0)
                        return r;
        }
        return make_etags(fb);
}

int feeds_render_all(const struct model *m, const struct deadlines *ds, ics_state_fn state,
                     void *state_userdata, const struct feeds_prev *prev, struct feedset *out)
{
        struct feedset fs = {0};
        int r;

        fs.v = xcalloc(m->nfeeds ? m->nfeeds : 1, sizeof(*fs.v));
        for (uint32_t i = 0; i < m->nfeeds; i++) {
                fs.n++;
                r = render_feed_bytes(m, ds, &m->feeds[i], state, state_userdata, prev,
                                      &fs.v[i]);
                if (r < 0) {
                        log_error_errno(r, "Failed to render feed %s", m->feeds[i].name);
                        feedset_free(&fs);
                        return r;
                }
        }
        *out = fs;
        return 0;
}

void feedset_free(struct feedset *fs)
{
        if (!fs)
                return;
        for (size_t i = 0; i < fs->n; i++) {
                free(fs->v[i].body);
                free(fs->v[i].gz);
                ics_spans_free(&fs->v[i].spans);
        }
        free(fs->v);
        *fs = (struct feedset){0};
}

/* The ledger's feed history. A render looks up each event's state; past
 * HISTORY_PRELOAD_AFTER lookups the rest of the history is read with one
 * SELECT, so an unchanged event is answered from memory and only a new or
 * changed one reaches ledger_feed_state (which stores it). At 200,000 events
 * this replaces 200,000 SQLite point lookups; a small feed of a big ledger
 * never pays for reading all of it. */
#define HISTORY_PRELOAD_AFTER 1024

struct history_row {
        uint64_t hash;
        struct ics_event_state st;
};

/* Keyed by the UID's hash: a lookup touches no string. Two UIDs with one
 * hash cannot mix up states, because a hit must also match the event's
 * content hash (which covers the UID); a miss asks the ledger by UID. */
struct history {
        struct ledger_feed lf;
        struct u64map map; /* hash of uid -> index into v */
        struct history_row *v;
        size_t n, cap, lookups;
        bool preloaded;
};

static uint64_t uid_key(const char *uid)
{
        return hash64(uid, strlen(uid));
}

static void history_set(struct history *h, uint64_t key, uint64_t hash,
                        const struct ics_event_state *st)
{
        uint32_t i = (uint32_t)h->n;

        if (u64map_put(&h->map, key, i, &i)) {
                if (h->n == h->cap) {
                        h->cap = h->cap ? 2 * h->cap : 4096;
                        h->v = xreallocarray(h->v, h->cap, sizeof(*h->v));
                }
                h->n++;
        }
        h->v[i] = (struct history_row){.hash = hash, .st = *st};
}

static int history_add(void *userdata, const char *uid, uint64_t hash,
                       const struct ics_event_state *st)
{
        history_set(userdata, uid_key(uid), hash, st);
        return 0;
}

/* An ics_state_fn over struct history. */
static int history_state(void *userdata, const char *uid, uint64_t hash,
                         struct ics_event_state *out)
{
        struct history *h = userdata;
        uint32_t i;
        int r;

        if (!h->preloaded && ++h->lookups > HISTORY_PRELOAD_AFTER) {
                /* The same connection: rows stored so far are read back too. */
                r = ledger_feed_each(h->lf.l, history_add, h);
                if (r < 0)
                        return r;
                h->preloaded = true;
        }
        if (!h->preloaded)
                return ledger_feed_state(&h->lf, uid, hash, out);
        uint64_t key = uid_key(uid);
        if (u64map_get(&h->map, key, &i) && h->v[i].hash == hash) {
                *out = h->v[i].st;
                return 0;
        }
        r = ledger_feed_state(&h->lf, uid, hash, out);
        if (r >= 0) /* an event in two feeds is stored once */
                history_set(h, key, hash, out);
        return r;
}

/* Commit what the render looked up and stored, or on failure none of it. */
static int history_end(struct ledger *l, struct history *h, int r)
{
        if (r >= 0)
                r = ledger_commit(l);
        if (r < 0)
                ledger_rollback(l);
        u64map_free(&h->map);
        free(h->v);
        return r;
}

/* What a feeds_render_*_history call renders: one feed (f may be NULL) into
 * sb, or, with fs set, every feed into fs. */
struct render_req {
        const struct model *m;
        const struct deadlines *ds;
        const struct feed *f;
        struct strbuf *sb;
        const struct feeds_prev *prev;
        struct feedset *fs;
};

static int run_render(const struct render_req *q, ics_state_fn state, void *ud)
{
        if (q->fs)
                return feeds_render_all(q->m, q->ds, state, ud, q->prev, q->fs);
        return feeds_render_one(q->m, q->ds, q->f, state, ud, q->sb);
}

/* q's render with l's feed history, all in ONE transaction. */
static int render_with_history(const struct render_req *q, struct ledger *l, int64_t now)
{
        struct history h = {.lf = {.l = l, .now = now, .fallback = q->m->mtime}};
        int r;

        if (!l)
                return run_render(q, NULL, NULL);
        r = ledger_begin(l);
        if (r >= 0)
                r = run_render(q, history_state, &h);
        return history_end(l, &h, r);
}

int feeds_render_one_history(const struct model *m, const struct deadlines *ds,
                             const struct feed *f, struct ledger *l, int64_t now,
                             struct strbuf *out)
{
        const struct render_req q = {.m = m, .ds = ds, .f = f, .sb = out};

        return render_with_history(&q, l, now);
}

int feeds_render_all_history(const struct model *m, const struct deadlines *ds, struct ledger *l,
                             int64_t now, const struct feeds_prev *prev, struct feedset *out)
{
        const struct render_req q = {.m = m, .ds = ds, .prev = prev, .fs = out};
        int r = render_with_history(&q, l, now);

        /* Rendered, but the history it used was not committed: not served. */
        if (r < 0 && l)
                feedset_free(out);
        return r;
}

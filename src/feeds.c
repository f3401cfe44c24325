/* feeds.c: render every feed of a model once, with its gzip copy and ETags.
 * `export` and the HTTP server share feeds_render_one, so what is served is
 * byte for byte what is exported for the same config and day. */
#include <errno.h>
#include <openssl/evp.h>
#include <string.h>
#include <zlib.h>

#include "deadlined/feeds.h"
#include "deadlined/ledger.h"
#include "deadlined/log.h"
#include "deadlined/util.h"

char *feeds_url(const struct model *m, const struct feed *f)
{
        const char *base = m->set.public_url ? m->set.public_url : "";
        size_t n = strlen(base);

        /* "http://host/" and "http://host" both give one slash. */
        while (n > 0 && base[n - 1] == '/')
                n--;
        return xasprintf("%.*s/feeds/%s.ics", (int)n, base, f->name);
}

int feeds_render_one(const struct model *m, const struct deadlines *ds, const struct feed *f,
                     ics_state_fn state, void *state_userdata, struct strbuf *out)
{
        _cleanup_free_ char *url = f ? feeds_url(m, f) : NULL;
        struct ics_opts o = {
            .feed = f,
            .state = state,
            .state_userdata = state_userdata,
            .feed_url = url,
        };

        return ics_render_feed(m, ds, &o, out);
}

/* zlib level 1, as nginx's on-the-fly gzip: this runs before READY=1 at
 * start-up and reload. On a 90 MB feed level 9 takes 1.1 s for 5.2 MB,
 * level 6 0.5 s for 5.5 MB, level 1 0.2 s for 7.4 MB (8 % of the identity
 * bytes; a calendar client fetches it once an hour). */
#define FEEDS_GZIP_LEVEL 1

/* gzip (RFC 1952) of buf, made once per model so serving never compresses. */
static int gzip_bytes(const char *buf, size_t len, char **out, size_t *outlen)
{
        z_stream z = {0};
        int r;

        /* 15 + 16: a gzip header and trailer instead of zlib's. */
        if (deflateInit2(&z, FEEDS_GZIP_LEVEL, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
                return -ENOMEM;
        size_t cap = deflateBound(&z, len);
        char *dst = xmalloc(cap);
        z.next_in = (Bytef *)buf;
        z.avail_in = len;
        z.next_out = (Bytef *)dst;
        z.avail_out = cap;
        /* deflateBound covers the whole output, so one Z_FINISH call suffices
         * for inputs under 4 GiB (avail_in is a uInt). */
        r = len > UINT32_MAX ? Z_BUF_ERROR : deflate(&z, Z_FINISH);
        *outlen = cap - z.avail_out;
        deflateEnd(&z);
        if (r != Z_STREAM_END) {
                free(dst);
                return -EFBIG;
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

static int render_feed_bytes(const struct model *m, const struct deadlines *ds,
                             const struct feed *f, ics_state_fn state, void *ud,
                             struct feed_bytes *fb)
{
        struct strbuf sb = {0};
        int r;

        fb->feed = f;
        fb->last_modified = m->mtime;
        r = feeds_render_one(m, ds, f, state, ud, &sb);
        if (r < 0) {
                sb_free(&sb);
                return r;
        }
        fb->len = sb.len;
        fb->body = sb_steal(&sb);
        r = gzip_bytes(fb->body, fb->len, &fb->gz, &fb->gzlen);
        if (r < 0)
                return r;
        return make_etags(fb);
}

int feeds_render_all(const struct model *m, const struct deadlines *ds, ics_state_fn state,
                     void *state_userdata, struct feedset *out)
{
        struct feedset fs = {0};
        int r;

        fs.v = xcalloc(m->nfeeds ? m->nfeeds : 1, sizeof(*fs.v));
        for (uint32_t i = 0; i < m->nfeeds; i++) {
                fs.n++;
                r = render_feed_bytes(m, ds, &m->feeds[i], state, state_userdata, &fs.v[i]);
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
        }
        free(fs->v);
        *fs = (struct feedset){0};
}

/* Commit what the render looked up and stored, or on failure none of it. */
static int history_end(struct ledger *l, int r)
{
        if (r >= 0)
                r = ledger_commit(l);
        if (r < 0)
                ledger_rollback(l);
        return r;
}

int feeds_render_one_history(const struct model *m, const struct deadlines *ds,
                             const struct feed *f, struct ledger *l, int64_t now,
                             struct strbuf *out)
{
        struct ledger_feed lf = {.l = l, .now = now, .fallback = m->mtime};
        int r;

        if (!l)
                return feeds_render_one(m, ds, f, NULL, NULL, out);
        r = ledger_begin(l);
        if (r >= 0)
                r = feeds_render_one(m, ds, f, ledger_feed_state, &lf, out);
        return history_end(l, r);
}

int feeds_render_all_history(const struct model *m, const struct deadlines *ds, struct ledger *l,
                             int64_t now, struct feedset *out)
{
        struct ledger_feed lf = {.l = l, .now = now, .fallback = m->mtime};
        int r;

        if (!l)
                return feeds_render_all(m, ds, NULL, NULL, out);
        r = ledger_begin(l);
        if (r >= 0)
                r = feeds_render_all(m, ds, ledger_feed_state, &lf, out);
        r = history_end(l, r);
        if (r < 0)
                feedset_free(out);
        return r;
}

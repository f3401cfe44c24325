/* snapshot.c: what the daemon serves, as one reference-counted value: a
 * model, its deadlines for one local day, the rendered feeds and every
 * response a feed can get (200 or 304, identity or gzip), built once per
 * snapshot with their headers. The responses point at the rendered bytes
 * (MHD_RESPMEM_PERSISTENT, no copy), so a snapshot lives until the last
 * response sent from it has finished. */
#include <microhttpd.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "deadlined/base/log.h"
#include "deadlined/base/util.h"
#include "deadlined/serve/http.h"
#include "deadlined/serve/snapshot.h"

struct http_model *http_model_new(struct model *m)
{
        struct http_model *hm = xcalloc(1, sizeof(*hm));

        hm->refs = 1;
        hm->m = m;
        return hm;
}

struct http_model *http_model_ref(struct http_model *hm)
{
        if (hm)
                hm->refs++;
        return hm;
}

void http_model_unref(struct http_model *hm)
{
        if (!hm || --hm->refs > 0)
                return;
        model_free(hm->m);
        free(hm);
}

void snapshot_token_digest(const char *token, unsigned char md[SNAPSHOT_DIGEST_LEN])
{
        unsigned int n = 0;

        if (!EVP_Digest(token, strlen(token), md, &n, EVP_sha256(), NULL) ||
            n != SNAPSHOT_DIGEST_LEN)
                fatalx("SHA-256 failed");
}

static void add_header(struct MHD_Response *r, const char *name, const char *value)
{
        if (MHD_add_response_header(r, name, value) != MHD_YES)
                fatalx("Failed to add HTTP header %s", name);
}

static void http_date(int64_t t, char *buf, size_t len)
{
        struct tm tm;
        time_t tt = (time_t)t;

        gmtime_r(&tt, &tm);
        strftime(buf, len, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* One ready-made response: full (200) or headers only (304). */
static struct MHD_Response *feed_response(const struct feed_bytes *fb, bool gz, bool full)
{
        char buf[64];
        void *body = full ? (gz ? fb->gz : fb->body) : (void *)"";
        size_t len = full ? (gz ? fb->gzlen : fb->len) : 0;
        struct MHD_Response *r;

        r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_PERSISTENT);
        if (!r)
                fatalx("Failed to create an HTTP response");
        if (full)
                add_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/calendar; charset=utf-8");
        if (full && gz)
                add_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
        add_header(r, MHD_HTTP_HEADER_ETAG, gz ? fb->gz_etag : fb->etag);
        http_date(fb->last_modified, buf, sizeof(buf));
        add_header(r, MHD_HTTP_HEADER_LAST_MODIFIED, buf);
        /* A token feed holds names: shared caches must not keep it. */
        snprintf(buf, sizeof(buf), "%s, max-age=%d", fb->feed->public ? "public" : "private",
                 HTTP_FEED_MAX_AGE);
        add_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, buf);
        add_header(r, MHD_HTTP_HEADER_VARY, MHD_HTTP_HEADER_ACCEPT_ENCODING);
        return r;
}

struct http_content *http_content_new(struct http_model *hm, dl_day today, struct deadlines *ds,
                                      struct feedset *fs)
{
        struct http_content *c = xcalloc(1, sizeof(*c));

        c->refs = 1;
        c->hm = http_model_ref(hm);
        c->today = today;
        c->ds = *ds;
        c->fs = *fs;
        *ds = (struct deadlines){0};
        *fs = (struct feedset){0};
        c->next_reminder = INT64_MAX;
        for (size_t i = 0; i < c->ds.n; i++)
                if (c->ds.v[i].status < ELEMENTSOF(c->by_status))
                        c->by_status[c->ds.v[i].status]++;
        c->feeds = xcalloc(c->fs.n ? c->fs.n : 1, sizeof(*c->feeds));
        for (size_t i = 0; i < c->fs.n; i++) {
                const struct feed_bytes *fb = &c->fs.v[i];
                struct http_feed *hf = &c->feeds[i];

                if (!fb->feed->public && fb->feed->token) {
                        snapshot_token_digest(fb->feed->token, hf->token_md);
                        hf->has_token = true;
                }
                for (int gz = 0; gz < 1 + !!fb->gz; gz++) {
                        hf->ok[gz] = feed_response(fb, gz, true);
                        hf->not_modified[gz] = feed_response(fb, gz, false);
                }
        }
        return c;
}

void http_content_set_gzip(struct http_content *c, size_t i, char *gz, size_t gzlen)
{
        struct feed_bytes *fb = &c->fs.v[i];

        if (fb->gz) { /* cannot happen: one compression per content */
                free(gz);
                return;
        }
        fb->gz = gz;
        fb->gzlen = gzlen;
        c->feeds[i].ok[1] = feed_response(fb, true, true);
        c->feeds[i].not_modified[1] = feed_response(fb, true, false);
}

struct http_content *http_content_ref(struct http_content *c)
{
        if (c)
                c->refs++;
        return c;
}

void http_content_unref(struct http_content *c)
{
        if (!c || --c->refs > 0)
                return;
        for (size_t i = 0; i < c->fs.n; i++) {
                for (int gz = 0; gz < 2; gz++) {
                        if (c->feeds[i].ok[gz]) /* no gzip copy was made */
                                MHD_destroy_response(c->feeds[i].ok[gz]);
                        if (c->feeds[i].not_modified[gz])
                                MHD_destroy_response(c->feeds[i].not_modified[gz]);
                }
        }
        free(c->feeds);
        feedset_free(&c->fs);
        deadlines_free(&c->ds);
        http_model_unref(c->hm);
        free(c);
}

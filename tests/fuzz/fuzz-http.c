/* fuzz-http: the request decision without MHD. The input is a request as
 * lines: method, then target ("/path?query"), then "Name: value" header
 * fields. The target is decoded with http_unescape, as MHD does through the
 * server's unescape callback, and ?token= taken from the query. Two feeds
 * are served: "commitments" (public) and "school" (token "s3cret-token"). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "deadlined/serve/http.h"
#include "deadlined/base/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TOKEN "s3cret-token"

static struct http_content *content;
static struct feed feeds[2] = {
    {.name = "commitments", .public = true},
    {.name = "school", .token = (char *)TOKEN},
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        struct feedset fs = {.v = xcalloc(2, sizeof(struct feed_bytes)), .n = 2};
        struct deadlines ds = {0};

        for (size_t i = 0; i < 2; i++) {
                struct feed_bytes *fb = &fs.v[i];
                fb->feed = &feeds[i];
                fb->body = xstrdup("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n");
                fb->len = strlen(fb->body);
                fb->gz = xstrdup("gz");
                fb->gzlen = 2;
                snprintf(fb->etag, sizeof(fb->etag), "\"etag%zu\"", i);
                snprintf(fb->gz_etag, sizeof(fb->gz_etag), "\"gzetag%zu\"", i);
                fb->last_modified = 1700000000;
        }
        struct http_model *hm = http_model_new(xcalloc(1, sizeof(struct model)));
        content = http_content_new(hm, 0, &ds, &fs);
        http_model_unref(hm);
        return 0;
}

/* Next line of the input, NUL-terminated in place; NULL at the end. */
static char *next_line(char **p)
{
        char *s = *p, *nl;

        if (!s)
                return NULL;
        nl = strchr(s, '\n');
        *p = nl ? nl + 1 : NULL;
        if (nl)
                *nl = '\0';
        return s;
}

static const char *query_token(char *query)
{
        const char *token = NULL;

        for (char *kv = strtok(query, "&"); kv; kv = strtok(NULL, "&")) {
                char *eq = strchr(kv, '=');
                if (eq)
                        *eq++ = '\0';
                size_t n = http_unescape(kv);
                if (n != strlen(kv))
                        fatalx("http_unescape: length %zu, string %zu", n, strlen(kv));
                if (eq)
                        http_unescape(eq);
                if (!token && !strcmp(kv, "token"))
                        token = eq ? eq : "";
        }
        return token;
}

static void check(const struct http_request *rq, const struct http_route *rt)
{
        bool get = !strcmp(rq->method, "GET") || !strcmp(rq->method, "HEAD");
        unsigned early = http_check_headers(rq);

        if (early && (rt->status != early || rt->target != HTTP_TARGET_NONE))
                fatalx("headers say %u, route says %u", early, rt->status);
        if (!early && !get && rt->status != 405)
                fatalx("method %s: %u", rq->method, rt->status);
        if ((rt->target == HTTP_TARGET_NONE) != (rt->status >= 400))
                fatalx("status %u with target %d", rt->status, rt->target);
        if (rt->target != HTTP_TARGET_FEED)
                return;
        if (rt->feed >= content->fs.n || (rt->status != 200 && rt->status != 304))
                fatalx("feed %zu status %u", rt->feed, rt->status);
        const struct feed *f = content->fs.v[rt->feed].feed;
        size_t n = strlen(f->name);
        if (strncmp(rq->url, "/feeds/", 7) || strncmp(rq->url + 7, f->name, n) ||
            strcmp(rq->url + 7 + n, ".ics"))
                fatalx("%s served for %s", f->name, rq->url);
        if (!f->public && (!rq->token || strcmp(rq->token, TOKEN)))
                fatalx("%s served without its token", f->name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct http_request rq;
        struct http_route rt;

        char *buf = xstrndup((const char *)data, size), *p = buf;
        char *method = next_line(&p), *target = next_line(&p);
        if (!method || !target) {
                free(buf);
                return 0;
        }
        char *query = strchr(target, '?');
        if (query)
                *query++ = '\0';
        http_unescape(target);
        rq = (struct http_request){.method = method, .url = target};
        rq.token = query ? query_token(query) : NULL;
        for (char *h; (h = next_line(&p));) {
                char *colon = strchr(h, ':');
                if (!colon)
                        continue;
                *colon++ = '\0';
                http_request_header(&rq, h, colon + strspn(colon, " \t"));
        }
        http_route(content, &rq, &rt);
        check(&rq, &rt);
        free(buf);
        return 0;
}

/* http.c: the feed server. libmicrohttpd runs in epoll mode with no thread:
 * its epoll fd is an sd_event io source and its next timeout an sd_event
 * timer, so one loop owns everything and an idle server never wakes up.
 *
 * Feeds are served from memory. Every response a feed can get (200 or 304,
 * identity or gzip) is built once per content with its headers and points at
 * the rendered bytes (MHD_RESPMEM_PERSISTENT, no copy). Each request holds a
 * reference on the content it started with, dropped when MHD reports the
 * request completed, so a reload never frees bytes still being sent. */
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "deadlined/http.h"
#include "deadlined/log.h"
#include "deadlined/util.h"

#define DIGEST_LEN 32 /* SHA-256 */

struct http_feed {
        unsigned char token_md[DIGEST_LEN];
        bool has_token;
        struct MHD_Response *ok[2], *not_modified[2]; /* [0] identity, [1] gzip */
};

/* The codes this server answers with; /metrics counts each. */
enum { C200, C304, C400, C404, C405, NCODES };
static const unsigned code_num[NCODES] = {200, 304, 400, 404, 405};

struct http_server {
        struct MHD_Daemon *mhd;
        sd_event_source *io, *timer;
        struct http_content *content;
        const struct http_metrics *metrics;
        struct MHD_Response *r400, *r404, *r405, *rhealth;
        uint64_t requests[NCODES];
        char address[NI_MAXHOST + NI_MAXSERV + 4];
};

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

static void sha256(const void *data, size_t len, unsigned char md[DIGEST_LEN])
{
        unsigned int n = 0;

        if (!EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) || n != DIGEST_LEN)
                fatalx("SHA-256 failed");
}

static void add_header(struct MHD_Response *r, const char *name, const char *value)
{
        if (MHD_add_response_header(r, name, value) != MHD_YES)
                fatalx("Failed to add HTTP header %s", name);
}

static struct MHD_Response *static_response(const char *body)
{
        struct MHD_Response *r;

        r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
        if (!r)
                fatalx("Failed to create an HTTP response");
        add_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
        return r;
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
                        sha256(fb->feed->token, strlen(fb->feed->token), hf->token_md);
                        hf->has_token = true;
                }
                for (int gz = 0; gz < 2; gz++) {
                        hf->ok[gz] = feed_response(fb, gz, true);
                        hf->not_modified[gz] = feed_response(fb, gz, false);
                }
        }
        return c;
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
                        MHD_destroy_response(c->feeds[i].ok[gz]);
                        MHD_destroy_response(c->feeds[i].not_modified[gz]);
                }
        }
        free(c->feeds);
        feedset_free(&c->fs);
        deadlines_free(&c->ds);
        http_model_unref(c->hm);
        free(c);
}

static enum MHD_Result reply(struct http_server *s, struct MHD_Connection *conn, int code,
                             struct MHD_Response *r)
{
        for (int i = 0; i < NCODES; i++)
                if (code_num[i] == (unsigned)code)
                        s->requests[i]++;
        return MHD_queue_response(conn, (unsigned)code, r);
}

static const char *header(struct MHD_Connection *conn, const char *name)
{
        return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

/* Weak comparison (RFC 9110 13.1.2) of each entity tag in an If-None-Match list. */
static bool etag_list_match(const char *list, const char *etag)
{
        size_t elen = strlen(etag);
        const char *p = list;

        for (;;) {
                p += strspn(p, " \t,");
                if (*p == '\0')
                        return false;
                if (*p == '*')
                        return true;
                if (!strncmp(p, "W/", 2))
                        p += 2;
                const char *end = *p == '"' ? strchr(p + 1, '"') : NULL;
                if (!end)
                        return false; /* malformed: match nothing, send the feed */
                end++;
                if ((size_t)(end - p) == elen && !memcmp(p, etag, elen))
                        return true;
                p = end;
        }
}

/* q=0, q=0.0 ... means "not acceptable". */
static bool q_is_zero(const char *p, size_t n)
{
        for (size_t i = 0; i + 2 <= n; i++) {
                if (strncasecmp(p + i, "q=", 2) != 0)
                        continue;
                size_t j = i + 2;
                if (j >= n || p[j] != '0')
                        return false;
                for (j++; j < n && (p[j] == '0' || p[j] == '.'); j++)
                        ;
                return j >= n || p[j] == ' ' || p[j] == '\t' || p[j] == ';';
        }
        return false;
}

static bool accepts_gzip(const char *ae)
{
        const char *p = ae;

        while (p && *p) {
                p += strspn(p, " \t,");
                size_t seg = strcspn(p, ",");
                size_t name = strcspn(p, " \t;,");
                if (name == 4 && !strncasecmp(p, "gzip", 4))
                        return !q_is_zero(p + name, seg - name);
                p += seg;
        }
        return false;
}

static bool not_modified(struct MHD_Connection *conn, const struct feed_bytes *fb, bool gz)
{
        const char *inm = header(conn, MHD_HTTP_HEADER_IF_NONE_MATCH);
        const char *ims;
        struct tm tm = {0};

        /* If-None-Match wins; If-Modified-Since counts only without it (RFC 9110 13.1.3). */
        if (inm)
                return etag_list_match(inm, gz ? fb->gz_etag : fb->etag);
        ims = header(conn, MHD_HTTP_HEADER_IF_MODIFIED_SINCE);
        if (!ims)
                return false;
        const char *end = strptime(ims, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        if (!end || *end)
                return false;
        return fb->last_modified <= (int64_t)timegm(&tm);
}

/* Constant time in the secret: compare SHA-256 digests, so neither a length
 * check nor memcmp's early exit says anything about the token. */
static bool token_ok(const struct http_feed *hf, const char *token)
{
        unsigned char md[DIGEST_LEN];

        if (!token)
                token = "";
        sha256(token, strlen(token), md);
        return CRYPTO_memcmp(md, hf->token_md, DIGEST_LEN) == 0 && hf->has_token;
}

static enum MHD_Result serve_feed(struct http_server *s, struct http_content *c,
                                  struct MHD_Connection *conn, const char *name)
{
        static const struct http_feed nofeed = {.has_token = false};
        const char *token = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "token");
        size_t n = strlen(name);
        ssize_t idx = -1;

        if (n > 4 && !strcmp(name + n - 4, ".ics")) {
                for (size_t i = 0; i < c->fs.n; i++) {
                        const char *fname = c->fs.v[i].feed->name;
                        if (strlen(fname) == n - 4 && !memcmp(fname, name, n - 4))
                                idx = (ssize_t)i;
                }
        }
        const struct http_feed *hf = idx >= 0 ? &c->feeds[idx] : &nofeed;
        /* An unknown feed and a wrong token do the same work and get the same 404. */
        bool allowed = idx >= 0 && c->fs.v[idx].feed->public;
        if (!allowed && token_ok(hf, token) && idx >= 0)
                allowed = true;
        if (!allowed)
                return reply(s, conn, MHD_HTTP_NOT_FOUND, s->r404);

        const struct feed_bytes *fb = &c->fs.v[idx];
        bool gz = accepts_gzip(header(conn, MHD_HTTP_HEADER_ACCEPT_ENCODING));
        if (not_modified(conn, fb, gz))
                return reply(s, conn, MHD_HTTP_NOT_MODIFIED, hf->not_modified[gz]);
        return reply(s, conn, MHD_HTTP_OK, hf->ok[gz]);
}

static enum MHD_Result serve_metrics(struct http_server *s, struct http_content *c,
                                     struct MHD_Connection *conn)
{
        struct strbuf sb = {0};
        struct MHD_Response *r;
        enum MHD_Result ret;

        sb_puts(&sb, "# HELP deadlined_deadlines Deadlines by status on the current local day.\n"
                     "# TYPE deadlined_deadlines gauge\n");
        for (size_t i = 0; i < ELEMENTSOF(c->by_status); i++)
                sb_appendf(&sb, "deadlined_deadlines{status=\"%s\"} %zu\n",
                           deadline_status_name((int)i), c->by_status[i]);
        s->requests[C200]++; /* this scrape is part of the count it reports */
        sb_puts(&sb, "# HELP deadlined_http_requests_total HTTP requests by response code.\n"
                     "# TYPE deadlined_http_requests_total counter\n");
        for (int i = 0; i < NCODES; i++)
                sb_appendf(&sb, "deadlined_http_requests_total{code=\"%u\"} %llu\n", code_num[i],
                           (unsigned long long)s->requests[i]);
        sb_appendf(&sb,
                   "# HELP deadlined_reloads_total Configuration reloads by result.\n"
                   "# TYPE deadlined_reloads_total counter\n"
                   "deadlined_reloads_total{result=\"ok\"} %llu\n"
                   "deadlined_reloads_total{result=\"failed\"} %llu\n"
                   "# HELP deadlined_last_reload_timestamp_seconds When the served model was "
                   "loaded.\n"
                   "# TYPE deadlined_last_reload_timestamp_seconds gauge\n"
                   "deadlined_last_reload_timestamp_seconds %lld\n",
                   (unsigned long long)s->metrics->reloads_ok,
                   (unsigned long long)s->metrics->reloads_failed,
                   (long long)s->metrics->last_reload);
        size_t len = sb.len;
        r = MHD_create_response_from_buffer(len, sb_steal(&sb), MHD_RESPMEM_MUST_FREE);
        if (!r)
                fatalx("Failed to create an HTTP response");
        add_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
        add_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
        MHD_destroy_response(r);
        return ret;
}

static bool has_body(struct MHD_Connection *conn)
{
        const char *cl = header(conn, MHD_HTTP_HEADER_CONTENT_LENGTH);

        return header(conn, MHD_HTTP_HEADER_TRANSFER_ENCODING) || (cl && strcmp(cl, "0") != 0);
}

/* Called first with the headers, then (with no upload) once more, which is
 * where the answer goes: MHD 0.9.75 closes a connection whose response was
 * queued on the first call. A request body is refused at once instead.
 * Paths are matched exactly, never mapped to files: "/feeds/../x" is just
 * another unknown name. MHD has already percent-decoded url. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
        struct http_server *s = cls;
        struct http_content *c = *req_cls;

        if (!c) {
                if (!s->content)
                        return MHD_NO; /* not serving yet: close the connection */
                *req_cls = http_content_ref(s->content);
                if (has_body(conn))
                        return reply(s, conn, MHD_HTTP_BAD_REQUEST, s->r400);
                return MHD_YES;
        }
        if (*upload_data_size) {
                *upload_data_size = 0; /* body bytes after the 400: drop them */
                return MHD_YES;
        }
        log_debug("http: %s %s", method, url);
        if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
                return reply(s, conn, MHD_HTTP_METHOD_NOT_ALLOWED, s->r405);
        if (!strcmp(url, "/healthz"))
                return reply(s, conn, MHD_HTTP_OK, s->rhealth);
        if (!strcmp(url, "/metrics"))
                return serve_metrics(s, c, conn);
        if (str_has_prefix(url, "/feeds/"))
                return serve_feed(s, c, conn, url + strlen("/feeds/"));
        return reply(s, conn, MHD_HTTP_NOT_FOUND, s->r404);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
        http_content_unref(*req_cls);
        *req_cls = NULL;
}

_printf_(2, 0) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
        char buf[512];

        vsnprintf(buf, sizeof(buf), fmt, ap);
        buf[strcspn(buf, "\n")] = '\0';
        log_warnx("http: %s", buf);
}

/* Let MHD do its work, then sleep until its next timeout (none when idle). */
static int http_run(struct http_server *s)
{
        MHD_UNSIGNED_LONG_LONG ms;
        int r;

        if (MHD_run(s->mhd) != MHD_YES)
                log_warnx("http: MHD_run failed");
        if (MHD_get_timeout(s->mhd, &ms) != MHD_YES)
                return sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
        r = sd_event_source_set_time_relative(s->timer, (uint64_t)ms * 1000);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
        if (r < 0)
                log_error_errno(r, "http: Failed to arm the MHD timer");
        return 0;
}

static int on_mhd_io(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
        return http_run(userdata);
}

static int on_mhd_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
        return http_run(userdata);
}

/* "HOST:PORT" or "[V6]:PORT"; an empty host or "*" means every IPv4 address. */
static int split_listen(const char *listen, char *host, size_t hostsz, const char **port)
{
        const char *colon;
        size_t n;

        if (listen[0] == '[') {
                const char *close = strchr(listen, ']');
                if (!close || close[1] != ':')
                        return -EINVAL;
                colon = close + 1;
                listen++;
                n = (size_t)(close - listen);
        } else {
                colon = strrchr(listen, ':');
                if (!colon)
                        return -EINVAL;
                n = (size_t)(colon - listen);
        }
        if (n >= hostsz || colon[1] == '\0')
                return -EINVAL;
        snprintf(host, hostsz, "%.*s", (int)n, listen);
        if (!strcmp(host, "") || !strcmp(host, "*"))
                snprintf(host, hostsz, "0.0.0.0");
        else if (!strcmp(host, "localhost"))
                snprintf(host, hostsz, "127.0.0.1");
        *port = colon + 1;
        return 0;
}

static int bind_listen(const char *addr)
{
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                                 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE};
        struct addrinfo *ai = NULL;
        char host[NI_MAXHOST];
        const char *port;
        int fd = -1, one = 1, r;

        if (split_listen(addr, host, sizeof(host), &port) < 0 ||
            getaddrinfo(host, port, &hints, &ai) != 0) {
                log_errx("http: listen = %s: expected HOST:PORT or [IPV6]:PORT with a numeric "
                         "address",
                         addr);
                return -EINVAL;
        }
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                goto fail;
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
                goto fail;
        if (ai->ai_family == AF_INET6 &&
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
                goto fail;
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0)
                goto fail;
        freeaddrinfo(ai);
        return fd;
fail:
        r = -errno;
        freeaddrinfo(ai);
        if (fd >= 0)
                close(fd);
        return log_error_errno(r, "http: Failed to listen on %s", addr);
}

static void describe_socket(int fd, char *buf, size_t len)
{
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        char host[NI_MAXHOST], serv[NI_MAXSERV];

        snprintf(buf, len, "fd %d", fd);
        if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 ||
            getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), serv, sizeof(serv),
                        NI_NUMERICHOST | NI_NUMERICSERV) != 0)
                return;
        snprintf(buf, len, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, serv);
}

static struct MHD_Daemon *start_mhd(struct http_server *s, int fd)
{
        /* TURBO: opportunistic reads and writes, fewer syscalls per request. */
        return MHD_start_daemon(
            MHD_USE_EPOLL | MHD_USE_TURBO | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, s,
            MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, /* first, or MHD warns */
            MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONN_LIMIT,
            MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)HTTP_PER_IP_LIMIT,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_CONN_TIMEOUT,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY, MHD_OPTION_END);
}

static int attach_loop(struct http_server *s, sd_event *e)
{
        const union MHD_DaemonInfo *info;
        int r;

        info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
        if (!info)
                return -EIO;
        r = sd_event_add_io(e, &s->io, info->epoll_fd, EPOLLIN, on_mhd_io, s);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(e, &s->timer, CLOCK_MONOTONIC, 0, 1, on_mhd_timer, s);
        if (r < 0)
                return r;
        /* accuracy 1 us: a zero timeout (data already pending) must not wait for coalescing. */
        r = sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
        if (r < 0)
                return r;
        (void)sd_event_source_set_description(s->io, "http-io");
        (void)sd_event_source_set_description(s->timer, "http-timer");
        /* No MHD_run yet: the io source fires once the loop runs, after
         * http_set_content (a socket-activated backlog may already be waiting). */
        return 0;
}

int http_start(sd_event *e, const char *listen, int listen_fd, const struct http_metrics *metrics,
               struct http_server **out)
{
        struct http_server *s;
        int fd = listen_fd, r;

        if (fd < 0) {
                fd = bind_listen(listen);
                if (fd < 0)
                        return fd;
        } else if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
                return log_error_errno(-errno, "http: Failed to make fd %d non-blocking", fd);
        }
        s = xcalloc(1, sizeof(*s));
        s->metrics = metrics;
        describe_socket(fd, s->address, sizeof(s->address));
        s->r400 = static_response("Bad Request: request bodies are not accepted\n");
        add_header(s->r400, MHD_HTTP_HEADER_CONNECTION, "close");
        s->r404 = static_response("Not Found\n");
        s->r405 = static_response("Method Not Allowed\n");
        add_header(s->r405, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
        s->rhealth = static_response("ok\n");
        add_header(s->rhealth, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        s->mhd = start_mhd(s, fd);
        if (!s->mhd) {
                log_errx("http: Failed to start the HTTP server on %s", s->address);
                close(fd);
                http_stop(s);
                return -EIO;
        }
        r = attach_loop(s, e);
        if (r < 0) {
                http_stop(s);
                return log_error_errno(r, "http: Failed to attach to the event loop");
        }
        *out = s;
        return 0;
}

void http_set_content(struct http_server *s, struct http_content *c)
{
        struct http_content *old = s->content;

        s->content = http_content_ref(c);
        http_content_unref(old);
}

const char *http_address(const struct http_server *s)
{
        return s->address;
}

void http_stop(struct http_server *s)
{
        if (!s)
                return;
        sd_event_source_disable_unref(s->io);
        sd_event_source_disable_unref(s->timer);
        /* Closes every connection; on_completed drops their content references. */
        if (s->mhd)
                MHD_stop_daemon(s->mhd);
        MHD_destroy_response(s->r400);
        MHD_destroy_response(s->r404);
        MHD_destroy_response(s->r405);
        MHD_destroy_response(s->rhealth);
        http_content_unref(s->content);
        free(s);
}

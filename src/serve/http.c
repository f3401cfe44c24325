/* http.c: the feed server. libmicrohttpd runs in epoll mode with no thread:
 * its epoll fd is an sd_event io source and its next timeout an sd_event
 * timer, so one loop owns everything and an idle server never wakes up.
 *
 * Feeds are served from memory, with the responses the snapshot built
 * (snapshot.c). Each request holds a reference on the content it started
 * with, dropped when MHD reports the request completed, so a reload never
 * frees bytes still being sent. */
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "deadlined/serve/http.h"
#include "deadlined/base/log.h"
#include "deadlined/base/util.h"

/* The codes this server answers with; /metrics counts each. */
enum { C200, C304, C400, C404, C405, C431, NCODES };
static const unsigned code_num[NCODES] = {200, 304, 400, 404, 405, 431};

/* A connection waiting for a request head. MHD's timeout only measures
 * inactivity, so a client sending a byte a second (slowloris) would hold a
 * connection forever; these sit in a list, oldest first, and a timer shuts
 * down any that have not sent a whole head within the timeout. */
struct http_conn {
        struct http_conn *prev, *next;
        struct MHD_Connection *mhd;
        uint64_t since; /* CLOCK_MONOTONIC usec; meaningful while listed */
        bool listed;
};

struct http_server {
        struct MHD_Daemon *mhd;
        sd_event_source *io, *timer;
        struct http_content *content;
        const struct http_metrics *metrics;
        struct MHD_Response *r400, *r404, *r405, *r431, *rhealth;
        uint64_t requests[NCODES];
        sd_event_source *head_timer; /* the oldest waiting connection's deadline */
        struct http_conn *wait_head, *wait_tail;
        unsigned timeout; /* seconds */
        char address[NI_MAXHOST + NI_MAXSERV + 4];
};

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

static void conn_unlink(struct http_server *s, struct http_conn *hc)
{
        if (!hc->listed)
                return;
        *(hc->prev ? &hc->prev->next : &s->wait_head) = hc->next;
        *(hc->next ? &hc->next->prev : &s->wait_tail) = hc->prev;
        hc->prev = hc->next = NULL;
        hc->listed = false;
}

static void arm_head_timer(struct http_server *s)
{
        int r;

        if (!s->head_timer)
                return; /* stopping */
        if (!s->wait_head) {
                (void)sd_event_source_set_enabled(s->head_timer, SD_EVENT_OFF);
                return;
        }
        r = sd_event_source_set_time(s->head_timer,
                                     s->wait_head->since + (uint64_t)s->timeout * 1000000);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->head_timer, SD_EVENT_ONESHOT);
        if (r < 0)
                log_error_errno(r, "http: Failed to arm the request head timer");
}

/* The connection starts waiting for a request head: at accept, and after each response. */
static void conn_wait(struct http_server *s, struct http_conn *hc)
{
        uint64_t now = 0;

        conn_unlink(s, hc);
        if (!s->head_timer)
                return;
        (void)sd_event_now(sd_event_source_get_event(s->head_timer), CLOCK_MONOTONIC, &now);
        hc->since = now;
        hc->prev = s->wait_tail;
        *(s->wait_tail ? &s->wait_tail->next : &s->wait_head) = hc;
        s->wait_tail = hc;
        hc->listed = true;
        if (s->wait_head == hc)
                arm_head_timer(s);
}

static struct http_conn *conn_of(struct MHD_Connection *conn)
{
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

        return info ? info->socket_context : NULL;
}

/* A request head arrived: the per-request path takes over. */
static void conn_busy(struct http_server *s, struct MHD_Connection *conn)
{
        struct http_conn *hc = conn_of(conn);

        if (hc)
                conn_unlink(s, hc);
}

/* Shut the overdue ones down; MHD sees the end of the stream and closes them. */
static int on_head_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
        struct http_server *s = userdata;
        uint64_t limit = (uint64_t)s->timeout * 1000000;

        while (s->wait_head && s->wait_head->since + limit <= usec) {
                struct http_conn *hc = s->wait_head;
                const union MHD_ConnectionInfo *info =
                    MHD_get_connection_info(hc->mhd, MHD_CONNECTION_INFO_CONNECTION_FD);
                conn_unlink(s, hc);
                if (info)
                        (void)shutdown(info->connect_fd, SHUT_RDWR);
        }
        arm_head_timer(s);
        return 0;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code)
{
        struct http_server *s = cls;
        struct http_conn *hc = *socket_ctx;

        if (code == MHD_CONNECTION_NOTIFY_STARTED) {
                hc = xcalloc(1, sizeof(*hc));
                hc->mhd = conn;
                *socket_ctx = hc;
                conn_wait(s, hc);
        } else if (hc) {
                conn_unlink(s, hc);
                free(hc);
                *socket_ctx = NULL;
        }
}

static int hex_digit(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
                return (c | 0x20) - 'a' + 10;
        return -1;
}

size_t http_unescape(char *s)
{
        char *out = s;

        for (const char *p = s; *p; p++) {
                int hi = p[0] == '%' ? hex_digit(p[1]) : -1;
                int lo = hi >= 0 ? hex_digit(p[2]) : -1;
                if (lo >= 0 && (hi | lo) != 0) {
                        *out++ = (char)(hi << 4 | lo);
                        p += 2;
                } else {
                        *out++ = *p;
                }
        }
        *out = '\0';
        return (size_t)(out - s);
}

static size_t on_unescape(void *cls, struct MHD_Connection *conn, char *uri)
{
        return http_unescape(uri);
}

static enum MHD_Result reply(struct http_server *s, struct MHD_Connection *conn, unsigned code,
                             struct MHD_Response *r)
{
        for (int i = 0; i < NCODES; i++)
                if (code_num[i] == code)
                        s->requests[i]++;
        return MHD_queue_response(conn, code, r);
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

static bool not_modified(const struct http_request *rq, const struct feed_bytes *fb, bool gz)
{
        struct tm tm = {0};

        /* If-None-Match wins; If-Modified-Since counts only without it (RFC 9110 13.1.3). */
        if (rq->if_none_match)
                return etag_list_match(rq->if_none_match, gz ? fb->gz_etag : fb->etag);
        if (!rq->if_modified_since)
                return false;
        const char *end = strptime(rq->if_modified_since, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        if (!end || *end)
                return false;
        return fb->last_modified <= (int64_t)timegm(&tm);
}

/* Constant time in the secret: compare SHA-256 digests, so neither a length
 * check nor memcmp's early exit says anything about the token. */
static bool token_ok(const struct http_feed *hf, const char *token)
{
        unsigned char md[SNAPSHOT_DIGEST_LEN];

        if (!token)
                token = "";
        snapshot_token_digest(token, md);
        return CRYPTO_memcmp(md, hf->token_md, SNAPSHOT_DIGEST_LEN) == 0 && hf->has_token;
}

/* name is what follows "/feeds/". -1 when unknown or the token is wrong. */
static ssize_t find_feed(const struct http_content *c, const char *name, const char *token)
{
        static const struct http_feed nofeed = {.has_token = false};
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
        return allowed ? idx : -1;
}

unsigned http_check_headers(const struct http_request *rq)
{
        if (rq->header_bytes > HTTP_MAX_HEADER_BYTES)
                return MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE;
        /* Two lengths could be read two ways by a proxy in front: refuse, never pick one. */
        if (rq->n_content_length > 1 || rq->transfer_encoding)
                return MHD_HTTP_BAD_REQUEST;
        if (rq->content_length && strcmp(rq->content_length, "0") != 0)
                return MHD_HTTP_BAD_REQUEST;
        return 0;
}

void http_route(const struct http_content *c, const struct http_request *rq, struct http_route *out)
{
        *out = (struct http_route){.status = http_check_headers(rq), .target = HTTP_TARGET_NONE};
        if (out->status)
                return;
        out->status = MHD_HTTP_NOT_FOUND;
        if (strcmp(rq->method, MHD_HTTP_METHOD_GET) && strcmp(rq->method, MHD_HTTP_METHOD_HEAD))
                out->status = MHD_HTTP_METHOD_NOT_ALLOWED;
        else if (!strcmp(rq->url, "/healthz"))
                *out = (struct http_route){.status = MHD_HTTP_OK, .target = HTTP_TARGET_HEALTH};
        else if (!strcmp(rq->url, "/metrics"))
                *out = (struct http_route){.status = MHD_HTTP_OK, .target = HTTP_TARGET_METRICS};
        if (out->status != MHD_HTTP_NOT_FOUND || !str_has_prefix(rq->url, "/feeds/"))
                return;
        ssize_t idx = find_feed(c, rq->url + strlen("/feeds/"), rq->token);
        if (idx < 0)
                return;
        out->target = HTTP_TARGET_FEED;
        out->feed = (size_t)idx;
        /* A big feed's gzip copy is made after READY=1: identity until then. */
        out->gzip = c->fs.v[idx].gz && accepts_gzip(rq->accept_encoding);
        out->status =
            not_modified(rq, &c->fs.v[idx], out->gzip) ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK;
}

static void delivery_metrics(struct strbuf *sb, const struct http_metrics *m)
{
        static const char *const results[] = {"sent", "retry", "failed", "skipped"};
        const uint64_t counts[] = {m->sent, m->retry, m->failed, m->skipped};

        sb_puts(sb, "# HELP deadlined_reminders_total Reminder messages by result (skipped: "
                    "reminders older than catch_up).\n"
                    "# TYPE deadlined_reminders_total counter\n");
        for (size_t i = 0; i < ELEMENTSOF(results); i++)
                sb_appendf(sb, "deadlined_reminders_total{result=\"%s\"} %llu\n", results[i],
                           (unsigned long long)counts[i]);
        sb_appendf(sb,
                   "# HELP deadlined_delivery_passes_total Delivery passes finished.\n"
                   "# TYPE deadlined_delivery_passes_total counter\n"
                   "deadlined_delivery_passes_total %llu\n"
                   "# HELP deadlined_last_pass_timestamp_seconds When the last delivery pass "
                   "finished (0: none yet).\n"
                   "# TYPE deadlined_last_pass_timestamp_seconds gauge\n"
                   "deadlined_last_pass_timestamp_seconds %lld\n"
                   "# HELP deadlined_ledger_errors_total Delivery passes the ledger refused "
                   "(full, locked, I/O).\n"
                   "# TYPE deadlined_ledger_errors_total counter\n"
                   "deadlined_ledger_errors_total %llu\n"
                   "# HELP deadlined_delivery_paused 1 while delivery waits for the ledger.\n"
                   "# TYPE deadlined_delivery_paused gauge\n"
                   "deadlined_delivery_paused %d\n"
                   "# HELP deadlined_next_reminder_timestamp_seconds The next reminder or "
                   "retry (absent: none).\n"
                   "# TYPE deadlined_next_reminder_timestamp_seconds gauge\n",
                   (unsigned long long)m->passes, (long long)m->last_pass,
                   (unsigned long long)m->ledger_errors, m->paused ? 1 : 0);
        if (m->next_reminder != INT64_MAX)
                sb_appendf(sb, "deadlined_next_reminder_timestamp_seconds %lld\n",
                           (long long)m->next_reminder);
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
        delivery_metrics(&sb, s->metrics);
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

void http_request_header(struct http_request *rq, const char *name, const char *value)
{
        if (!value)
                value = "";
        rq->header_bytes += strlen(name) + strlen(value);
        if (!strcasecmp(name, MHD_HTTP_HEADER_CONTENT_LENGTH) && !rq->n_content_length++)
                rq->content_length = value;
        else if (!strcasecmp(name, MHD_HTTP_HEADER_TRANSFER_ENCODING))
                rq->transfer_encoding = true;
        else if (!strcasecmp(name, MHD_HTTP_HEADER_ACCEPT_ENCODING) && !rq->accept_encoding)
                rq->accept_encoding = value;
        else if (!strcasecmp(name, MHD_HTTP_HEADER_IF_NONE_MATCH) && !rq->if_none_match)
                rq->if_none_match = value;
        else if (!strcasecmp(name, MHD_HTTP_HEADER_IF_MODIFIED_SINCE) && !rq->if_modified_since)
                rq->if_modified_since = value;
}

static enum MHD_Result on_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
        http_request_header(cls, key, value);
        return MHD_YES;
}

static void read_request(struct MHD_Connection *conn, const char *method, const char *url,
                         struct http_request *rq)
{
        *rq = (struct http_request){.method = method, .url = url};
        rq->token = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "token");
        MHD_get_connection_values(conn, MHD_HEADER_KIND, on_header, rq);
}

static enum MHD_Result answer(struct http_server *s, struct http_content *c,
                              struct MHD_Connection *conn, const struct http_route *rt)
{
        switch (rt->target) {
        case HTTP_TARGET_HEALTH:
                return reply(s, conn, rt->status, s->rhealth);
        case HTTP_TARGET_METRICS:
                return serve_metrics(s, c, conn);
        case HTTP_TARGET_FEED: {
                const struct http_feed *hf = &c->feeds[rt->feed];
                return reply(s, conn, rt->status,
                             rt->status == MHD_HTTP_NOT_MODIFIED ? hf->not_modified[rt->gzip]
                                                                 : hf->ok[rt->gzip]);
        }
        case HTTP_TARGET_NONE:
                break;
        }
        if (rt->status == MHD_HTTP_BAD_REQUEST)
                return reply(s, conn, rt->status, s->r400);
        if (rt->status == MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE)
                return reply(s, conn, rt->status, s->r431);
        if (rt->status == MHD_HTTP_METHOD_NOT_ALLOWED)
                return reply(s, conn, rt->status, s->r405);
        return reply(s, conn, MHD_HTTP_NOT_FOUND, s->r404);
}

/* Called first with the headers, then (with no upload) once more, which is
 * where the answer goes: MHD 0.9.75 closes a connection whose response was
 * queued on the first call. A request body or oversized headers are refused
 * at once instead. Paths are matched exactly, never mapped to files:
 * "/feeds/../x" is just another unknown name. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
        struct http_server *s = cls;
        struct http_content *c = *req_cls;
        struct http_request rq;
        struct http_route rt;

        if (!c) {
                if (!s->content)
                        return MHD_NO; /* not serving yet: close the connection */
                conn_busy(s, conn);
                *req_cls = http_content_ref(s->content);
                read_request(conn, method, url, &rq);
                rt.status = http_check_headers(&rq);
                if (rt.status) {
                        rt.target = HTTP_TARGET_NONE;
                        return answer(s, c, conn, &rt);
                }
                return MHD_YES;
        }
        if (*upload_data_size) {
                *upload_data_size = 0; /* body bytes after the 400: drop them */
                return MHD_YES;
        }
        log_debug("http: %s %s", method, url);
        read_request(conn, method, url, &rq);
        http_route(c, &rq, &rt);
        return answer(s, c, conn, &rt);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
        struct http_server *s = cls;
        struct http_conn *hc = conn_of(conn);

        http_content_unref(*req_cls);
        *req_cls = NULL;
        if (hc && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
                conn_wait(s, hc); /* keep-alive: the next head has a deadline too */
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
            MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_UNESCAPE_CALLBACK,
            on_unescape, NULL, MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONN_LIMIT,
            MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)HTTP_PER_IP_LIMIT,
            MHD_OPTION_CONNECTION_TIMEOUT, s->timeout, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
            (size_t)HTTP_CONN_MEMORY, MHD_OPTION_END);
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
        r = sd_event_add_time(e, &s->head_timer, CLOCK_MONOTONIC, UINT64_MAX, 100000, on_head_timer,
                              s);
        if (r < 0)
                return r;
        (void)sd_event_source_set_description(s->head_timer, "http-head-timeout");
        (void)sd_event_source_set_description(s->io, "http-io");
        (void)sd_event_source_set_description(s->timer, "http-timer");
        /* No MHD_run yet: the io source fires once the loop runs, after
         * http_set_content (a socket-activated backlog may already be waiting). */
        return 0;
}

static unsigned conn_timeout(void)
{
#ifdef DEADLINED_FAULTS
        /* Test builds only: slowloris and idle tests need not wait 30 s. */
        const char *v = getenv("DEADLINED_HTTP_TIMEOUT");
        char *end;
        unsigned long t = v ? strtoul(v, &end, 10) : 0;

        if (v && *end == '\0' && t > 0 && t <= HTTP_CONN_TIMEOUT)
                return (unsigned)t;
#endif
        return HTTP_CONN_TIMEOUT;
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
        s->timeout = conn_timeout();
        describe_socket(fd, s->address, sizeof(s->address));
        s->r400 = static_response("Bad Request: request bodies are not accepted\n");
        add_header(s->r400, MHD_HTTP_HEADER_CONNECTION, "close");
        s->r404 = static_response("Not Found\n");
        s->r405 = static_response("Method Not Allowed\n");
        add_header(s->r405, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
        s->r431 = static_response("Request Header Fields Too Large\n");
        add_header(s->r431, MHD_HTTP_HEADER_CONNECTION, "close");
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
        s->head_timer = sd_event_source_disable_unref(s->head_timer); /* NULL: no re-arming */
        /* Closes every connection; on_completed drops their content references. */
        if (s->mhd)
                MHD_stop_daemon(s->mhd);
        MHD_destroy_response(s->r400);
        MHD_destroy_response(s->r404);
        MHD_destroy_response(s->r405);
        MHD_destroy_response(s->r431);
        MHD_destroy_response(s->rhealth);
        http_content_unref(s->content);
        free(s);
}

/* http.h: the feed server. libmicrohttpd in epoll mode with no thread of its
 * own, driven from the daemon's sd_event loop. It serves the feed bytes of
 * one http_content (snapshot.h), swapped atomically on reload. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>
#include "deadlined/serve/snapshot.h"

/* Limits, documented in deadlined(8). */
#define HTTP_CONN_LIMIT 512             /* connections in total */
#define HTTP_PER_IP_LIMIT 64            /* connections from one address */
#define HTTP_CONN_TIMEOUT 30            /* seconds: idle, or to send a whole request head */
#define HTTP_CONN_MEMORY (32 << 10)     /* per-connection buffer: request line and headers */
#define HTTP_FEED_MAX_AGE 3600          /* Cache-Control max-age of feeds, seconds */
#define HTTP_MAX_HEADER_BYTES (8 << 10) /* header names + values; more gets 431 */

/* Counters the daemon keeps and /metrics shows. Reminder results count
 * messages (a digest is one), except skipped, which counts reminders. */
struct http_metrics {
        uint64_t reloads_ok, reloads_failed;
        int64_t last_reload; /* unix seconds of the last successful (re)load */
        uint64_t sent, retry, failed, skipped;
        uint64_t passes;        /* delivery passes finished */
        uint64_t ledger_errors; /* passes that could not claim or record in the ledger */
        int64_t last_pass;      /* when the last pass finished; 0: none yet */
        int64_t next_reminder;  /* next reminder or retry; INT64_MAX: none */
        bool paused;            /* delivery waits for the ledger to be writable */
};

/* What decides a request's answer, as MHD parsed it. NULL when absent. */
struct http_request {
        const char *method, *url; /* url percent-decoded, except "%00" which stays as is */
        const char *token;        /* ?token= */
        const char *accept_encoding, *if_none_match, *if_modified_since, *content_length;
        unsigned n_content_length; /* Content-Length fields: more than one is refused */
        bool transfer_encoding;
        size_t header_bytes; /* names and values of every header field */
};

enum http_target { HTTP_TARGET_NONE, HTTP_TARGET_HEALTH, HTTP_TARGET_METRICS, HTTP_TARGET_FEED };
struct http_route {
        unsigned status;         /* 200, 304, 400, 404, 405 or 431 */
        enum http_target target; /* NONE for an error status */
        size_t feed;             /* HTTP_TARGET_FEED: index into c->fs.v */
        bool gzip;               /* the gzip representation */
};
/* Percent-decode s in place as MHD would, but leave "%00" undecoded, so
 * no NUL can cut a name short. Returns the new length. */
size_t http_unescape(char *s);
/* Fold one header field into rq (the first of each kind counts). */
void http_request_header(struct http_request *rq, const char *name, const char *value);
/* The headers alone: 400 (a body, several Content-Length), 431 (too large), or 0. */
unsigned http_check_headers(const struct http_request *rq);
/* The whole answer, headers included. Pure: no MHD, no clock; c may not be NULL. */
void http_route(const struct http_content *c, const struct http_request *rq,
                struct http_route *out);

struct http_server;
/* Serve on listen_fd if >= 0 (socket activation; the server takes it over),
 * else bind listen ("HOST:PORT", "[V6]:PORT"). metrics must outlive the
 * server. Returns 0 or a negative errno (logged). Builds with
 * -DDEADLINED_FAULTS take HTTP_CONN_TIMEOUT from $DEADLINED_HTTP_TIMEOUT
 * (seconds), for the tests. */
int http_start(sd_event *e, const char *listen, int listen_fd, const struct http_metrics *metrics,
               struct http_server **out);
/* Serve c from now on; takes its own reference. */
void http_set_content(struct http_server *s, struct http_content *c);
/* The address actually bound, e.g. "127.0.0.1:8025". */
const char *http_address(const struct http_server *s);
/* Stops listening, closes connections, drops the content reference. NULL is fine. */
void http_stop(struct http_server *s);

/* webhook.h: reminder webhooks. Payloads (json, slack, teams) are built with
 * jansson and are pure; the send path builds a libcurl HTTP easy handle.
 *
 * json schema (format = json):
 *   {"type": "deadlined.reminder", "idempotency_key": HEX, "sent_at": RFC3339,
 *    "deadlines": [{"id", "title", "due" (as configured: 2027 | 2027-03 | 2027-03-14),
 *                   "precision" (day|month|year), "status", "days_left",
 *                   "person": {"id", "name", "org"} | null, "rule": ID | null,
 *                   "owner": TEXT | null, "url": URL | null, "source": TEXT | null,
 *                   "reminder": {"kind": "lead", "lead": "6m"} | {"kind": "overdue", "repeat": N}}]}
 * Headers: Content-Type: application/json, Idempotency-Key: HEX, and with a
 * secret X-Deadlined-Timestamp: UNIX and
 * X-Deadlined-Signature: sha256=HEX(HMAC-SHA256(secret, TIMESTAMP "." BODY)). */
#pragma once
#include <curl/curl.h>
#include <stdint.h>
#include "deadlined/deliver/mail.h"

int webhook_payload(const struct model *m, const struct webhook *w, const struct mail_entry *e,
                    size_t n, int64_t now, const char *idem, struct strbuf *out);
int webhook_payload_test(const struct model *m, const struct webhook *w, int64_t now,
                         const char *idem, struct strbuf *out);
/* Lowercase hex HMAC-SHA256 over "TS.BODY". */
void webhook_sign(const char *secret, size_t secret_len, int64_t ts, const char *body,
                  size_t len, char hex[65]);

struct webhook_upload {
        char *body;
        size_t len;
        struct curl_slist *headers;
        char errbuf[CURL_ERROR_SIZE];
};
/* A POST of body (taken, also on error) to w->url: http/https only, no redirects. */
int webhook_easy_new(const struct webhook *w, char *body, size_t len, const char *idem,
                     int64_t now, long timeout, struct webhook_upload **up, CURL **out);
void webhook_upload_free(struct webhook_upload *up);
/* 0 delivered (2xx), -EAGAIN transient (5xx, 429, timeout, refused; *retry_at
 * set from Retry-After when given, else 0), -EPERM permanent (3xx, other 4xx). */
int webhook_result(CURL *easy, CURLcode rc, const struct webhook_upload *up, int64_t now,
                   int64_t *retry_at, char *err, size_t len);

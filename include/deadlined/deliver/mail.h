/* mail.h: reminder emails. Composition (RFC 5322, MIME, RFC 2047) is pure;
 * the send path builds a libcurl SMTP easy handle for the caller's multi. */
#pragma once
#include <curl/curl.h>
#include <stdint.h>
#include "deadlined/core/deadline.h"
#include "deadlined/core/schedule.h"
#include "deadlined/base/util.h"

/* One deadline in a digest, with the reminder that brought it. */
struct mail_entry {
        const struct deadline *d;
        struct reminder r;
};

/* An address as it may appear in MAIL FROM/RCPT TO and a To: header:
 * local@domain, printable ASCII or UTF-8, no control characters, spaces,
 * CR, LF, '<', '>', '"', ',' or ';'. Returns 0 or -EINVAL. */
int mail_check_address(const char *addr);
/* Split "Name <addr>" or "addr"; both parts checked. *name may be NULL. */
int mail_parse_from(const char *from, char **name, char **addr);
/* The raw (UTF-8) subject of a digest. malloc'ed. */
char *mail_subject(const struct model *m, const struct mail_entry *e, size_t n);
/* RFC 2047: ASCII stays as is; otherwise =?UTF-8?B?...?= words of at most
 * 75 characters, folded with CRLF SP. CR/LF in s give -EINVAL. */
int mail_encode_header(const char *s, struct strbuf *out);
/* RFC 5322 date of t in the zone: "Mon, 15 Jun 2026 09:00:00 +0100". buf >= 40. */
const char *mail_date(const struct tz *tz, int64_t t, char *buf, size_t len);
/* The whole message, CRLF line ends: headers, a quoted-printable text part and
 * a text/calendar part (base64). from: the configured "Name <addr>" (NULL:
 * deadlined@uid_domain). Returns 0 or -EINVAL (bad address or header). */
int mail_compose(const struct model *m, const char *from, const char *to,
                 const struct mail_entry *e, size_t n, int64_t now, const char *message_id,
                 struct strbuf *out);
/* A test message for send-test. */
int mail_compose_test(const struct model *m, const char *from, const char *to, int64_t now,
                      const char *message_id, struct strbuf *out);

/* One upload in flight: owns the message bytes and recipient list. */
struct mail_upload {
        char *data;
        size_t len, off;
        struct curl_slist *rcpt;
        char errbuf[CURL_ERROR_SIZE];
};
/* An SMTP easy handle for one message to one address (takes body). STARTTLS
 * is required unless tls = none, which only a loopback relay may use;
 * verification is never disabled. Returns 0 or -EINVAL / -EPERM. */
int mail_easy_new(const struct smtp *s, const char *to, char *body, size_t len, long timeout,
                  struct mail_upload **up, CURL **out);
void mail_upload_free(struct mail_upload *up);
/* After the transfer: 0 sent, -EAGAIN transient (4xx, refused, timeout, TLS),
 * -EPERM permanent (5xx). err gets a one-line reason. */
int mail_result(CURL *easy, CURLcode rc, const struct mail_upload *up, char *err, size_t len);

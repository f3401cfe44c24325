/* mail.c: compose reminder emails (pure) and build SMTP transfers (libcurl).
 *
 * Every header value is checked for CR/LF before it is written, and every
 * address before it reaches curl: a newline in a name or address would let
 * config data inject headers or SMTP commands. */
#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "deadlined/core/ics.h"
#include "deadlined/deliver/mail.h"
#include "deadlined/base/util.h"

int mail_check_address(const char *addr)
{
        const char *at;

        if (!addr || !*addr || strlen(addr) > 254)
                return -EINVAL;
        for (const unsigned char *p = (const unsigned char *)addr; *p; p++)
                if (*p <= ' ' || *p == 0x7f || strchr("<>\",;()[]\\", *p))
                        return -EINVAL;
        if (utf8_check(addr, strlen(addr), false) >= 0)
                return -EINVAL;
        at = strrchr(addr, '@');
        if (!at || at == addr || !at[1] || strchr(addr, '@') != at)
                return -EINVAL;
        return 0;
}

static bool has_crlf_or_ctl(const char *s)
{
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                if (*p < ' ' || *p == 0x7f)
                        return true;
        return false;
}

int mail_parse_from(const char *from, char **name, char **addr)
{
        const char *lt = strchr(from, '<'), *gt;
        _cleanup_free_ char *n = NULL, *a = NULL;

        if (has_crlf_or_ctl(from))
                return -EINVAL;
        if (!lt) {
                a = xstrdup(from);
        } else {
                gt = strchr(lt, '>');
                if (!gt || gt[1])
                        return -EINVAL;
                a = xstrndup(lt + 1, (size_t)(gt - lt - 1));
                const char *s = from, *e = lt;
                while (s < e && (*s == ' ' || *s == '"'))
                        s++;
                while (e > s && (e[-1] == ' ' || e[-1] == '"'))
                        e--;
                if (e > s)
                        n = xstrndup(s, (size_t)(e - s));
        }
        if (mail_check_address(a) < 0 || (n && strchr(n, '"')))
                return -EINVAL;
        *name = TAKE_PTR(n);
        *addr = TAKE_PTR(a);
        return 0;
}

static bool is_ascii(const char *s)
{
        for (; *s; s++)
                if ((unsigned char)*s >= 0x80)
                        return false;
        return true;
}

/* Encoded words hold at most 45 input bytes (60 base64 chars, 72 in all),
 * cut on UTF-8 character boundaries. */
int mail_encode_header(const char *s, struct strbuf *out)
{
        size_t len = strlen(s), off = 0;

        if (has_crlf_or_ctl(s))
                return -EINVAL;
        if (is_ascii(s)) {
                sb_puts(out, s);
                return 0;
        }
        while (off < len) {
                size_t n = len - off > 45 ? 45 : len - off;
                unsigned char b64[64];

                while (off + n < len && n > 0 && ((unsigned char)s[off + n] & 0xc0) == 0x80)
                        n--;
                EVP_EncodeBlock(b64, (const unsigned char *)s + off, (int)n);
                if (off)
                        sb_puts(out, "\r\n ");
                sb_appendf(out, "=?UTF-8?B?%s?=", b64);
                off += n;
        }
        return 0;
}

const char *mail_date(const struct tz *tz, int64_t t, char *buf, size_t len)
{
        static const char *const wd[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
        static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
        int32_t off = tz_offset_at(tz, t, NULL);
        int64_t local = t + off;
        int64_t secs = ((local % 86400) + 86400) % 86400;
        dl_day day = (dl_day)((local - secs) / 86400);
        int y, mo, d, a = off < 0 ? -off : off;

        date_to_ymd(day, &y, &mo, &d);
        snprintf(buf, len, "%s, %d %s %04d %02d:%02d:%02d %c%02d%02d", wd[date_weekday(day)], d,
                 mon[mo - 1], y, (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60),
                 off < 0 ? '-' : '+', a / 3600, a / 60 % 60);
        return buf;
}

/* "SENCO NPQ for Jane Smith" or a commitment's title. */
static void entry_what(const struct model *m, const struct deadline *d, struct strbuf *sb)
{
        sb_puts(sb, deadline_title(m, d));
        if (d->kind == DL_RULE && d->person != IDX_NONE)
                sb_appendf(sb, " for %s", m->people[d->person].name);
}

static size_t earliest(const struct mail_entry *e, size_t n)
{
        size_t best = 0;

        for (size_t i = 1; i < n; i++)
                if (e[i].d->due.day < e[best].d->due.day)
                        best = i;
        return best;
}

char *mail_subject(const struct model *m, const struct mail_entry *e, size_t n)
{
        struct strbuf sb = {0};
        char label[64];
        size_t b = earliest(e, n);

        sb_appendf(&sb, "Reminder: %zu deadline%s (next: ", n, n == 1 ? "" : "s");
        entry_what(m, e[b].d, &sb);
        sb_appendf(&sb, ", %s)", date_label(e[b].d->due, label, sizeof(label)));
        /* A title is one config line; cap anyway so one header stays sane. */
        if (sb.len > 900)
                sb.len = 900, sb.buf[900] = '\0';
        return sb_steal(&sb);
}

static void relative(int32_t left, char *buf, size_t len)
{
        if (left == 0)
                snprintf(buf, len, "today");
        else if (left > 0)
                snprintf(buf, len, "in %d day%s", left, left == 1 ? "" : "s");
        else
                snprintf(buf, len, "%d day%s overdue", -left, left == -1 ? "" : "s");
}

static void entry_text(const struct model *m, const struct mail_entry *e, size_t i, dl_day today,
                       struct strbuf *sb)
{
        const struct deadline *d = e->d;
        const char *src, *url, *owner = NULL;
        char label[64], rel[48], id[256];

        if (d->kind == DL_RULE) {
                src = m->rules[d->src].source;
                url = m->rules[d->src].url;
        } else {
                src = m->commitments[d->src].source;
                url = m->commitments[d->src].url;
                owner = m->commitments[d->src].owner;
        }
        deadline_id(m, d, id, sizeof(id));
        relative(deadline_days_left(d, today), rel, sizeof(rel));
        sb_appendf(sb, "%zu. ", i + 1);
        entry_what(m, d, sb);
        sb_appendf(sb, "\n   Due: %s (%s)\n", date_label(d->due, label, sizeof(label)), rel);
        if (d->kind == DL_RULE && d->person != IDX_NONE)
                sb_appendf(sb, "   Who: %s\n", m->people[d->person].name);
        if (owner)
                sb_appendf(sb, "   Owner: %s\n", owner);
        sb_appendf(sb, "   Status: %s\n", deadline_status_name(d->status));
        if (d->kind == DL_RULE)
                sb_appendf(sb, "   Rule: %s\n", m->rules[d->src].id);
        if (src)
                sb_appendf(sb, "   Source: %s\n", src);
        if (url)
                sb_appendf(sb, "   Link: %s\n", url);
        sb_appendf(sb, "   Id: %s\n\n", id);
}

/* Quoted-printable (RFC 2045 6.7) of UTF-8 text with \n line ends: CRLF
 * hard breaks, soft breaks before 76 columns, trailing blanks encoded. */
static void qp_encode(const char *s, struct strbuf *out)
{
        int col = 0;

        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                char tok[4];
                bool eol = p[1] == '\n' || p[1] == '\0';

                if (*p == '\n') {
                        sb_puts(out, "\r\n");
                        col = 0;
                        continue;
                }
                if ((*p >= 33 && *p <= 126 && *p != '=') || (*p == ' ' && !eol))
                        snprintf(tok, sizeof(tok), "%c", *p);
                else
                        snprintf(tok, sizeof(tok), "=%02X", *p);
                if (col + (int)strlen(tok) > 75) {
                        sb_puts(out, "=\r\n");
                        col = 0;
                }
                sb_puts(out, tok);
                col += (int)strlen(tok);
        }
}

static void base64_lines(const char *s, size_t len, struct strbuf *out)
{
        for (size_t off = 0; off < len; off += 57) {
                unsigned char b64[80];
                size_t n = len - off > 57 ? 57 : len - off;

                EVP_EncodeBlock(b64, (const unsigned char *)s + off, (int)n);
                sb_appendf(out, "%s\r\n", b64);
        }
}

static int put_headers(const struct model *m, const char *from, const char *to,
                       const char *subject, int64_t now, const char *message_id,
                       struct strbuf *out)
{
        _cleanup_free_ char *name = NULL, *addr = NULL, *deflt = NULL;
        char date[48];

        if (!from)
                from = deflt = xasprintf("deadlined <deadlined@%s>", m->set.uid_domain);
        if (mail_parse_from(from, &name, &addr) < 0 || mail_check_address(to) < 0 ||
            has_crlf_or_ctl(message_id) || strchr(subject, '\r') || strchr(subject, '\n'))
                return -EINVAL;
        sb_appendf(out, "Date: %s\r\nFrom: ", mail_date(m->set.tz, now, date, sizeof(date)));
        if (name && is_ascii(name))
                sb_appendf(out, "\"%s\" ", name);
        else if (name && mail_encode_header(name, out) == 0)
                sb_putc(out, ' ');
        sb_appendf(out, "<%s>\r\nTo: <%s>\r\nSubject: ", addr, to);
        if (mail_encode_header(subject, out) < 0)
                return -EINVAL;
        sb_appendf(out, "\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\n"
                        "Auto-Submitted: auto-generated\r\n",
                   message_id);
        return 0;
}

static int compose(const struct model *m, const char *from, const char *to, const char *subject,
                   const char *text, const char *ics, int64_t now, const char *message_id,
                   struct strbuf *out)
{
        /* '=' never appears unencoded in QP or base64 bodies, so this
         * boundary cannot collide with the content. */
        char boundary[48] = "=_deadlined_";
        size_t start = out->len, bl = strlen(boundary);

        for (const char *p = message_id; *p && bl < 44; p++)
                if (isalnum((unsigned char)*p))
                        boundary[bl++] = *p;
        boundary[bl] = '\0';

        if (put_headers(m, from, to, subject, now, message_id, out) < 0) {
                out->len = start;
                if (out->buf)
                        out->buf[start] = '\0';
                return -EINVAL;
        }
        sb_appendf(out, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n", boundary);
        sb_appendf(out, "--%s\r\nContent-Type: text/plain; charset=UTF-8\r\n"
                        "Content-Transfer-Encoding: quoted-printable\r\n\r\n", boundary);
        qp_encode(text, out);
        if (ics) {
                sb_appendf(out, "\r\n--%s\r\nContent-Type: text/calendar; charset=UTF-8; "
                                "method=PUBLISH\r\nContent-Disposition: attachment; "
                                "filename=\"deadlines.ics\"\r\n"
                                "Content-Transfer-Encoding: base64\r\n\r\n", boundary);
                base64_lines(ics, strlen(ics), out);
        } else {
                sb_puts(out, "\r\n");
        }
        sb_appendf(out, "--%s--\r\n", boundary);
        return 0;
}

/* Soonest due first; ties keep the digest's order (the pointer order). */
static int cmp_due(const void *a, const void *b)
{
        const struct mail_entry *x = *(const struct mail_entry *const *)a;
        const struct mail_entry *y = *(const struct mail_entry *const *)b;

        if (x->d->due.day != y->d->due.day)
                return x->d->due.day < y->d->due.day ? -1 : 1;
        return x < y ? -1 : x > y;
}

int mail_compose(const struct model *m, const char *from, const char *to,
                 const struct mail_entry *e, size_t n, int64_t now, const char *message_id,
                 struct strbuf *out)
{
        _cleanup_free_ const struct mail_entry **order = xcalloc(n, sizeof(*order));
        _cleanup_free_ char *subject = mail_subject(m, e, n);
        _cleanup_free_ const struct deadline **list = xcalloc(n, sizeof(*list));
        struct strbuf text = {0}, ics = {0};
        struct ics_opts io = {.feed_url = m->set.public_url};
        dl_day today;
        int minute, r;

        tz_utc_to_local(m->set.tz, now, &today, &minute);
        sb_appendf(&text, "%zu deadline%s need%s attention:\n\n", n, n == 1 ? "" : "s",
                   n == 1 ? "s" : "");
        for (size_t i = 0; i < n; i++)
                order[i] = &e[i];
        qsort(order, n, sizeof(*order), cmp_due);
        for (size_t i = 0; i < n; i++) {
                entry_text(m, order[i], i, today, &text);
                list[i] = order[i]->d;
        }
        if (m->set.public_url)
                sb_appendf(&text, "Calendar feeds: %s\n", m->set.public_url);
        sb_puts(&text, "\n-- \nSent by deadlined. The attached calendar holds these dates.\n");
        r = ics_render_list(m, list, n, &io, &ics);
        if (r >= 0)
                r = compose(m, from, to, subject, text.buf, ics.buf, now, message_id, out);
        sb_free(&text);
        sb_free(&ics);
        return r;
}

int mail_compose_test(const struct model *m, const char *from, const char *to, int64_t now,
                      const char *message_id, struct strbuf *out)
{
        char date[48];
        _cleanup_free_ char *text =
                xasprintf("This is a test message from deadlined, sent %s.\n"
                          "Reminders for your deadlines will arrive like this one.\n",
                          mail_date(m->set.tz, now, date, sizeof(date)));

        return compose(m, from, to, "deadlined test message", text, NULL, now, message_id, out);
}

static size_t upload_read(char *buf, size_t size, size_t nitems, void *userdata)
{
        struct mail_upload *up = userdata;
        size_t n = size * nitems;

        if (n > up->len - up->off)
                n = up->len - up->off;
        memcpy(buf, up->data + up->off, n);
        up->off += n;
        return n;
}

static bool loopback_url(const char *url)
{
        static const char *const ok[] = {"smtp://127.0.0.1", "smtp://localhost", "smtp://[::1]"};

        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                size_t n = strlen(ok[i]);
                if (!strncasecmp(url, ok[i], n) && strchr(":/", url[n] ? url[n] : '/'))
                        return true;
        }
        return false;
}

void mail_upload_free(struct mail_upload *up)
{
        if (!up)
                return;
        curl_slist_free_all(up->rcpt);
        free(up->data);
        free(up);
}

int mail_easy_new(const struct smtp *s, const char *to, char *body, size_t len, long timeout,
                  struct mail_upload **upp, CURL **out)
{
        _cleanup_free_ char *name = NULL, *addr = NULL, *from = NULL, *rcpt = NULL;
        struct mail_upload *up;
        CURL *c;

        /* body is ours on every path: freed when we fail. */
        if (s->tls == TLS_NONE && !loopback_url(s->url)) {
                free(body);
                return -EPERM; /* plaintext only to a relay on this host */
        }
        if (mail_check_address(to) < 0 ||
            mail_parse_from(s->from ? s->from : "", &name, &addr) < 0) {
                free(body);
                return -EINVAL;
        }
        c = curl_easy_init();
        if (!c) {
                free(body);
                return -ENOMEM;
        }
        up = xcalloc(1, sizeof(*up));
        up->data = body;
        up->len = len;
        rcpt = xasprintf("<%s>", to);
        from = xasprintf("<%s>", addr);
        up->rcpt = curl_slist_append(NULL, rcpt);
        curl_easy_setopt(c, CURLOPT_URL, s->url);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
        curl_easy_setopt(c, CURLOPT_USE_SSL, (long)(s->tls == TLS_NONE ? CURLUSESSL_NONE
                                                                        : CURLUSESSL_ALL));
        if (s->username)
                curl_easy_setopt(c, CURLOPT_USERNAME, s->username);
        if (s->password)
                curl_easy_setopt(c, CURLOPT_PASSWORD, s->password);
        curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
        curl_easy_setopt(c, CURLOPT_MAIL_RCPT, up->rcpt);
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, upload_read);
        curl_easy_setopt(c, CURLOPT_READDATA, up);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout < 10 ? timeout : 10L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, up->errbuf);
        *upp = up;
        *out = c;
        return 0;
}

int mail_result(CURL *easy, CURLcode rc, const struct mail_upload *up, char *err, size_t len)
{
        long code = 0;

        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
        if (rc == CURLE_OK) {
                snprintf(err, len, "%ld accepted", code);
                return 0;
        }
        snprintf(err, len, "SMTP %ld: %s", code,
                 up && up->errbuf[0] ? up->errbuf : curl_easy_strerror(rc));
        if (code >= 500 && code < 600)
                return -EPERM;
        if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL ||
            rc == CURLE_LOGIN_DENIED)
                return -EPERM;
        /* 4xx, refused, timeouts, TLS trouble: the relay may recover. */
        return -EAGAIN;
}

/* webhook.c: JSON, Slack and Teams payloads (jansson: it refuses invalid
 * UTF-8), HMAC signatures, and the HTTP POST. Redirects are never followed: a
 * 3xx could point the signed body at another host or a file:// URL. */
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "deadlined/deliver/webhook.h"

static json_t *jstr_or_null(const char *s)
{
        return s ? json_string(s) : json_null();
}

static const char *prec_name(int prec)
{
        return prec == PREC_YEAR ? "year" : prec == PREC_MONTH ? "month" : "day";
}

static json_t *reminder_json(const struct model *m, const struct mail_entry *e)
{
        const struct remind_spec *rs = deadline_remind(m, e->d);
        char dur[32];

        if (e->r.lead >= 0 && e->r.lead < rs->nleads)
                return json_pack("{s:s, s:s}", "kind", "lead", "lead",
                                 dur_format(rs->leads[e->r.lead], dur, sizeof(dur)));
        return json_pack("{s:s, s:i}", "kind", "overdue", "repeat", (int)e->r.repeat);
}

static json_t *person_json(const struct model *m, const struct deadline *d)
{
        const struct person *p;

        if (d->kind != DL_RULE || d->person == IDX_NONE)
                return json_null();
        p = &m->people[d->person];
        return json_pack("{s:s, s:s, s:o}", "id", p->id, "name", p->name, "org",
                         jstr_or_null(p->org == IDX_NONE ? NULL : m->orgs[p->org]));
}

static json_t *deadline_json(const struct model *m, const struct mail_entry *e, dl_day today)
{
        const struct deadline *d = e->d;
        bool rule = d->kind == DL_RULE;
        const char *url = rule ? m->rules[d->src].url : m->commitments[d->src].url;
        const char *src = rule ? m->rules[d->src].source : m->commitments[d->src].source;
        char id[512], due[32];

        deadline_id(m, d, id, sizeof(id));
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:o, s:o, s:o, s:o, s:o, s:o}", "id", id,
                         "title", deadline_title(m, d), "due",
                         date_format_prec(d->due, due, sizeof(due)), "precision",
                         prec_name(d->due.prec), "status", deadline_status_name(d->status),
                         "days_left", (int)deadline_days_left(d, today), "person",
                         person_json(m, d), "rule", jstr_or_null(rule ? m->rules[d->src].id : NULL),
                         "owner", jstr_or_null(rule ? NULL : m->commitments[d->src].owner), "url",
                         jstr_or_null(url), "source", jstr_or_null(src), "reminder",
                         reminder_json(m, e));
}

/* One line per deadline for chat formats. */
static char *entry_line(const struct model *m, const struct mail_entry *e, dl_day today)
{
        const struct deadline *d = e->d;
        int32_t left = deadline_days_left(d, today);
        char label[64], rel[48];

        if (left >= 0)
                snprintf(rel, sizeof(rel), left == 0 ? "today" : "in %d days", left);
        else
                snprintf(rel, sizeof(rel), "%d days overdue", -left);
        date_label(d->due, label, sizeof(label));
        if (d->kind == DL_RULE && d->person != IDX_NONE)
                return xasprintf("%s for %s: %s (%s)", deadline_title(m, d),
                                 m->people[d->person].name, label, rel);
        return xasprintf("%s: %s (%s)", deadline_title(m, d), label, rel);
}

static json_t *slack_json(const struct model *m, const struct mail_entry *e, size_t n,
                          dl_day today, const char *summary)
{
        json_t *blocks = json_array();

        json_array_append_new(blocks, json_pack("{s:s, s:{s:s, s:s}}", "type", "header", "text",
                                                "type", "plain_text", "text", summary));
        /* Slack allows 50 blocks per message. */
        for (size_t i = 0; i < n && i < 48; i++) {
                _cleanup_free_ char *line = entry_line(m, &e[i], today);
                json_array_append_new(blocks, json_pack("{s:s, s:{s:s, s:s}}", "type", "section",
                                                        "text", "type", "plain_text", "text",
                                                        line));
        }
        return json_pack("{s:s, s:o}", "text", summary, "blocks", blocks);
}

static json_t *teams_json(const struct model *m, const struct mail_entry *e, size_t n,
                          dl_day today, const char *summary)
{
        json_t *sections = json_array();

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *line = entry_line(m, &e[i], today);
                json_array_append_new(sections,
                                      json_pack("{s:s, s:[{s:s, s:s}]}", "activityTitle", line,
                                                "facts", "name", "Status", "value",
                                                deadline_status_name(e[i].d->status)));
        }
        return json_pack("{s:s, s:s, s:s, s:s, s:o}", "@type", "MessageCard", "@context",
                         "https://schema.org/extensions", "summary", summary, "title", summary,
                         "sections", sections);
}

static int dump(json_t *j, struct strbuf *out)
{
        char *s;

        if (!j)
                return -EINVAL; /* json_pack failed: invalid UTF-8 in the data */
        s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
        json_decref(j);
        if (!s)
                return -ENOMEM;
        sb_puts(out, s);
        free(s);
        return 0;
}

int webhook_payload(const struct model *m, const struct webhook *w, const struct mail_entry *e,
                    size_t n, int64_t now, const char *idem, struct strbuf *out)
{
        _cleanup_free_ char *summary = mail_subject(m, e, n);
        dl_day today;
        int minute;
        char ts[32];
        json_t *list;

        tz_utc_to_local(m->set.tz, now, &today, &minute);
        if (w->format == WH_SLACK)
                return dump(slack_json(m, e, n, today, summary), out);
        if (w->format == WH_TEAMS)
                return dump(teams_json(m, e, n, today, summary), out);
        list = json_array();
        for (size_t i = 0; i < n; i++)
                if (json_array_append_new(list, deadline_json(m, &e[i], today)) < 0) {
                        json_decref(list);
                        return -EINVAL;
                }
        return dump(json_pack("{s:s, s:s, s:s, s:o}", "type", "deadlined.reminder",
                              "idempotency_key", idem, "sent_at",
                              time_format_utc(now, ts, sizeof(ts)), "deadlines", list),
                    out);
}

int webhook_payload_test(const struct model *m, const struct webhook *w, int64_t now,
                         const char *idem, struct strbuf *out)
{
        const char *text = "deadlined test message: webhook delivery works";
        char ts[32];

        if (w->format == WH_SLACK)
                return dump(json_pack("{s:s}", "text", text), out);
        if (w->format == WH_TEAMS)
                return dump(json_pack("{s:s, s:s, s:s, s:s}", "@type", "MessageCard", "@context",
                                      "https://schema.org/extensions", "summary", text, "title",
                                      text),
                            out);
        return dump(json_pack("{s:s, s:s, s:s, s:[]}", "type", "deadlined.test",
                              "idempotency_key", idem, "sent_at",
                              time_format_utc(now, ts, sizeof(ts)), "deadlines"),
                    out);
}

void webhook_sign(const char *secret, size_t secret_len, int64_t ts, const char *body,
                  size_t len, char hex[65])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned mdlen = 0;
        char tsbuf[32];
        struct strbuf sb = {0};

        snprintf(tsbuf, sizeof(tsbuf), "%lld.", (long long)ts);
        sb_puts(&sb, tsbuf);
        sb_append(&sb, body, len);
        HMAC(EVP_sha256(), secret, (int)secret_len, (const unsigned char *)sb.buf, sb.len, md,
             &mdlen);
        for (unsigned i = 0; i < mdlen && i < 32; i++)
                snprintf(hex + 2 * i, 3, "%02x", md[i]);
        sb_free(&sb);
}

void webhook_upload_free(struct webhook_upload *up)
{
        if (!up)
                return;
        curl_slist_free_all(up->headers);
        free(up->body);
        free(up);
}

static struct curl_slist *add_header(struct curl_slist *l, const char *name, const char *v)
{
        _cleanup_free_ char *h = xasprintf("%s: %s", name, v);

        return curl_slist_append(l, h);
}

int webhook_easy_new(const struct webhook *w, char *body, size_t len, const char *idem,
                     int64_t now, long timeout, struct webhook_upload **upp, CURL **out)
{
        struct webhook_upload *up;
        CURL *c;

        if (strncasecmp(w->url, "http://", 7) && strncasecmp(w->url, "https://", 8)) {
                free(body); /* taken, whatever the outcome */
                return -EPERM;
        }
        c = curl_easy_init();
        if (!c) {
                free(body);
                return -ENOMEM;
        }
        up = xcalloc(1, sizeof(*up));
        up->body = body;
        up->len = len;
        up->headers = curl_slist_append(NULL, "Content-Type: application/json");
        up->headers = curl_slist_append(up->headers, "Expect:");
        up->headers = add_header(up->headers, "Idempotency-Key", idem);
        if (w->secret) {
                char hex[65], ts[32], sig[80];

                snprintf(ts, sizeof(ts), "%lld", (long long)now);
                webhook_sign(w->secret, w->secret_len, now, body, len, hex);
                up->headers = add_header(up->headers, "X-Deadlined-Timestamp", ts);
                snprintf(sig, sizeof(sig), "sha256=%s", hex);
                up->headers = add_header(up->headers, "X-Deadlined-Signature", sig);
        }
        curl_easy_setopt(c, CURLOPT_URL, w->url);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, up->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, up->headers);
        curl_easy_setopt(c, CURLOPT_USERAGENT, "deadlined");
        curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout < 10 ? timeout : 10L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, up->errbuf);
        *upp = up;
        *out = c;
        return 0;
}

int webhook_result(CURL *easy, CURLcode rc, const struct webhook_upload *up, int64_t now,
                   int64_t *retry_at, char *err, size_t len)
{
        long code = 0;
        curl_off_t after = 0;

        *retry_at = 0;
        if (rc != CURLE_OK) {
                snprintf(err, len, "%s", up && up->errbuf[0] ? up->errbuf : curl_easy_strerror(rc));
                return rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT ? -EPERM
                                                                                     : -EAGAIN;
        }
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
        snprintf(err, len, "HTTP %ld", code);
        if (code >= 200 && code < 300)
                return 0;
        if (code >= 300 && code < 400) {
                snprintf(err, len, "HTTP %ld: redirect not followed", code);
                return -EPERM;
        }
        if (code == 429 || code >= 500 || code == 408) {
                /* curl parses both delta-seconds and HTTP-date forms. */
                if (curl_easy_getinfo(easy, CURLINFO_RETRY_AFTER, &after) == CURLE_OK && after > 0)
                        *retry_at = now + (int64_t)after;
                return -EAGAIN;
        }
        return -EPERM;
}

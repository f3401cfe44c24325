/* config-get.c: read one key of a section as a typed value, reporting
 * "FILE:LINE: key 'K': ..." when it is wrong. The syntax itself lives in
 * config-values.c and date.c; this file only adds the place and the wording. */
#include <errno.h>
#include <string.h>

#include "config-internal.h"

int cfg_check_text(struct loader *L, struct place pl, const char *key, const char *v, size_t max)
{
        size_t n = strlen(v);

        if (utf8_check(v, n, false) >= 0) {
                perr(L, pl, "key '%s': control character in value", key);
                return -EINVAL;
        }
        if (n > max) {
                perr(L, pl, "key '%s': value is %zu bytes long; the limit is %zu", key, n, max);
                return -EINVAL;
        }
        return 0;
}

/* Optional or required free text; *out stays NULL when absent or on error. */
void cfg_get_text(struct loader *L, const struct section *s, const char *key, size_t max,
                  bool required, const char **out)
{
        const char *v = cfg_get(s, key);

        *out = NULL;
        if (cfg_blank(v)) {
                if (required)
                        cfg_needs(L, s, key);
                return;
        }
        if (cfg_check_text(L, cfg_place(s, key), key, v, max) == 0)
                *out = arena_strdup(&L->m->arena, v);
}

void cfg_date_error(struct loader *L, struct place pl, const char *key, const char *v, int r,
                    const char *forms)
{
        int y = 0;

        if (r != -ERANGE) {
                perr(L, pl, "key '%s': '%s' is not a date (use %s)", key, v, forms);
                return;
        }
        for (int i = 0; i < 4 && v[i] >= '0' && v[i] <= '9'; i++)
                y = y * 10 + (v[i] - '0');
        if (y < DATE_YEAR_MIN || y > DATE_YEAR_MAX)
                perr(L, pl, "key '%s': year must be between %d and %d", key, DATE_YEAR_MIN,
                     DATE_YEAR_MAX);
        else
                perr(L, pl, "key '%s': %s does not exist", key, v);
}

/* YYYY-MM-DD or empty (DATE_NONE). */
int cfg_parse_day(struct loader *L, struct place pl, const char *key, const char *v, dl_day *out)
{
        *out = DATE_NONE;
        if (cfg_blank(v))
                return 0;
        int r = date_parse_day(v, out);
        if (r < 0) {
                *out = DATE_NONE;
                cfg_date_error(L, pl, key, v, r, "YYYY-MM-DD");
        }
        return r;
}

int cfg_parse_dur(struct loader *L, struct place pl, const char *key, const char *v,
                  struct dl_dur *out)
{
        int r = dur_parse(v, out);

        if (r < 0)
                perr(L, pl, "key '%s': \"%s\" is not a duration (try 3y, 18m, 2w, 10d or 1y6m)",
                     key, v);
        return r;
}

/* An optional duration with a default; true if the key was given. */
bool cfg_get_dur(struct loader *L, const struct section *s, const char *key, struct dl_dur def,
                 struct dl_dur *out)
{
        const char *v = cfg_get(s, key);

        *out = def;
        if (cfg_blank(v))
                return false;
        if (cfg_parse_dur(L, cfg_place(s, key), key, v, out) < 0) {
                *out = def;
                return false;
        }
        return true;
}

/* "5m" as "5min": what the user most likely meant by a minutes-like m. */
static char *span_fix(const char *v)
{
        struct strbuf sb = {0};

        for (const char *p = v; *p; p++) {
                sb_putc(&sb, *p);
                if (*p == 'm' && (p[1] < 'a' || p[1] > 'z') &&
                    (p == v || p[-1] < 'a' || p[-1] > 'z'))
                        sb_puts(&sb, "in");
        }
        return sb_steal(&sb);
}

/* A positive time span in seconds; true if the key was given and is valid. */
bool cfg_get_span(struct loader *L, const struct section *s, const char *key, int32_t *out)
{
        const char *v = cfg_get(s, key);
        struct place pl = cfg_place(s, key);
        char max[32];
        int32_t secs;

        if (cfg_blank(v))
                return false;
        int r = cv_span_parse(v, &secs);
        if (r == -EDOM) {
                _cleanup_free_ char *fix = span_fix(v);
                perr(L, pl,
                     "key '%s': \"%s\" is not a time span (try %s, 1h or 30s; m means months)", key,
                     v, fix);
        } else if (r == -ERANGE)
                perr(L, pl, "key '%s': \"%s\" is too long (at most %s)", key, v,
                     cv_span_format(SPAN_MAX, max, sizeof(max)));
        else if (r < 0)
                perr(L, pl, "key '%s': \"%s\" is not a time span (try 5min, 1h30min or 30s)", key,
                     v);
        else if (secs == 0)
                perr(L, pl, "key '%s': \"%s\" is not a positive time span", key, v);
        else {
                *out = secs;
                return true;
        }
        return false;
}

void cfg_get_bool(struct loader *L, const struct section *s, const char *key, bool *out)
{
        const char *v = cfg_get(s, key);

        if (cfg_blank(v))
                return;
        int b = cv_bool(v);
        if (b < 0)
                perr(L, cfg_place(s, key), "key '%s': expected yes or no", key);
        else
                *out = b;
}

int cfg_check_email(struct loader *L, struct place pl, const char *key, const char *v)
{
        if (cv_email_valid(v))
                return 0;
        perr(L, pl, "key '%s': '%s' is not a valid email address", key, v);
        return -EINVAL;
}

/* http(s) URL, or smtp(s) when smtp is set. Host returned for the TLS check. */
int cfg_check_url(struct loader *L, struct place pl, const char *key, const char *v, bool smtp,
                  char *host, size_t hostcap)
{
        char scheme[16];
        const char *h;
        size_t hn;
        int r = cv_url_split(v, scheme, sizeof(scheme), &h, &hn);
        const char *a = smtp ? "smtp" : "http", *b = smtp ? "smtps" : "https";

        if (r == -EPROTO || (strcmp(scheme, a) != 0 && strcmp(scheme, b) != 0)) {
                perr(L, pl, "key '%s': scheme must be %s or %s", key, a, b);
                return -EINVAL;
        }
        if (r < 0) {
                perr(L, pl, "key '%s': '%s' is not a URL with a host", key, v);
                return r;
        }
        if (host)
                snprintf(host, hostcap, "%.*s", (int)hn, h);
        return 0;
}

void cfg_get_url(struct loader *L, const struct section *s, const char *key, bool required,
                 const char **out)
{
        const char *v = cfg_get(s, key);

        *out = NULL;
        if (cfg_blank(v)) {
                if (required)
                        cfg_needs(L, s, key);
                return;
        }
        if (cfg_check_url(L, cfg_place(s, key), key, v, false, NULL, 0) == 0)
                *out = arena_strdup(&L->m->arena, v);
}

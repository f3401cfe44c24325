/* config-settings.c: the singleton sections [deadlined], [http] and [smtp].
 * Each may be split over the main file and drop-ins (a key set at most once);
 * every default is written into the model, so what `check` loads is what
 * the daemon runs with. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config-internal.h"
#include "deadlined/core/tz.h"

#define TZ_MAX_BYTES (1ull << 20)
#define ZONEINFO "/usr/share/zoneinfo/"
/* Delivery defaults, in seconds (deliver.c falls back to the same for hand-built models). */
#define RETRY_MIN_DEFAULT 300
#define RETRY_MAX_DEFAULT 3600
#define RETRY_GIVE_UP_DEFAULT 432000
#define SEND_TIMEOUT_DEFAULT 30
#define SEND_TIMEOUT_MAX 600

/* ---- settings ------------------------------------------------------------------ */

static bool tz_name_valid(const char *s)
{
        if (s[0] == '/' || strstr(s, ".."))
                return false;
        for (const char *p = s; *p; p++) {
                char c = *p;
                bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                          (c >= '0' && c <= '9') || strchr("/_+-", c);
                if (!ok)
                        return false;
        }
        return true;
}

static void load_timezone(struct loader *L)
{
        const struct section *s = cfg_single_with(L, K_DEADLINED, "timezone");
        const char *name = s ? cfg_get(s, "timezone") : "Europe/London";
        struct place pl = s ? cfg_place(s, "timezone") : (struct place){L->order[0], 0};
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t len;

        if (cfg_blank(name))
                name = "Europe/London";
        int r = -EINVAL;
        if (tz_name_valid(name)) {
                _cleanup_free_ char *path = xasprintf(ZONEINFO "%s", name);
                r = cfg_read_file(path, TZ_MAX_BYTES, &buf, &len, &st);
        }
        /* tz keeps the name: give it the arena copy, not iniparser's. */
        const char *kept = arena_strdup(&L->m->arena, name);
        if (r == 0)
                r = tz_parse((const uint8_t *)buf, len, kept, &L->m->set.tz);
        if (r < 0) {
                perr(L, pl, "unknown time zone '%s' (e.g. Europe/London, UTC)", name);
                return;
        }
        L->m->set.timezone = kept;
}

/* ---- delivery: retries and timeouts ------------------------------------------- */

struct span {
        const char *key;
        int32_t v;
        bool given; /* set in a file, and valid */
        struct place pl;
};

static struct span span_key(struct loader *L, const char *key, int32_t def)
{
        const struct section *s;
        struct span sp = {.key = key, .v = def};

        if (cfg_single_value(L, K_DEADLINED, key, &s)) {
                sp.pl = cfg_place(s, key);
                sp.given = cfg_get_span(L, s, key, &sp.v);
        }
        return sp;
}

/* hi must not be below lo; the error goes where the user wrote a value. */
static void span_order(struct loader *L, const struct span *hi, const struct span *lo)
{
        char hb[32], lb[32];

        if (hi->v >= lo->v)
                return;
        cv_span_format(hi->v, hb, sizeof(hb));
        cv_span_format(lo->v, lb, sizeof(lb));
        if (hi->given)
                perr(L, hi->pl, "key '%s': %s is less than %s (%s%s)", hi->key, hb, lo->key, lb,
                     lo->given ? "" : ", the default");
        else
                perr(L, lo->pl, "key '%s': %s is more than %s (%s, the default)", lo->key, lb,
                     hi->key, hb);
}

static void load_delivery(struct loader *L)
{
        struct settings *set = &L->m->set;
        struct span min = span_key(L, "retry_min", RETRY_MIN_DEFAULT);
        struct span max = span_key(L, "retry_max", RETRY_MAX_DEFAULT);
        struct span give_up = span_key(L, "retry_give_up", RETRY_GIVE_UP_DEFAULT);
        struct span timeout = span_key(L, "send_timeout", SEND_TIMEOUT_DEFAULT);
        char buf[32];

        span_order(L, &max, &min);
        span_order(L, &give_up, &min);
        if (timeout.v > SEND_TIMEOUT_MAX)
                perr(L, timeout.pl, "key 'send_timeout': %s is out of range (1s to 10min)",
                     cv_span_format(timeout.v, buf, sizeof(buf)));
        set->retry_min = min.v;
        set->retry_max = max.v;
        set->retry_give_up = give_up.v;
        set->send_timeout = timeout.v;
}

void cfg_load_settings(struct loader *L)
{
        struct settings *set = &L->m->set;
        struct arena *a = &L->m->arena;
        const struct section *s;
        const char *v;

        load_timezone(L);
        set->send_at = 9 * 60;
        if ((v = cfg_single_value(L, K_DEADLINED, "send_at", &s)) &&
            time_parse_hm(v, &set->send_at) < 0)
                perr(L, cfg_place(s, "send_at"), "key 'send_at': '%s' is not a time (use HH:MM)",
                     v);
        v = cfg_single_value(L, K_DEADLINED, "state_dir", &s);
        set->state_dir = cfg_path_join(a, s ? s->f->dir : L->files[0]->dir, v ? v : "state");
        set->catch_up = (struct dl_dur){0, 7};
        if ((v = cfg_single_value(L, K_DEADLINED, "catch_up", &s)))
                cfg_get_dur(L, s, "catch_up", set->catch_up, &set->catch_up);
        set->uid_domain = "deadlined.invalid";
        if ((v = cfg_single_value(L, K_DEADLINED, "uid_domain", &s))) {
                if (cv_hostname_valid(v, strlen(v)))
                        set->uid_domain = arena_strdup(a, v);
                else
                        perr(L, cfg_place(s, "uid_domain"),
                             "key 'uid_domain': '%s' is not a host name", v);
        }
        load_delivery(L);
}

void cfg_load_http(struct loader *L)
{
        struct settings *set = &L->m->set;
        struct arena *a = &L->m->arena;
        const struct section *s;
        const char *v;

        set->http_listen = "127.0.0.1:8025";
        if ((v = cfg_single_value(L, K_HTTP, "listen", &s))) {
                if (cv_listen_valid(v))
                        set->http_listen = arena_strdup(a, v);
                else
                        perr(L, cfg_place(s, "listen"),
                             "key 'listen': '%s' is not HOST:PORT, [IPV6]:PORT or none", v);
        }
        if ((v = cfg_single_value(L, K_HTTP, "public_url", &s))) {
                if (cfg_check_url(L, cfg_place(s, "public_url"), "public_url", v, false, NULL, 0) ==
                    0)
                        set->public_url = arena_strdup(a, v);
                return;
        }
        /* With listen = none the feeds are only exported; the default URL still names them. */
        const char *host =
            strcmp(set->http_listen, "none") == 0 ? "127.0.0.1:8025" : set->http_listen;
        char *url = xasprintf("http://%s", host);
        set->public_url = arena_strdup(a, url);
        free(url);
}

/* ---- [smtp] --------------------------------------------------------------------- */

static bool is_localhost(const char *host)
{
        return strcmp(host, "localhost") == 0 || strcmp(host, "127.0.0.1") == 0 ||
               strcmp(host, "::1") == 0;
}

static void smtp_tls(struct loader *L, struct smtp *sm, const char *host)
{
        const struct section *s;
        const char *v = cfg_single_value(L, K_SMTP, "tls", &s);
        bool smtps = strncasecmp(sm->url, "smtps:", 6) == 0;

        sm->tls = smtps ? TLS_IMPLICIT : TLS_STARTTLS;
        if (!v)
                return;
        struct place pl = cfg_place(s, "tls");
        if (strcmp(v, "starttls") == 0 && !smtps)
                sm->tls = TLS_STARTTLS;
        else if (strcmp(v, "implicit") == 0 && smtps)
                sm->tls = TLS_IMPLICIT;
        else if (strcmp(v, "none") == 0 && !smtps && is_localhost(host))
                sm->tls = TLS_NONE;
        else if (strcmp(v, "none") == 0 && !smtps)
                perr(L, pl, "key 'tls': none is only allowed for a relay on localhost");
        else if (strcmp(v, "starttls") == 0 || strcmp(v, "implicit") == 0 || strcmp(v, "none") == 0)
                perr(L, pl, "key 'tls': %s does not go with %s://", v, smtps ? "smtps" : "smtp");
        else
                perr(L, pl, "key 'tls': expected starttls, implicit or none");
}

/* from = addr | Name <addr> */
static void smtp_from(struct loader *L, struct smtp *sm, const struct section *s, const char *v)
{
        struct place pl = cfg_place(s, "from");
        const char *lt = strchr(v, '<');
        size_t n = strlen(v);

        if (cfg_check_text(L, pl, "from", v, TEXT_MAX) < 0)
                return;
        if (!lt) {
                if (cfg_check_email(L, pl, "from", v) == 0)
                        sm->from = arena_strdup(&L->m->arena, v);
                return;
        }
        _cleanup_free_ char *addr = xstrndup(lt + 1, n - (size_t)(lt + 1 - v));
        size_t an = strlen(addr);
        if (an == 0 || addr[an - 1] != '>' || strchr(addr, '<')) {
                perr(L, pl, "key 'from': expected addr or Name <addr>");
                return;
        }
        addr[an - 1] = '\0';
        if (cfg_check_email(L, pl, "from", addr) == 0)
                sm->from = arena_strdup(&L->m->arena, v);
}

/* username, and a password from password_file or, under systemd, from the
 * credential smtp-password (LoadCredential=smtp-password:/etc/deadlined/...). */
static void smtp_auth(struct loader *L, struct smtp *sm)
{
        const struct section *s, *user;
        size_t len;

        if (cfg_single_value(L, K_SMTP, "username", &user))
                cfg_get_text(L, user, "username", TEXT_MAX, false, &sm->username);
        if ((s = cfg_single_with(L, K_SMTP, "password_file"))) {
                cfg_load_secret(L, s, "password_file", &sm->password_file, &sm->password, &len);
                if (!sm->username)
                        perr(L, cfg_place(s, "password_file"),
                             "key 'password_file': a password needs a 'username'");
        } else if (sm->username)
                cfg_load_credential(L, cfg_place(user, "username"), "username", "smtp-password",
                                    &sm->password_file, &sm->password, &len);
}

void cfg_load_smtp(struct loader *L)
{
        const struct section *first = cfg_single_first(L, K_SMTP), *s;
        struct smtp *sm = &L->m->smtp;
        char host[256] = "";
        const char *v;

        if (!first)
                return;
        sm->present = true;
        if (!(v = cfg_single_value(L, K_SMTP, "url", &s)))
                cfg_needs(L, first, "url");
        else if (cfg_check_url(L, cfg_place(s, "url"), "url", v, true, host, sizeof(host)) == 0)
                sm->url = arena_strdup(&L->m->arena, v);
        if (sm->url)
                smtp_tls(L, sm, host);
        if (!(v = cfg_single_value(L, K_SMTP, "from", &s)))
                cfg_needs(L, first, "from");
        else
                smtp_from(L, sm, s, v);
        smtp_auth(L, sm);
}

/* plan.c: catch-up and digest decisions for one delivery pass. Pure.
 *
 * Cost: one schedule_between per active deadline over a short window (the
 * catch-up span plus the time since the last pass), and one ledger lookup per
 * reminder found in it, so a pass over 200k deadlines touches only what is
 * due, not each deadline's whole history. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "deadlined/core/plan.h"
#include "deadlined/base/util.h"

static const struct tz *model_tz(const struct model *m)
{
        return m->set.tz ? m->set.tz : tz_utc();
}

int64_t plan_catch_up_until(const struct model *m, const struct reminder *r)
{
        if (dur_is_zero(m->set.catch_up))
                return tz_local_to_utc(model_tz(m), r->day + 1, 0);
        return tz_local_to_utc(model_tz(m), date_add(r->day, m->set.catch_up), m->set.send_at);
}

int64_t plan_window_start(const struct model *m, int64_t now, int64_t last_pass)
{
        /* Upper bound of the catch-up span, plus two days for zone offsets. */
        int64_t span = ((int64_t)m->set.catch_up.months * 31 + m->set.catch_up.days + 2) * 86400;
        int64_t from = now - span;

        if (last_pass < 0 || last_pass + 1 < from)
                from = last_pass < 0 ? now - PLAN_SKIP_HORIZON : last_pass + 1;
        if (from < now - PLAN_SKIP_HORIZON)
                from = now - PLAN_SKIP_HORIZON;
        return from;
}

char *plan_recipient_name(const struct model *m, const struct recipient *rc)
{
        if (rc->kind == RCPT_WEBHOOK)
                return xasprintf("webhook:%s", m->webhooks[rc->webhook].name);
        char *s = xasprintf("mailto:%s", rc->email);
        for (char *p = s + 7; *p; p++)
                *p = (char)tolower((unsigned char)*p);
        return s;
}

const char *plan_slot(const struct model *m, const struct deadline *d, const struct reminder *r,
                      char *buf, size_t len)
{
        const struct remind_spec *rs = deadline_remind(m, d);
        char dur[32];

        if (r->lead >= 0 && r->lead < rs->nleads)
                snprintf(buf, len, "lead:%s", dur_format(rs->leads[r->lead], dur, sizeof(dur)));
        else
                snprintf(buf, len, "overdue:%d", (int)r->repeat);
        return buf;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void plan_digest_id(const char *const *keys, size_t n, const char *uid_domain,
                    char idem[PLAN_IDEM_LEN + 1], char **message_id)
{
        const char **sorted = xreallocarray(NULL, n, sizeof(*sorted));
        struct strbuf sb = {0};
        unsigned char md[SHA256_LEN];

        memcpy(sorted, keys, n * sizeof(*sorted));
        qsort(sorted, n, sizeof(*sorted), cmp_str);
        for (size_t i = 0; i < n; i++) {
                if (i)
                        sb_putc(&sb, '\n');
                sb_puts(&sb, sorted[i]);
        }
        sha256(sb.buf ? sb.buf : "", sb.len, md);
        for (size_t i = 0; i < PLAN_IDEM_LEN / 2; i++)
                snprintf(idem + 2 * i, 3, "%02x", md[i]);
        if (message_id)
                *message_id = xasprintf("<%s@%s>", idem, uid_domain ? uid_domain : "localhost");
        sb_free(&sb);
        free(sorted);
}

struct collect {
        struct reminder *v;
        size_t n, cap;
};

static int collect_one(const struct deadline *d, const struct reminder *r, void *userdata)
{
        struct collect *c = userdata;

        if (c->n == c->cap) {
                c->cap = c->cap ? c->cap * 2 : 16;
                c->v = xreallocarray(c->v, c->cap, sizeof(*c->v));
        }
        c->v[c->n++] = *r;
        return 0;
}

static void add_item(struct plan *p, size_t *cap, const struct deadline *d,
                     const struct reminder *r, const struct recipient *rc, uint8_t act, char *key,
                     const char *rname)
{
        if (p->n == *cap) {
                *cap = *cap ? *cap * 2 : 64;
                p->items = xreallocarray(p->items, *cap, sizeof(*p->items));
        }
        p->items[p->n++] = (struct plan_item){
                .d = d, .r = *r, .rc = *rc, .act = act, .key = key, .recipient = xstrdup(rname)};
        if (act == PLAN_SEND)
                p->nsend++;
        else
                p->nskip++;
}

/* Decide for one deadline and recipient: newest unknown one may be SEND. */
static int plan_recipient(const struct model *m, const struct deadline *d,
                          const struct collect *c, const struct recipient *rc, int64_t now,
                          plan_known_fn known, void *userdata, struct plan *p, size_t *cap)
{
        _cleanup_free_ char *rname = plan_recipient_name(m, rc);
        char base[512];

        for (size_t i = c->n; i-- > 0;) {
                const struct reminder *r = &c->v[i];
                size_t n = schedule_key(m, d, r, base, sizeof(base));
                char *key = n < sizeof(base) ? xasprintf("%s|%s", base, rname) : NULL;
                int k;

                if (!key)
                        return -ENAMETOOLONG;
                k = known(userdata, key);
                if (k != 0) {
                        free(key);
                        if (k < 0)
                                return k;
                        continue;
                }
                bool latest = i == c->n - 1;
                uint8_t act = latest && now < plan_catch_up_until(m, r) ? PLAN_SEND : PLAN_SKIP;
                add_item(p, cap, d, r, rc, act, key, rname);
        }
        return 0;
}

static int cmp_send(const void *a, const void *b, void *userdata)
{
        const struct plan_item *items = userdata;
        const struct plan_item *x = &items[*(const size_t *)a], *y = &items[*(const size_t *)b];
        int c = strcmp(x->recipient, y->recipient);

        if (c)
                return c;
        if (x->r.at != y->r.at)
                return x->r.at < y->r.at ? -1 : 1;
        return strcmp(x->key, y->key);
}

static void make_digest(const struct model *m, struct plan *p, struct plan_digest *g)
{
        const char **keys = xreallocarray(NULL, g->n, sizeof(*keys));

        for (size_t i = 0; i < g->n; i++)
                keys[i] = p->items[g->items[i]].key;
        plan_digest_id(keys, g->n, m->set.uid_domain, g->idem, &g->message_id);
        free(keys);
}

/* Group SEND items by recipient: sort their indexes, then cut runs. */
static void group_digests(const struct model *m, struct plan *p)
{
        size_t *idx = xreallocarray(NULL, p->nsend, sizeof(*idx)), n = 0;

        for (size_t i = 0; i < p->n; i++)
                if (p->items[i].act == PLAN_SEND)
                        idx[n++] = i;
        qsort_r(idx, n, sizeof(*idx), cmp_send, p->items);
        p->digests = xcalloc(n, sizeof(*p->digests));
        for (size_t i = 0; i < n;) {
                size_t j = i;
                struct plan_digest *g = &p->digests[p->ndigests++];

                while (j < n && !strcmp(p->items[idx[j]].recipient, p->items[idx[i]].recipient))
                        j++;
                g->recipient = p->items[idx[i]].recipient;
                g->rc = p->items[idx[i]].rc;
                g->n = j - i;
                g->items = xreallocarray(NULL, g->n, sizeof(*g->items));
                memcpy(g->items, idx + i, g->n * sizeof(*idx));
                make_digest(m, p, g);
                i = j;
        }
        free(idx);
}

int plan_build(const struct model *m, const struct deadlines *ds, int64_t from, int64_t now,
               plan_known_fn known, void *userdata, struct plan *out)
{
        struct plan p = {0};
        struct collect c = {0};
        size_t cap = 0;
        int r = 0;

        for (size_t i = 0; r >= 0 && i < ds->n; i++) {
                const struct deadline *d = &ds->v[i];
                struct recipient rcs[MAX_NOTIFY];
                size_t nrc;

                c.n = 0;
                if (!deadline_active(d) || from > now)
                        continue;
                schedule_between(m, d, from, now + 1, collect_one, &c);
                if (c.n == 0)
                        continue;
                nrc = schedule_recipients(m, d, rcs);
                for (size_t k = 0; r >= 0 && k < nrc; k++)
                        r = plan_recipient(m, d, &c, &rcs[k], now, known, userdata, &p, &cap);
        }
        free(c.v);
        if (r < 0) {
                plan_free(&p);
                return r;
        }
        group_digests(m, &p);
        *out = p;
        return 0;
}

void plan_free(struct plan *p)
{
        for (size_t i = 0; i < p->n; i++) {
                free(p->items[i].key);
                free(p->items[i].recipient);
        }
        for (size_t i = 0; i < p->ndigests; i++) {
                free(p->digests[i].items);
                free(p->digests[i].message_id);
        }
        free(p->items);
        free(p->digests);
        *p = (struct plan){0};
}

/* testmodel.h: build small models in memory for unit tests, with no config
 * files. Top-level arrays are heap-grown, everything else lives in the arena;
 * free with tm_free, which is model_free minus the zone (tm_set_tz leaves it
 * with the caller). A test that sets a feed token, a webhook secret or the
 * SMTP password must give a heap copy: model_free wipes and frees them. */
#pragma once
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "deadlined/core/date.h"
#include "deadlined/core/model.h"
#include "deadlined/core/tz.h"
#include "deadlined/base/util.h"

/* Room for element n of an array that has a count but no capacity: the
 * capacity is 4, then doubles each time n reaches a power of two, so
 * appending N elements copies O(N) bytes, not O(N^2) (100k people under ASan).
 * Every append to such an array must go through TM_GROW, starting from NULL. */
static inline void *tm_grow(void *arr, size_t n, size_t size)
{
        bool full = n == 0 || (n >= 4 && (n & (n - 1)) == 0);

        return full ? xreallocarray(arr, n ? 2 * n : 4, size) : arr;
}

#define TM_GROW(arr, n) ((arr) = tm_grow((arr), (size_t)(n), sizeof(*(arr))))

static inline dl_day tm_day(const char *s)
{
        dl_day d = DATE_NONE;
        if (date_parse_day(s, &d) < 0) {
                fprintf(stderr, "testmodel: bad date %s\n", s);
                abort();
        }
        return d;
}

static inline struct dl_dur tm_dur(const char *s)
{
        struct dl_dur d = {0, 0};
        if (dur_parse(s, &d) < 0) {
                fprintf(stderr, "testmodel: bad duration %s\n", s);
                abort();
        }
        return d;
}

/* UTC zone, send_at 09:00, uid_domain test.example, mtime 2026-01-01T00:00:00Z. */
static inline struct model *tm_new(void)
{
        struct model *m = xcalloc(1, sizeof(*m));
        m->set.timezone = "UTC";
        m->set.tz = tz_utc();
        m->set.send_at = 9 * 60;
        m->set.state_dir = "state";
        m->set.catch_up = (struct dl_dur){0, 7};
        m->set.uid_domain = "test.example";
        m->set.http_listen = "none";
        m->set.public_url = "http://127.0.0.1:8025";
        m->mtime = 1767225600;
        return m;
}

/* Replace the zone (the caller keeps ownership of tz). */
static inline void tm_set_tz(struct model *m, struct tz *tz, const char *name)
{
        m->set.tz = tz;
        m->set.timezone = name;
}

/* Load a zone from /usr/share/zoneinfo (tests may read files; the core may not). */
static inline struct tz *tm_load_tz(const char *name)
{
        char path[256];
        snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
        FILE *f = fopen(path, "rb");
        if (!f)
                abort();
        static unsigned char buf[1 << 16];
        size_t n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        struct tz *tz = NULL;
        if (tz_parse(buf, n, name, &tz) < 0)
                abort();
        return tz;
}

static inline uint32_t tm_intern(struct model *m, const char ***arr, uint32_t *n, const char *s)
{
        for (uint32_t i = 0; i < *n; i++)
                if (strcmp((*arr)[i], s) == 0)
                        return i;
        TM_GROW(*arr, *n);
        (*arr)[*n] = arena_strdup(&m->arena, s);
        return (*n)++;
}

/* A person date field; existing people get DATE_NONE for it. */
static inline uint32_t tm_field(struct model *m, const char *name)
{
        for (uint32_t i = 0; i < m->nfields; i++)
                if (strcmp(m->fields[i], name) == 0)
                        return i;
        uint32_t f = tm_intern(m, &m->fields, &m->nfields, name);
        for (uint32_t p = 0; p < m->npeople; p++) {
                dl_day *d = arena_alloc(&m->arena, m->nfields * sizeof(dl_day));
                memcpy(d, m->people[p].dates, (m->nfields - 1) * sizeof(dl_day));
                d[f] = DATE_NONE;
                m->people[p].dates = d;
        }
        return f;
}

static inline uint32_t tm_role(struct model *m, const char *name)
{
        return tm_intern(m, &m->roles, &m->nroles, name);
}

static inline uint32_t tm_org(struct model *m, const char *name)
{
        return tm_intern(m, &m->orgs, &m->norgs, name);
}

/* roles: space-separated or NULL; org, email may be NULL; manager is a person index or IDX_NONE. */
static inline uint32_t tm_person(struct model *m, const char *id, const char *name, const char *email,
                                 const char *roles, const char *org, uint32_t manager)
{
        TM_GROW(m->people, m->npeople);
        struct person *p = &m->people[m->npeople];
        memset(p, 0, sizeof(*p));
        p->id = arena_strdup(&m->arena, id);
        p->name = arena_strdup(&m->arena, name);
        p->email = email ? arena_strdup(&m->arena, email) : NULL;
        p->org = org ? tm_org(m, org) : IDX_NONE;
        p->manager = manager;
        p->roles = arena_alloc(&m->arena, 8 * sizeof(uint16_t));
        if (roles) {
                char buf[256];
                snprintf(buf, sizeof(buf), "%s", roles);
                for (char *save, *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save))
                        if (p->nroles < 8)
                                p->roles[p->nroles++] = (uint16_t)tm_role(m, t);
        }
        p->dates = arena_alloc(&m->arena, (m->nfields ? m->nfields : 1) * sizeof(dl_day));
        for (uint32_t i = 0; i < m->nfields; i++)
                p->dates[i] = DATE_NONE;
        p->file = "roster.csv";
        p->line = (int)m->npeople + 2;
        strmap_put(&m->person_ids, p->id, m->npeople, NULL);
        return m->npeople++;
}

static inline void tm_set_date(struct model *m, uint32_t person, const char *field, const char *day)
{
        uint32_t f = tm_field(m, field);
        m->people[person].dates[f] = day ? tm_day(day) : DATE_NONE;
}

/* leads: space-separated durations, longest first; may be "". */
static inline void tm_remind(struct remind_spec *r, const char *leads, const char *overdue_every)
{
        char buf[256];
        r->nleads = 0;
        snprintf(buf, sizeof(buf), "%s", leads);
        for (char *save, *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save))
                if (r->nleads < MAX_LEADS)
                        r->leads[r->nleads++] = tm_dur(t);
        r->overdue_every = tm_dur(overdue_every);
}

static inline void tm_notify(struct remind_spec *r, uint8_t kind, const char *email, uint32_t webhook)
{
        struct recipient_spec *s = &r->notify[r->nnotify++];
        s->kind = kind;
        s->email = email;
        s->webhook = webhook;
}

/* A rule with applies_to = role:ROLE (or all people when role is NULL), anchor field, within. */
static inline struct rule *tm_rule(struct model *m, const char *id, const char *title, const char *role,
                                   const char *anchor, const char *within)
{
        uint32_t anchor_f = tm_field(m, anchor);
        TM_GROW(m->rules, m->nrules);
        struct rule *r = &m->rules[m->nrules];
        memset(r, 0, sizeof(*r));
        r->id = arena_strdup(&m->arena, id);
        r->title = arena_strdup(&m->arena, title);
        r->applies_to.terms = arena_alloc(&m->arena, sizeof(struct sel_term));
        r->applies_to.n = 1;
        if (role) {
                r->applies_to.terms[0].kind = SEL_ROLE;
                r->applies_to.terms[0].ref = tm_role(m, role);
        } else {
                r->applies_to.terms[0].kind = SEL_PEOPLE;
        }
        r->anchor_field = anchor_f;
        r->done_field = IDX_NONE;
        if (within) {
                r->has_within = true;
                r->within = tm_dur(within);
        }
        r->not_after = DATE_NONE;
        r->remind.overdue_every = (struct dl_dur){0, 7};
        r->file = "rules.conf";
        r->line = (int)m->nrules * 10 + 1;
        strmap_put(&m->rule_ids, r->id, m->nrules, NULL);
        m->nrules++;
        return r;
}

static inline void tm_rule_done(struct model *m, struct rule *r, const char *field)
{
        uint32_t f = tm_field(m, field);
        r->done_field = f;
}

/* due in date_parse syntax: "2027", "2019-03", "2027-03-14". */
static inline struct commitment *tm_commitment(struct model *m, const char *id, const char *title,
                                               const char *due, uint8_t status)
{
        TM_GROW(m->commitments, m->ncommitments);
        struct commitment *c = &m->commitments[m->ncommitments];
        memset(c, 0, sizeof(*c));
        c->id = arena_strdup(&m->arena, id);
        c->title = arena_strdup(&m->arena, title);
        if (date_parse(due, &c->due) < 0)
                abort();
        c->status = status;
        c->file = "commitments.conf";
        c->line = (int)m->ncommitments * 10 + 1;
        strmap_put(&m->commitment_ids, c->id, m->ncommitments, NULL);
        m->ncommitments++;
        return c;
}

/* A selector from terms like "all", "rule:senco-npq", "role:senco" (names must exist). */
static inline struct selector tm_select(struct model *m, const char *expr)
{
        struct selector s = {0};
        char buf[256];
        s.terms = arena_alloc(&m->arena, 16 * sizeof(struct sel_term));
        snprintf(buf, sizeof(buf), "%s", expr);
        for (char *save, *t = strtok_r(buf, " ", &save); t && s.n < 16; t = strtok_r(NULL, " ", &save)) {
                struct sel_term *term = &s.terms[s.n++];
                uint32_t idx = IDX_NONE;
                if (!strcmp(t, "all"))
                        term->kind = SEL_ALL;
                else if (!strcmp(t, "commitments"))
                        term->kind = SEL_COMMITMENTS;
                else if (!strcmp(t, "people"))
                        term->kind = SEL_PEOPLE;
                else if (!strncmp(t, "rule:", 5))
                        term->kind = SEL_RULE, strmap_get(&m->rule_ids, t + 5, &idx), term->ref = idx;
                else if (!strncmp(t, "role:", 5))
                        term->kind = SEL_ROLE, term->ref = tm_role(m, t + 5);
                else if (!strncmp(t, "org:", 4))
                        term->kind = SEL_ORG, term->ref = tm_org(m, t + 4);
                else if (!strncmp(t, "person:", 7))
                        term->kind = SEL_PERSON, strmap_get(&m->person_ids, t + 7, &idx), term->ref = idx;
                else
                        abort();
        }
        return s;
}

static inline struct feed *tm_feed(struct model *m, const char *name, const char *title, const char *select)
{
        TM_GROW(m->feeds, m->nfeeds);
        struct feed *f = &m->feeds[m->nfeeds];
        memset(f, 0, sizeof(*f));
        f->name = arena_strdup(&m->arena, name);
        f->title = arena_strdup(&m->arena, title);
        f->select = tm_select(m, select);
        f->public = true;
        strmap_put(&m->feed_ids, f->name, m->nfeeds, NULL);
        m->nfeeds++;
        return f;
}

static inline void tm_free(struct model *m)
{
        m->set.tz = NULL; /* the caller's (or the static UTC zone) */
        model_free(m);
}

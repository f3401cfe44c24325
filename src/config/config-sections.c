/* config-sections.c: the named sections that make deadlines and carry them
 * out: [webhook], [rule], [commitment] and [feed], with the selectors,
 * reminder leads and recipients they share. They run after people and
 * webhooks are loaded, so every reference can be checked. */
#include <errno.h>
#include <string.h>

#include "config-internal.h"

#define TOKEN_MIN 22

/* ---- selectors and recipients ------------------------------------------------------ */

typedef int (*word_fn)(struct loader *L, struct place pl, char *tok, void *userdata);

/* Call fn on each blank-separated word of key's value, in a copy (lower case
 * when fold), until fn returns < 0. A blank value has no words. */
static void each_word(struct loader *L, const struct section *s, const char *key, bool fold,
                      word_fn fn, void *userdata)
{
        const char *v = cfg_get(s, key);
        struct place pl = cfg_place(s, key);
        char *save = NULL;

        if (cfg_blank(v))
                return;
        _cleanup_free_ char *copy = xstrdup(v);
        if (fold)
                cfg_fold(copy);
        for (char *tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save))
                if (fn(L, pl, tok, userdata) < 0)
                        break;
}

static bool named_term(struct loader *L, struct place pl, const char *key, const char *tok,
                       bool people_only, struct sel_term *t)
{
        const char *colon = strchr(tok, ':');
        size_t kn = colon ? (size_t)(colon - tok) : 0;
        const char *arg = colon ? colon + 1 : "";

        if (kn == 4 && strncmp(tok, "rule", 4) == 0 && !people_only) {
                t->kind = SEL_RULE;
                if (!strmap_get(&L->m->rule_ids, arg, &t->ref))
                        perr(L, pl, "key '%s': no rule named '%s'", key, arg);
                return true;
        }
        if (kn == 6 && strncmp(tok, "person", 6) == 0) {
                t->kind = SEL_PERSON;
                if (!strmap_get(&L->m->person_ids, arg, &t->ref))
                        perr(L, pl, "key '%s': no person named '%s'", key, arg);
                return true;
        }
        if ((kn == 4 && strncmp(tok, "role", 4) == 0) || (kn == 3 && strncmp(tok, "org", 3) == 0)) {
                bool role = kn == 4;
                t->kind = role ? SEL_ROLE : SEL_ORG;
                if (!cv_id_valid(arg)) {
                        perr(L, pl, "key '%s': invalid %s name '%s'", key, role ? "role" : "org",
                             arg);
                        return true;
                }
                t->ref = role ? cfg_intern_role(L, arg) : cfg_intern_org(L, arg);
                if (t->ref >= (role ? L->nroles_people : L->norgs_people))
                        diag_warn(L->d, pl.file, pl.line, "key '%s': no person has %s '%s'", key,
                                  role ? "role" : "org", arg);
                return true;
        }
        return false;
}

static int parse_term(struct loader *L, struct place pl, const char *key, const char *tok,
                      bool people_only, struct sel_term *t)
{
        size_t before = L->d->nerrors;

        t->ref = IDX_NONE;
        if (strcmp(tok, "all") == 0)
                t->kind = SEL_ALL;
        else if (strcmp(tok, "people") == 0)
                t->kind = SEL_PEOPLE;
        else if (strcmp(tok, "commitments") == 0 && !people_only)
                t->kind = SEL_COMMITMENTS;
        else if (people_only && (strcmp(tok, "commitments") == 0 || str_has_prefix(tok, "rule:"))) {
                perr(L, pl, "key '%s': '%s' is not allowed here (a rule applies to people)", key,
                     tok);
                return -EINVAL;
        } else if (!named_term(L, pl, key, tok, people_only, t)) {
                perr(L, pl,
                     "key '%s': unknown term '%s' (expected all, commitments, people, rule:ID, "
                     "role:ROLE, org:ORG or person:ID)",
                     key, tok);
                return -EINVAL;
        }
        return L->d->nerrors > before ? -EINVAL : 0;
}

struct selector_words {
        const char *key;
        bool people_only;
        struct selector *out;
};

static int selector_word(struct loader *L, struct place pl, char *tok, void *userdata)
{
        struct selector_words *w = userdata;
        struct sel_term t;

        if (parse_term(L, pl, w->key, tok, w->people_only, &t) == 0)
                w->out->terms[w->out->n++] = t;
        return 0;
}

static void get_selector(struct loader *L, const struct section *s, const char *key,
                         bool people_only, struct selector *out)
{
        const char *v = cfg_get(s, key);
        struct selector_words w = {.key = key, .people_only = people_only, .out = out};

        if (cfg_blank(v)) {
                cfg_needs(L, s, key);
                return;
        }
        out->terms = arena_alloc(&L->m->arena, (strlen(v) / 2 + 1) * sizeof(*out->terms));
        each_word(L, s, key, true, selector_word, &w);
}

/* Order leads by how far back they reach from a fixed day: longest first. */
static int32_t lead_span(struct dl_dur d)
{
        dl_day ref = date_from_ymd(2001, 1, 1);
        return ref - date_sub(ref, d);
}

static void add_lead(struct loader *L, struct place pl, struct remind_spec *rs, const char *tok,
                     struct dl_dur d)
{
        int32_t span = lead_span(d);
        uint8_t i;

        if (dur_is_zero(d)) {
                perr(L, pl, "key 'remind': \"%s\" is not a positive duration", tok);
                return;
        }
        for (i = 0; i < rs->nleads; i++) {
                int32_t other = lead_span(rs->leads[i]);
                if (other == span) {
                        perr(L, pl, "key 'remind': duplicate lead \"%s\"", tok);
                        return;
                }
                if (other < span)
                        break;
        }
        if (rs->nleads == MAX_LEADS) {
                perr(L, pl, "key 'remind': at most %d leads", MAX_LEADS);
                return;
        }
        memmove(&rs->leads[i + 1], &rs->leads[i], (rs->nleads - i) * sizeof(rs->leads[0]));
        rs->leads[i] = d;
        rs->nleads++;
}

static int lead_word(struct loader *L, struct place pl, char *tok, void *userdata)
{
        struct dl_dur d;

        if (cfg_parse_dur(L, pl, "remind", tok, &d) == 0)
                add_lead(L, pl, userdata, tok, d);
        return 0;
}

static void get_leads(struct loader *L, const struct section *s, struct remind_spec *rs)
{
        each_word(L, s, "remind", false, lead_word, rs);
}

static int parse_recipient(struct loader *L, struct place pl, char *tok, bool commitment,
                           struct recipient_spec *r)
{
        *r = (struct recipient_spec){.webhook = IDX_NONE};
        if (strcmp(tok, "person") == 0 || strcmp(tok, "manager") == 0) {
                if (commitment) {
                        perr(L, pl, "'%s' has no meaning for a commitment", tok);
                        return -EINVAL;
                }
                r->kind = tok[0] == 'p' ? RCPT_PERSON : RCPT_MANAGER;
        } else if (str_has_prefix(tok, "email:")) {
                r->kind = RCPT_EMAIL;
                if (cfg_check_email(L, pl, "notify", tok + 6) < 0)
                        return -EINVAL;
                r->email = arena_strdup(&L->m->arena, tok + 6);
        } else if (str_has_prefix(tok, "webhook:")) {
                r->kind = RCPT_WEBHOOK;
                if (!strmap_get(&L->m->webhook_ids, cfg_fold(tok + 8), &r->webhook)) {
                        perr(L, pl, "key 'notify': no [webhook %s]", tok + 8);
                        return -EINVAL;
                }
        } else {
                perr(L, pl,
                     "key 'notify': unknown recipient '%s' (expected person, manager, email:ADDR "
                     "or webhook:NAME)",
                     tok);
                return -EINVAL;
        }
        return 0;
}

static bool same_recipient(const struct recipient_spec *a, const struct recipient_spec *b)
{
        if (a->kind != b->kind)
                return false;
        if (a->kind == RCPT_EMAIL)
                return strcmp(a->email, b->email) == 0;
        return a->webhook == b->webhook;
}

struct notify_words {
        bool commitment;
        struct remind_spec *rs;
};

static int notify_word(struct loader *L, struct place pl, char *tok, void *userdata)
{
        struct notify_words *w = userdata;
        struct remind_spec *rs = w->rs;
        struct recipient_spec r;
        bool dup = false;

        if (parse_recipient(L, pl, tok, w->commitment, &r) < 0)
                return 0;
        for (uint8_t i = 0; i < rs->nnotify; i++)
                dup = dup || same_recipient(&rs->notify[i], &r);
        if (dup) {
                perr(L, pl, "key 'notify': duplicate recipient '%s'", tok);
                return 0;
        }
        if (rs->nnotify == MAX_NOTIFY) {
                perr(L, pl, "key 'notify': at most %d recipients", MAX_NOTIFY);
                return -E2BIG;
        }
        rs->notify[rs->nnotify++] = r;
        return 0;
}

static void get_notify(struct loader *L, const struct section *s, bool commitment,
                       struct remind_spec *rs)
{
        struct notify_words w = {.commitment = commitment, .rs = rs};

        each_word(L, s, "notify", false, notify_word, &w);
}

/* ---- webhooks, rules, commitments, feeds ------------------------------------------ */

void cfg_load_webhook(struct loader *L, const struct section *s)
{
        struct webhook *w = &L->m->webhooks[s->idx];
        const char *v = cfg_get(s, "format");
        static const char *const formats[] = {"json", "slack", "teams"};

        cfg_get_url(L, s, "url", true, &w->url);
        w->format = WH_JSON;
        if (!cfg_blank(v)) {
                size_t i;
                for (i = 0; i < ELEMENTSOF(formats) && strcmp(v, formats[i]) != 0; i++)
                        ;
                if (i < ELEMENTSOF(formats))
                        w->format = (uint8_t)i;
                else
                        perr(L, cfg_place(s, "format"),
                             "key 'format': expected json, slack or teams");
        }
        cfg_load_secret(L, s, "secret_file", &w->secret_file, &w->secret, &w->secret_len);
}

static uint32_t field_ref(struct loader *L, const struct section *s, const char *key, bool required)
{
        const char *v = cfg_get(s, key);
        uint32_t f = IDX_NONE;

        if (cfg_blank(v)) {
                if (required)
                        cfg_needs(L, s, key);
                return IDX_NONE;
        }
        _cleanup_free_ char *name = cfg_fold(xstrdup(v));
        strmap_get(&L->field_ids, name, &f); /* a bad name was reported when collected */
        return f;
}

void cfg_load_rule(struct loader *L, const struct section *s)
{
        struct rule *r = &L->m->rules[s->idx];
        const char *v;

        cfg_get_text(L, s, "title", TEXT_MAX, true, &r->title);
        cfg_get_text(L, s, "description", LONG_TEXT_MAX, false, &r->description);
        cfg_get_text(L, s, "source", TEXT_MAX, false, &r->source);
        cfg_get_url(L, s, "url", false, &r->url);
        get_selector(L, s, "applies_to", true, &r->applies_to);
        r->anchor_field = field_ref(L, s, "anchor", true);
        r->done_field = field_ref(L, s, "done", false);
        r->has_within = cfg_get_dur(L, s, "within", (struct dl_dur){0, 0}, &r->within);
        r->not_after = DATE_NONE;
        if (!cfg_blank(v = cfg_get(s, "not_after")))
                cfg_parse_day(L, cfg_place(s, "not_after"), "not_after", v, &r->not_after);
        if (cfg_blank(cfg_get(s, "within")) && cfg_blank(v))
                diag_err(L->d, s->f->path, s->line, "[%s] needs 'within' or 'not_after'", s->name);
        cfg_get_dur(L, s, "every", (struct dl_dur){0, 0}, &r->every);
        r->recurring = !dur_is_zero(r->every);
        if (r->recurring && cfg_blank(cfg_get(s, "done")))
                perr(L, cfg_place(s, "every"), "key 'every': a recurring rule needs 'done'");
        get_leads(L, s, &r->remind);
        cfg_get_dur(L, s, "overdue_every", (struct dl_dur){0, 7}, &r->remind.overdue_every);
        get_notify(L, s, false, &r->remind);
}

void cfg_load_commitment(struct loader *L, const struct section *s)
{
        struct commitment *c = &L->m->commitments[s->idx];
        static const char *const states[] = {"open", "met", "missed", "dropped"};
        const char *v;

        cfg_get_text(L, s, "title", TEXT_MAX, true, &c->title);
        cfg_get_text(L, s, "description", LONG_TEXT_MAX, false, &c->description);
        cfg_get_text(L, s, "owner", TEXT_MAX, false, &c->owner);
        cfg_get_text(L, s, "source", TEXT_MAX, false, &c->source);
        cfg_get_url(L, s, "url", false, &c->url);
        c->due = (struct dl_date){.day = DATE_NONE, .minute = -1};
        if (cfg_blank(v = cfg_get(s, "due")))
                cfg_needs(L, s, "due");
        else {
                int r = date_parse(v, &c->due);
                if (r < 0)
                        cfg_date_error(L, cfg_place(s, "due"), "due", v, r,
                                       "YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDTHH:MM");
        }
        c->status = CST_OPEN;
        if (!cfg_blank(v = cfg_get(s, "status"))) {
                size_t i;
                for (i = 0; i < ELEMENTSOF(states) && strcmp(v, states[i]) != 0; i++)
                        ;
                if (i < ELEMENTSOF(states))
                        c->status = (uint8_t)i;
                else
                        perr(L, cfg_place(s, "status"),
                             "key 'status': expected open, met, missed or dropped");
        }
        get_leads(L, s, &c->remind);
        cfg_get_dur(L, s, "overdue_every", (struct dl_dur){0, 0}, &c->remind.overdue_every);
        get_notify(L, s, true, &c->remind);
}

static bool token_char(char c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               (c && strchr("-_.~", c));
}

static void feed_token(struct loader *L, const struct section *s, struct feed *fd)
{
        struct place pl = cfg_place(s, "token_file");
        size_t len = 0;

        if (cfg_load_secret(L, s, "token_file", &fd->token_file, &fd->token, &len) < 0 ||
            !fd->token)
                return;
        if (len < TOKEN_MIN) {
                perr(L, pl,
                     "key 'token_file': token is too short (need at least 128 bits, e.g. "
                     "from 'deadlined token')");
                return;
        }
        for (size_t i = 0; i < len; i++) {
                if (!token_char(fd->token[i])) {
                        perr(L, pl,
                             "key 'token_file': a token may hold only A-Z, a-z, 0-9, '-', "
                             "'_', '.' and '~'");
                        return;
                }
        }
}

void cfg_load_feed(struct loader *L, const struct section *s)
{
        struct feed *fd = &L->m->feeds[s->idx];
        bool has_token = !cfg_blank(cfg_get(s, "token_file"));

        cfg_get_text(L, s, "title", TEXT_MAX, false, &fd->title);
        if (!fd->title)
                fd->title = fd->name;
        cfg_get_text(L, s, "description", LONG_TEXT_MAX, false, &fd->description);
        get_selector(L, s, "select", false, &fd->select);
        cfg_get_bool(L, s, "public", &fd->public);
        cfg_get_bool(L, s, "alarms", &fd->alarms);
        if (fd->public && has_token)
                perr(L, cfg_place(s, "token_file"), "key 'token_file': a public feed has no token");
        else if (!fd->public && !has_token)
                cfg_needs(L, s, "token_file");
        else if (has_token)
                feed_token(L, s, fd);
}

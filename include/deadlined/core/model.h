/* model.h: the immutable configuration model that config.c builds and the
 * core reads. All strings live in the model's arena. Indexes, not pointers,
 * link records (person -> manager, term -> rule) so the arrays can grow while
 * building. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "deadlined/core/date.h"
#include "deadlined/base/util.h"

#define IDX_NONE UINT32_MAX
#define MAX_LEADS 16
#define MAX_NOTIFY 16

/* select / applies_to: space-separated terms, OR'ed. */
enum sel_kind { SEL_ALL, SEL_COMMITMENTS, SEL_PEOPLE, SEL_RULE, SEL_ROLE, SEL_ORG, SEL_PERSON };
struct sel_term {
        uint8_t kind;
        uint32_t ref; /* rule, role, org or person index; unused for ALL/COMMITMENTS/PEOPLE */
};
struct selector {
        struct sel_term *terms;
        uint32_t n;
};

enum rcpt_kind { RCPT_PERSON, RCPT_MANAGER, RCPT_EMAIL, RCPT_WEBHOOK };
struct recipient_spec {
        uint8_t kind;
        uint32_t webhook;  /* RCPT_WEBHOOK: index into model.webhooks */
        const char *email; /* RCPT_EMAIL */
};

/* What a rule and a commitment share about reminding. */
struct remind_spec {
        struct dl_dur leads[MAX_LEADS]; /* sorted longest first, duplicates rejected */
        uint8_t nleads;
        struct dl_dur overdue_every; /* zero = one overdue notice only */
        struct recipient_spec notify[MAX_NOTIFY];
        uint8_t nnotify;
};

struct rule {
        const char *id, *title, *description, *source, *url; /* optional ones may be NULL */
        struct selector applies_to;
        uint32_t anchor_field; /* index into model.fields */
        uint32_t done_field;   /* IDX_NONE when no done field */
        bool has_within;
        struct dl_dur within;
        dl_day not_after; /* DATE_NONE when no cap */
        bool recurring;
        struct dl_dur every;
        struct remind_spec remind;
        const char *file;
        int line;
};

enum commitment_status { CST_OPEN, CST_MET, CST_MISSED, CST_DROPPED };
struct commitment {
        const char *id, *title, *description, *owner, *source, *url;
        struct dl_date due;
        uint8_t status;
        struct remind_spec remind;
        const char *file;
        int line;
};

struct person {
        const char *id, *name, *email; /* email may be NULL */
        uint32_t org;                  /* index into model.orgs, IDX_NONE if none */
        uint32_t manager;              /* index into model.people, IDX_NONE if none */
        uint16_t *roles;               /* indexes into model.roles */
        uint8_t nroles;
        dl_day *dates; /* model.nfields entries, DATE_NONE when unset */
        const char *file;
        int line;
};

enum webhook_format { WH_JSON, WH_SLACK, WH_TEAMS };
struct webhook {
        const char *name, *url;
        uint8_t format;
        const char *secret_file; /* NULL if none */
        char *secret;            /* loaded bytes, NULL if none */
        size_t secret_len;
        const char *file;
        int line;
};

struct feed {
        const char *name, *title, *description;
        struct selector select;
        bool public, alarms;
        const char *token_file; /* NULL for public feeds */
        char *token;            /* the loaded secret, whitespace trimmed */
        const char *file;
        int line;
};

enum smtp_tls { TLS_STARTTLS, TLS_IMPLICIT, TLS_NONE };
struct smtp {
        bool present; /* false: mail goes to STATE/outbox/ as .eml files */
        const char *url, *from, *username, *password_file;
        char *password;
        uint8_t tls;
};

struct settings {
        const char *timezone;
        struct tz *tz;
        int send_at; /* minutes after local midnight */
        const char *state_dir;
        struct dl_dur catch_up;
        const char *uid_domain;
        const char *http_listen; /* "none" disables */
        const char *public_url;
        /* Delivery (seconds; 0 = the built-in default, like Postfix: 300, 3600, 5 days, 30). */
        int32_t retry_min, retry_max, retry_give_up, send_timeout;
};

struct model {
        struct arena arena;
        struct settings set;
        struct rule *rules;
        uint32_t nrules;
        struct commitment *commitments;
        uint32_t ncommitments;
        struct person *people;
        uint32_t npeople;
        const char **fields; /* person date field names (anchor/done of some rule) */
        uint32_t nfields;
        const char **roles;
        uint32_t nroles;
        const char **orgs;
        uint32_t norgs;
        struct webhook *webhooks;
        uint32_t nwebhooks;
        struct feed *feeds;
        uint32_t nfeeds;
        struct smtp smtp;
        const char **files; /* every file read, in order (main, drop-ins, roster) */
        uint32_t nfiles;
        int64_t mtime; /* newest mtime of those files: the deterministic DTSTAMP */
        struct strmap person_ids, rule_ids, commitment_ids, webhook_ids, feed_ids;
};

void model_free(struct model *m);
/* Lookups by name; IDX_NONE if absent. */
uint32_t model_person(const struct model *m, const char *id);
uint32_t model_rule(const struct model *m, const char *id);
uint32_t model_webhook(const struct model *m, const char *name);
uint32_t model_feed(const struct model *m, const char *name);
bool person_has_role(const struct model *m, const struct person *p, uint32_t role);

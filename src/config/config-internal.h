/* config-internal.h: what the config-*.c files share and nothing else uses:
 * the loader's state, the section index and the checks that report.
 *
 *   config.c           reading files and drop-ins, indexing sections, key checks, the whole load
 *   config-get.c       typed getters for one key, each reporting FILE:LINE on error
 *   config-values.c    pure syntax checks for one value (ids, hosts, emails, URLs, time spans)
 *   config-secrets.c   secret files and systemd credentials
 *   config-people.c    [person] sections, the CSV roster, managers
 *   config-settings.c  [deadlined], [http] and [smtp]
 *   config-sections.c  selectors, reminders, [webhook], [rule], [commitment], [feed] */
#pragma once
#include <iniparser.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "deadlined/config/config.h"
#include "deadlined/config/ini.h"

#define TEXT_MAX 512
#define LONG_TEXT_MAX 8192

enum kind { K_DEADLINED, K_HTTP, K_SMTP, K_FEED, K_WEBHOOK, K_RULE, K_PERSON, K_COMMITMENT, K_N };

struct inifile {
        const char *path, *dir; /* arena; dir is "" for the current directory */
        struct ini_scan scan;
        dictionary *dict; /* NULL when the file could not be read or parsed */
        bool main;
};

struct section {
        uint8_t kind;
        const char *name, *id; /* name as iniparser has it ("rule x"); id NULL for singletons */
        struct inifile *f;
        int line;
        uint32_t idx; /* index in the model array of its kind */
};

struct place {
        const char *file;
        int line;
};

struct loader {
        struct model *m;
        struct diags *d;
        struct inifile **files;
        size_t nfiles;
        const char **order; /* every path tried, in order: the sort key for diagnostics */
        size_t norder;
        struct section *secs;
        size_t nsecs, cap_secs;
        struct strmap sec_ids, field_ids, role_ids, org_ids;
        size_t cap_people, cap_fields, cap_roles, cap_orgs, cap_files;
        uint32_t nroles_people, norgs_people; /* roles/orgs that some person has */
        const char **mgr;                     /* per person: manager id as written */
        int *mgr_line;
        /* roster parsing */
        const char *roster_file;
        int *cols; /* column -> COL_* */
        bool roster_header;
        size_t ncols;
};

#define perr(L, pl, ...) diag_err((L)->d, (pl).file, (pl).line, __VA_ARGS__)

/* config.c: files and the section index. */
const char *cfg_path_join(struct arena *a, const char *dir, const char *rel);
void cfg_note_path(struct loader *L, const char *path);
void cfg_record_file(struct loader *L, const char *path, const struct stat *st);
/* A regular file of at most max bytes, NUL-terminated; -EFBIG when larger, -EISDIR when not
 * regular. */
int cfg_read_file(const char *path, unsigned long long max, char **out, size_t *len,
                  struct stat *st);
const char *cfg_get(const struct section *s, const char *key);
struct place cfg_place(const struct section *s, const char *key);
void cfg_needs(struct loader *L, const struct section *s, const char *key);
char *cfg_fold(char *s);
bool cfg_blank(const char *v);
uint32_t cfg_intern(struct loader *L, struct strmap *map, const char ***arr, uint32_t *n,
                    size_t *cap, const char *s);
/* Singleton kinds ([deadlined], [http], [smtp]) may be split over files. */
const struct section *cfg_single_with(struct loader *L, int kind, const char *key);
const struct section *cfg_single_first(struct loader *L, int kind);
const char *cfg_single_value(struct loader *L, int kind, const char *key,
                             const struct section **where);

/* config-get.c: each reports its own errors; out parameters keep their default on error. */
int cfg_check_text(struct loader *L, struct place pl, const char *key, const char *v, size_t max);
void cfg_get_text(struct loader *L, const struct section *s, const char *key, size_t max,
                  bool required, const char **out);
void cfg_date_error(struct loader *L, struct place pl, const char *key, const char *v, int r,
                    const char *forms);
int cfg_parse_day(struct loader *L, struct place pl, const char *key, const char *v, dl_day *out);
int cfg_parse_dur(struct loader *L, struct place pl, const char *key, const char *v,
                  struct dl_dur *out);
bool cfg_get_dur(struct loader *L, const struct section *s, const char *key, struct dl_dur def,
                 struct dl_dur *out);
bool cfg_get_span(struct loader *L, const struct section *s, const char *key, int32_t *out);
void cfg_get_bool(struct loader *L, const struct section *s, const char *key, bool *out);
int cfg_check_email(struct loader *L, struct place pl, const char *key, const char *v);
int cfg_check_url(struct loader *L, struct place pl, const char *key, const char *v, bool smtp,
                  char *host, size_t hostcap);
void cfg_get_url(struct loader *L, const struct section *s, const char *key, bool required,
                 const char **out);

/* config-values.c: pure syntax checks. */
bool cv_id_valid(const char *s);
bool cv_field_valid(const char *s);
bool cv_hostname_valid(const char *s, size_t n);
bool cv_email_valid(const char *s);
int cv_url_split(const char *url, char *scheme, size_t slen, const char **host, size_t *hostlen);
bool cv_listen_valid(const char *s);
int cv_bool(const char *s);
#define SPAN_MAX (366 * 86400) /* seconds: a year is plenty for any retry or timeout */
/* Time spans "30s", "5min", "1h30min", "2d": units d, h, min, s in that order, each at most
 * once. 0, -EINVAL, -ERANGE (over SPAN_MAX) or -EDOM (an 'm' unit: months elsewhere). */
int cv_span_parse(const char *s, int32_t *out);
/* Canonical text, e.g. "1h30min", "5d", "0s". buf >= 32 bytes. */
const char *cv_span_format(int32_t secs, char *buf, size_t len);

/* config-secrets.c */
/* Load key's secret file, or its systemd credential; 0 when the key is absent. */
int cfg_load_secret(struct loader *L, const struct section *s, const char *key, const char **path,
                    char **secret, size_t *len);
/* $CREDENTIALS_DIRECTORY/name when it exists; 0 and *secret NULL when it does not. */
int cfg_load_credential(struct loader *L, struct place pl, const char *key, const char *name,
                        const char **path, char **secret, size_t *len);

/* config-people.c */
uint32_t cfg_person_new(struct loader *L);
uint32_t cfg_intern_role(struct loader *L, const char *s);
uint32_t cfg_intern_org(struct loader *L, const char *s);
void cfg_load_person(struct loader *L, const struct section *s);
void cfg_load_roster(struct loader *L);
void cfg_resolve_managers(struct loader *L);

/* config-settings.c */
void cfg_load_settings(struct loader *L);
void cfg_load_http(struct loader *L);
void cfg_load_smtp(struct loader *L);

/* config-sections.c */
void cfg_load_webhook(struct loader *L, const struct section *s);
void cfg_load_rule(struct loader *L, const struct section *s);
void cfg_load_commitment(struct loader *L, const struct section *s);
void cfg_load_feed(struct loader *L, const struct section *s);

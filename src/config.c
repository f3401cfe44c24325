/* config.c: load the main file, its drop-ins and the CSV roster into a model.
 *
 * Order of work: read and pre-scan every INI file, index their sections
 * (kinds, ids, duplicates across files), collect the person date fields that
 * rules name, check every key, load people (INI, then the CSV roster), resolve
 * managers, then settings, channels, rules, commitments and feeds, whose
 * references need all of the above. Every problem is recorded; the
 * diagnostics are sorted by file and line at the end. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <iniparser.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deadlined/config.h"
#include "deadlined/ini.h"
#include "deadlined/log.h"
#include "deadlined/roster.h"
#include "deadlined/tz.h"

#define INI_MAX_BYTES (4ull << 20)
#define TZ_MAX_BYTES (1ull << 20)
#define SECRET_MAX_BYTES (64ull << 10)
#define CHUNK (64u << 10)
#define TEXT_MAX 512
#define LONG_TEXT_MAX 8192
#define MAX_ROLES 32
#define TOKEN_MIN 22
#define ZONEINFO "/usr/share/zoneinfo/"
#define LOOP_SHOW 8

/* config-values.c */
bool cv_id_valid(const char *s);
bool cv_field_valid(const char *s);
bool cv_hostname_valid(const char *s, size_t n);
bool cv_email_valid(const char *s);
int cv_url_split(const char *url, char *scheme, size_t slen, const char **host, size_t *hostlen);
bool cv_listen_valid(const char *s);
int cv_bool(const char *s);

enum kind { K_DEADLINED, K_HTTP, K_SMTP, K_FEED, K_WEBHOOK, K_RULE, K_PERSON, K_COMMITMENT, K_N };

static const char *const kind_name[K_N] = {"deadlined", "http", "smtp",   "feed",
                                           "webhook",   "rule", "person", "commitment"};
/* NULL: the kind takes no name. */
static const char *const kind_example[K_N] = {
    NULL, NULL, NULL, "school", "send-team", "senco-npq", "jane-smith", "ect-entitlement-review"};

static const char *const keys_deadlined[] = {"timezone", "send_at",  "state_dir", "include",
                                             "roster",   "catch_up", "uid_domain"};
static const char *const keys_http[] = {"listen", "public_url"};
static const char *const keys_smtp[] = {"url", "tls", "from", "username", "password_file"};
static const char *const keys_feed[] = {"title",  "description", "select",
                                        "public", "token_file",  "alarms"};
static const char *const keys_webhook[] = {"url", "format", "secret_file"};
static const char *const keys_rule[] = {
    "title",     "description", "source", "url",    "applies_to",    "anchor", "within",
    "not_after", "done",        "every",  "remind", "overdue_every", "notify"};
static const char *const keys_person[] = {"name", "email", "role", "org", "manager"};
static const char *const keys_commitment[] = {"title",         "description", "due", "owner",
                                              "status",        "source",      "url", "remind",
                                              "overdue_every", "notify"};

struct keyset {
        const char *const *v;
        size_t n;
};
#define KEYSET(a)                                                                                  \
        {                                                                                          \
                (a), ELEMENTSOF(a)                                                                 \
        }
static const struct keyset kind_keys[K_N] = {
    KEYSET(keys_deadlined), KEYSET(keys_http), KEYSET(keys_smtp),   KEYSET(keys_feed),
    KEYSET(keys_webhook),   KEYSET(keys_rule), KEYSET(keys_person), KEYSET(keys_commitment)};

/* Roster columns other than date fields; a date field f is column COL_FIELD + f. */
enum { COL_ID, COL_NAME, COL_EMAIL, COL_ROLE, COL_ORG, COL_MANAGER, COL_FIELD };
static const char *const roster_fixed[COL_FIELD] = {"id",   "name", "email",
                                                    "role", "org",  "manager"};

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

static int quiet_iniparser(const char *fmt, ...)
{
        (void)fmt;
        return 0; /* iniparser's own stderr chatter: the pre-scan reports better */
}

/* ---- small helpers ---------------------------------------------------- */

static char *dir_of(struct arena *a, const char *path)
{
        const char *slash = strrchr(path, '/');

        if (!slash)
                return arena_strdup(a, "");
        if (slash == path)
                return arena_strdup(a, "/");
        return arena_strndup(a, path, (size_t)(slash - path));
}

static const char *path_join(struct arena *a, const char *dir, const char *rel)
{
        if (rel[0] == '/' || dir[0] == '\0')
                return arena_strdup(a, rel);
        char *s = xasprintf("%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", rel);
        const char *r = arena_strdup(a, s);
        free(s);
        return r;
}

static void note_path(struct loader *L, const char *path)
{
        L->order = xreallocarray(L->order, L->norder + 1, sizeof(*L->order));
        L->order[L->norder++] = path;
}

static void record_file(struct loader *L, const char *path, const struct stat *st)
{
        struct model *m = L->m;

        if (m->nfiles == L->cap_files) {
                L->cap_files = L->cap_files ? L->cap_files * 2 : 8;
                m->files = xreallocarray(m->files, L->cap_files, sizeof(*m->files));
        }
        m->files[m->nfiles++] = path;
        if ((int64_t)st->st_mtime > m->mtime)
                m->mtime = (int64_t)st->st_mtime;
}

/* Read to EOF into a growing buffer; -EFBIG past max (the file grew under us). */
static int read_all(int fd, size_t hint, unsigned long long max, char **out, size_t *len)
{
        size_t cap = hint + 1, n = 0;
        char *buf = xmalloc(cap + 1);

        for (;;) {
                ssize_t k = read(fd, buf + n, cap - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 || n > max) {
                        int r = k < 0 ? -errno : -EFBIG;
                        free(buf);
                        return r;
                }
                if (k == 0)
                        break;
                n += (size_t)k;
                if (n == cap) {
                        cap *= 2;
                        buf = xreallocarray(buf, cap + 1, 1);
                }
        }
        buf[n] = '\0';
        *out = buf;
        *len = n;
        return 0;
}

/* Read a whole regular file of at most max bytes, NUL-terminated.
 * -EFBIG when larger, -EISDIR when not a regular file. */
static int read_file(const char *path, unsigned long long max, char **out, size_t *len,
                     struct stat *st)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        int r = fstat(fd, st) < 0 ? -errno : 0;
        if (r == 0 && !S_ISREG(st->st_mode))
                r = -EISDIR;
        if (r == 0 && (unsigned long long)st->st_size > max)
                r = -EFBIG;
        if (r == 0)
                r = read_all(fd, (size_t)st->st_size, max, out, len);
        close(fd);
        return r;
}

static const char *sec_get(const struct section *s, const char *key)
{
        char buf[2048];

        if (!s->f->dict || snprintf(buf, sizeof(buf), "%s:%s", s->name, key) >= (int)sizeof(buf))
                return NULL;
        return iniparser_getstring(s->f->dict, buf, NULL);
}

static struct place key_place(const struct section *s, const char *key)
{
        int line = ini_line(&s->f->scan, s->name, key);
        return (struct place){s->f->path, line > 0 ? line : s->line};
}

#define perr(L, pl, ...) diag_err((L)->d, (pl).file, (pl).line, __VA_ARGS__)

static void needs(struct loader *L, const struct section *s, const char *key)
{
        diag_err(L->d, s->f->path, s->line, "[%s] needs '%s'", s->name, key);
}

/* iniparser lowercases section names, so ids, roles, orgs and field names
 * are case-insensitive everywhere: every reference is folded the same way. */
static char *fold(char *s)
{
        for (char *c = s; *c; c++)
                if (*c >= 'A' && *c <= 'Z')
                        *c = (char)(*c + ('a' - 'A'));
        return s;
}

static bool blank(const char *v)
{
        return !v || v[strspn(v, " \t")] == '\0';
}

static uint32_t intern(struct loader *L, struct strmap *map, const char ***arr, uint32_t *n,
                       size_t *cap, const char *s)
{
        uint32_t idx;

        if (strmap_get(map, s, &idx))
                return idx;
        if (*n == *cap) {
                *cap = *cap ? *cap * 2 : 16;
                *arr = xreallocarray(*arr, *cap, sizeof(**arr));
        }
        const char *copy = arena_strdup(&L->m->arena, s);
        (*arr)[*n] = copy;
        strmap_put(map, copy, *n, NULL);
        return (*n)++;
}

static uint32_t intern_role(struct loader *L, const char *s)
{
        return intern(L, &L->role_ids, &L->m->roles, &L->m->nroles, &L->cap_roles, s);
}

static uint32_t intern_org(struct loader *L, const char *s)
{
        return intern(L, &L->org_ids, &L->m->orgs, &L->m->norgs, &L->cap_orgs, s);
}

/* ---- value checks that report ------------------------------------------ */

static int check_text(struct loader *L, struct place pl, const char *key, const char *v, size_t max)
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
static void get_text(struct loader *L, const struct section *s, const char *key, size_t max,
                     bool required, const char **out)
{
        const char *v = sec_get(s, key);

        *out = NULL;
        if (blank(v)) {
                if (required)
                        needs(L, s, key);
                return;
        }
        if (check_text(L, key_place(s, key), key, v, max) == 0)
                *out = arena_strdup(&L->m->arena, v);
}

static void date_error(struct loader *L, struct place pl, const char *key, const char *v, int r,
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
static int parse_day(struct loader *L, struct place pl, const char *key, const char *v, dl_day *out)
{
        *out = DATE_NONE;
        if (blank(v))
                return 0;
        int r = date_parse_day(v, out);
        if (r < 0) {
                *out = DATE_NONE;
                date_error(L, pl, key, v, r, "YYYY-MM-DD");
        }
        return r;
}

static int parse_dur(struct loader *L, struct place pl, const char *key, const char *v,
                     struct dl_dur *out)
{
        int r = dur_parse(v, out);

        if (r < 0)
                perr(L, pl, "key '%s': \"%s\" is not a duration (try 3y, 18m, 2w, 10d or 1y6m)",
                     key, v);
        return r;
}

/* An optional duration with a default; true if the key was given. */
static bool get_dur(struct loader *L, const struct section *s, const char *key, struct dl_dur def,
                    struct dl_dur *out)
{
        const char *v = sec_get(s, key);

        *out = def;
        if (blank(v))
                return false;
        if (parse_dur(L, key_place(s, key), key, v, out) < 0) {
                *out = def;
                return false;
        }
        return true;
}

static void get_bool(struct loader *L, const struct section *s, const char *key, bool *out)
{
        const char *v = sec_get(s, key);

        if (blank(v))
                return;
        int b = cv_bool(v);
        if (b < 0)
                perr(L, key_place(s, key), "key '%s': expected yes or no", key);
        else
                *out = b;
}

static int check_email(struct loader *L, struct place pl, const char *key, const char *v)
{
        if (cv_email_valid(v))
                return 0;
        perr(L, pl, "key '%s': '%s' is not a valid email address", key, v);
        return -EINVAL;
}

/* http(s) URL, or smtp(s) when smtp is set. Host returned for the TLS check. */
static int check_url(struct loader *L, struct place pl, const char *key, const char *v, bool smtp,
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

static void get_url(struct loader *L, const struct section *s, const char *key, bool required,
                    const char **out)
{
        const char *v = sec_get(s, key);

        *out = NULL;
        if (blank(v)) {
                if (required)
                        needs(L, s, key);
                return;
        }
        if (check_url(L, key_place(s, key), key, v, false, NULL, 0) == 0)
                *out = arena_strdup(&L->m->arena, v);
}

/* ---- secret files ------------------------------------------------------ */

static void trim_right(char *s, size_t *len)
{
        while (*len > 0 && strchr(" \t\r\n", s[*len - 1]))
                s[--*len] = '\0';
}

/* Load a secret the way ssh treats keys: a regular file nobody else can touch. */
static int load_secret(struct loader *L, const struct section *s, const char *key,
                       const char **path, char **secret, size_t *len)
{
        const char *v = sec_get(s, key);
        struct place pl = key_place(s, key);
        struct stat st;
        char *buf;

        if (blank(v))
                return 0;
        *path = path_join(&L->m->arena, s->f->dir, v);
        int r = read_file(*path, SECRET_MAX_BYTES, &buf, len, &st);
        if (r == -EISDIR || r == -EFBIG) {
                perr(L, pl, "key '%s': %s is %s", key, *path,
                     r == -EISDIR ? "not a regular file" : "too large for a secret");
                return r;
        }
        if (r < 0) {
                perr(L, pl, "key '%s': cannot read %s: %s", key, *path, strerror(-r));
                return r;
        }
        if (st.st_mode & 077) {
                perr(L, pl, "key '%s': %s is readable by others; chmod 600 it", key, *path);
                explicit_bzero(buf, *len);
                free(buf);
                return -EPERM;
        }
        trim_right(buf, len);
        if (*len == 0) {
                perr(L, pl, "key '%s': %s is empty", key, *path);
                free(buf);
                return -EINVAL;
        }
        *secret = buf;
        return 0;
}

/* ---- reading INI files -------------------------------------------------- */

static struct inifile *ini_read(struct loader *L, const char *path, bool is_main)
{
        struct inifile *f = xcalloc(1, sizeof(*f));
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t len;

        f->path = arena_strdup(&L->m->arena, path);
        f->dir = dir_of(&L->m->arena, path);
        f->main = is_main;
        L->files = xreallocarray(L->files, L->nfiles + 1, sizeof(*L->files));
        L->files[L->nfiles++] = f;
        note_path(L, f->path);

        int r = read_file(path, INI_MAX_BYTES, &buf, &len, &st);
        if (r == -EFBIG) {
                diag_err(L->d, f->path, 0, "file is %llu bytes; the limit is %llu",
                         (unsigned long long)st.st_size, INI_MAX_BYTES);
                return f;
        }
        if (r < 0) {
                diag_err(L->d, f->path, 0, "cannot read: %s", strerror(-r));
                return f;
        }
        record_file(L, f->path, &st);
        if (ini_prescan(f->path, buf, len, &f->scan, L->d) < 0)
                return f;
        iniparser_set_error_callback(quiet_iniparser);
        f->dict = iniparser_load(path);
        if (!f->dict)
                diag_err(L->d, f->path, 1, "iniparser could not parse this file");
        return f;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool is_dropin(const struct dirent *de)
{
        size_t n = strlen(de->d_name);
        return de->d_name[0] != '.' && n > 5 && strcmp(de->d_name + n - 5, ".conf") == 0;
}

/* include = DIR: every DIR/NAME.conf in strcmp order, like systemd drop-ins. */
static void load_dropins(struct loader *L, struct inifile *mainf)
{
        const char *v = iniparser_getstring(mainf->dict, "deadlined:include", NULL);
        struct place pl = {mainf->path, ini_line(&mainf->scan, "deadlined", "include")};
        char **names = NULL;
        size_t n = 0;

        if (blank(v))
                return;
        const char *dir = path_join(&L->m->arena, mainf->dir, v);
        DIR *dp = opendir(dir);
        if (!dp) {
                perr(L, pl, "key 'include': cannot open directory %s: %s", dir, strerror(errno));
                return;
        }
        for (struct dirent *de; (de = readdir(dp));) {
                if (!is_dropin(de))
                        continue;
                names = xreallocarray(names, n + 1, sizeof(*names));
                names[n++] = xstrdup(de->d_name);
        }
        closedir(dp);
        qsort(names, n, sizeof(*names), cmp_str);
        for (size_t i = 0; i < n; i++) {
                struct stat st;
                const char *p = path_join(&L->m->arena, dir, names[i]);
                if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
                        ini_read(L, p, false);
                free(names[i]);
        }
        free(names);
}

/* ---- indexing sections ---------------------------------------------------- */

static int kind_lookup(const char *name, size_t n)
{
        for (int k = 0; k < K_N; k++)
                if (strlen(kind_name[k]) == n && strncmp(kind_name[k], name, n) == 0)
                        return k;
        return -1;
}

static uint32_t person_new(struct loader *L)
{
        struct model *m = L->m;

        if (m->npeople == L->cap_people) {
                L->cap_people = L->cap_people ? L->cap_people * 2 : 64;
                m->people = xreallocarray(m->people, L->cap_people, sizeof(*m->people));
                L->mgr = xreallocarray(L->mgr, L->cap_people, sizeof(*L->mgr));
                L->mgr_line = xreallocarray(L->mgr_line, L->cap_people, sizeof(*L->mgr_line));
        }
        uint32_t i = m->npeople++;
        m->people[i] = (struct person){.org = IDX_NONE, .manager = IDX_NONE};
        L->mgr[i] = NULL;
        L->mgr_line[i] = 0;
        return i;
}

/* Name check for one section; returns its kind or -1. */
static int section_kind(struct loader *L, struct inifile *f, const char *name, int line,
                        const char **id)
{
        const char *sp = strchr(name, ' ');
        size_t kn = sp ? (size_t)(sp - name) : strlen(name);
        int k = kind_lookup(name, kn);

        *id = sp ? sp + 1 : NULL;
        if (k < 0) {
                diag_err(L->d, f->path, line,
                         "unknown section kind '%.*s' (expected one of: deadlined, http, smtp, "
                         "feed, webhook, rule, person, commitment)",
                         (int)kn, name);
                return -1;
        }
        if (!kind_example[k] && *id) {
                diag_err(L->d, f->path, line, "[%s] takes no name", kind_name[k]);
                return -1;
        }
        if (kind_example[k] && !*id) {
                diag_err(L->d, f->path, line, "[%s] needs a name, e.g. [%s %s]", kind_name[k],
                         kind_name[k], kind_example[k]);
                return -1;
        }
        if (*id && !cv_id_valid(*id)) {
                diag_err(L->d, f->path, line,
                         "invalid name '%s' in [%s] (use a-z, 0-9, '.', '_' or '-', at most 64 "
                         "characters)",
                         *id, name);
                return -1;
        }
        return k;
}

static void index_section(struct loader *L, struct inifile *f, const char *secname)
{
        int line = ini_line(&f->scan, secname, NULL);
        const char *id;
        int k = section_kind(L, f, secname, line, &id);
        uint32_t first;

        if (k < 0)
                return;
        const char *name = arena_strdup(&L->m->arena, secname);
        /* Singletons may be split over files (keys are checked for clashes later). */
        if (id && !strmap_put(&L->sec_ids, name, (uint32_t)L->nsecs, &first)) {
                const struct section *o = &L->secs[first];
                diag_err(L->d, f->path, line, "duplicate section [%s] (first at %s:%d)", name,
                         o->f->path, o->line);
                return;
        }
        if (L->nsecs == L->cap_secs) {
                L->cap_secs = L->cap_secs ? L->cap_secs * 2 : 32;
                L->secs = xreallocarray(L->secs, L->cap_secs, sizeof(*L->secs));
        }
        L->secs[L->nsecs++] = (struct section){
            .kind = (uint8_t)k,
            .name = name,
            .id = id ? name + (id - secname) : NULL,
            .f = f,
            .line = line,
        };
}

/* Field names named by rules' anchor and done keys. */
static void collect_field(struct loader *L, const struct section *s, const char *key)
{
        const char *raw = sec_get(s, key);

        if (blank(raw))
                return;
        _cleanup_free_ char *v = fold(xstrdup(raw));
        for (size_t i = 0; i < ELEMENTSOF(keys_person); i++) {
                if (strcmp(v, keys_person[i]) == 0 || strcmp(v, "id") == 0) {
                        perr(L, key_place(s, key),
                             "key '%s': '%s' is a person key, not a date field", key, raw);
                        return;
                }
        }
        if (!cv_field_valid(v)) {
                perr(L, key_place(s, key),
                     "key '%s': '%s' is not a field name (use a-z, 0-9 and '_', starting with a "
                     "letter)",
                     key, raw);
                return;
        }
        intern(L, &L->field_ids, &L->m->fields, &L->m->nfields, &L->cap_fields, v);
}

static void register_id(struct loader *L, struct strmap *map, struct section *s, uint32_t idx)
{
        s->idx = idx;
        strmap_put(map, s->id, idx, NULL);
}

/* Size the model's arrays and give each named section its slot. */
static void allocate_records(struct loader *L)
{
        struct model *m = L->m;
        uint32_t count[K_N] = {0};

        for (size_t i = 0; i < L->nsecs; i++)
                count[L->secs[i].kind]++;
        m->rules = xcalloc(count[K_RULE], sizeof(*m->rules));
        m->commitments = xcalloc(count[K_COMMITMENT], sizeof(*m->commitments));
        m->webhooks = xcalloc(count[K_WEBHOOK], sizeof(*m->webhooks));
        m->feeds = xcalloc(count[K_FEED], sizeof(*m->feeds));
        for (size_t i = 0; i < L->nsecs; i++) {
                struct section *s = &L->secs[i];
                switch (s->kind) {
                case K_RULE:
                        register_id(L, &m->rule_ids, s, m->nrules);
                        m->rules[m->nrules++] =
                            (struct rule){.id = s->id, .file = s->f->path, .line = s->line};
                        collect_field(L, s, "anchor");
                        collect_field(L, s, "done");
                        break;
                case K_COMMITMENT:
                        register_id(L, &m->commitment_ids, s, m->ncommitments);
                        m->commitments[m->ncommitments++] =
                            (struct commitment){.id = s->id, .file = s->f->path, .line = s->line};
                        break;
                case K_WEBHOOK:
                        register_id(L, &m->webhook_ids, s, m->nwebhooks);
                        m->webhooks[m->nwebhooks++] =
                            (struct webhook){.name = s->id, .file = s->f->path, .line = s->line};
                        break;
                case K_FEED:
                        register_id(L, &m->feed_ids, s, m->nfeeds);
                        m->feeds[m->nfeeds++] =
                            (struct feed){.name = s->id, .file = s->f->path, .line = s->line};
                        break;
                case K_PERSON:
                        register_id(L, &m->person_ids, s, person_new(L));
                        m->people[s->idx].id = s->id;
                        m->people[s->idx].file = s->f->path;
                        m->people[s->idx].line = s->line;
                        break;
                }
        }
}

/* ---- key checks ---------------------------------------------------------- */

static bool in_keyset(const struct keyset *ks, const char *key)
{
        for (size_t i = 0; i < ks->n; i++)
                if (strcmp(ks->v[i], key) == 0)
                        return true;
        return false;
}

static void unknown_key(struct loader *L, const struct section *s, const char *key)
{
        const struct keyset *ks = &kind_keys[s->kind];
        const char *near = str_nearest(key, ks->v, ks->n);
        struct place pl = key_place(s, key);

        if (!near && s->kind == K_PERSON)
                near = str_nearest(key, L->m->fields, L->m->nfields);
        if (near)
                perr(L, pl, "unknown key '%s' in [%s]; did you mean '%s'?", key, s->name, near);
        else
                perr(L, pl, "unknown key '%s' in [%s]", key, s->name);
}

/* [deadlined], [http] and [smtp] may be split over files, each key set once. */
static void check_singleton_key(struct loader *L, const struct section *s, const char *key)
{
        if (s->kind == K_DEADLINED && strcmp(key, "include") == 0 && !s->f->main) {
                perr(L, key_place(s, key), "key 'include' is only allowed in the main file");
                return;
        }
        for (const struct section *o = L->secs; o < s; o++) {
                if (o->kind != s->kind || !sec_get(o, key))
                        continue;
                struct place first = key_place(o, key);
                perr(L, key_place(s, key), "key '%s' is already set in [%s] at %s:%d", key, s->name,
                     first.file, first.line);
                return;
        }
}

static void check_keys(struct loader *L, const struct section *s)
{
        int n = iniparser_getsecnkeys(s->f->dict, s->name);
        size_t skip = strlen(s->name) + 1;

        if (n <= 0)
                return;
        _cleanup_free_ const char **keys = xcalloc((size_t)n, sizeof(*keys));
        iniparser_getseckeys(s->f->dict, s->name, keys);
        for (int i = 0; i < n; i++) {
                const char *key = keys[i] + skip;
                bool known = in_keyset(&kind_keys[s->kind], key) ||
                             (s->kind == K_PERSON && strmap_get(&L->field_ids, key, NULL));
                if (!known)
                        unknown_key(L, s, key);
                else if (!kind_example[s->kind])
                        check_singleton_key(L, s, key);
        }
}

/* The section of a singleton kind that sets key (NULL if none does). */
static const struct section *single_with(struct loader *L, int kind, const char *key)
{
        for (size_t i = 0; i < L->nsecs; i++)
                if (L->secs[i].kind == kind && sec_get(&L->secs[i], key))
                        return &L->secs[i];
        return NULL;
}

static const struct section *single_first(struct loader *L, int kind)
{
        for (size_t i = 0; i < L->nsecs; i++)
                if (L->secs[i].kind == kind)
                        return &L->secs[i];
        return NULL;
}

/* ---- people ---------------------------------------------------------------- */

static void set_roles(struct loader *L, struct place pl, struct person *p, const char *v)
{
        uint16_t roles[MAX_ROLES];
        uint8_t n = 0;
        _cleanup_free_ char *copy = fold(xstrdup(v));
        char *save = NULL;

        for (char *tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
                if (!cv_id_valid(tok)) {
                        perr(L, pl, "key 'role': invalid role '%s' (use a-z, 0-9, '.', '_' or '-')",
                             tok);
                        continue;
                }
                uint32_t r = intern_role(L, tok);
                if (r > UINT16_MAX) {
                        perr(L, pl, "key 'role': too many distinct roles (the limit is 65536)");
                        return;
                }
                bool dup = false;
                for (uint8_t i = 0; i < n; i++)
                        dup = dup || roles[i] == r;
                if (dup)
                        continue;
                if (n == MAX_ROLES) {
                        perr(L, pl, "key 'role': at most %d roles", MAX_ROLES);
                        break;
                }
                roles[n++] = (uint16_t)r;
        }
        p->roles = arena_alloc(&L->m->arena, n * sizeof(*roles));
        memcpy(p->roles, roles, n * sizeof(*roles));
        p->nroles = n;
}

static void set_org(struct loader *L, struct place pl, struct person *p, const char *v)
{
        _cleanup_free_ char *org = fold(xstrdup(v));

        if (!cv_id_valid(org)) {
                perr(L, pl, "key 'org': invalid org '%s' (use a-z, 0-9, '.', '_' or '-')", v);
                return;
        }
        p->org = intern_org(L, org);
}

static void alloc_dates(struct loader *L, struct person *p)
{
        p->dates = arena_alloc(&L->m->arena, L->m->nfields * sizeof(*p->dates));
        for (uint32_t f = 0; f < L->m->nfields; f++)
                p->dates[f] = DATE_NONE;
}

static void load_person(struct loader *L, const struct section *s)
{
        struct model *m = L->m;
        struct person *p = &m->people[s->idx];
        const char *v;

        get_text(L, s, "name", TEXT_MAX, true, &p->name);
        v = sec_get(s, "email");
        if (!blank(v) && check_email(L, key_place(s, "email"), "email", v) == 0)
                p->email = arena_strdup(&m->arena, v);
        v = sec_get(s, "role");
        if (!blank(v))
                set_roles(L, key_place(s, "role"), p, v);
        v = sec_get(s, "org");
        if (!blank(v))
                set_org(L, key_place(s, "org"), p, v);
        v = sec_get(s, "manager");
        if (!blank(v)) {
                L->mgr[s->idx] = fold(arena_strdup(&m->arena, v));
                L->mgr_line[s->idx] = key_place(s, "manager").line;
        }
        alloc_dates(L, p);
        for (uint32_t f = 0; f < m->nfields; f++) {
                v = sec_get(s, m->fields[f]);
                if (v)
                        parse_day(L, key_place(s, m->fields[f]), m->fields[f], v, &p->dates[f]);
        }
}

/* ---- the CSV roster ------------------------------------------------------- */

static int column_of(struct loader *L, const char *name)
{
        uint32_t f;

        for (int i = 0; i < (int)ELEMENTSOF(roster_fixed); i++)
                if (strcmp(name, roster_fixed[i]) == 0)
                        return i;
        if (strmap_get(&L->field_ids, name, &f))
                return COL_FIELD + (int)f;
        return -1;
}

static const char *nearest_column(struct loader *L, const char *name)
{
        const char *near = str_nearest(name, roster_fixed, ELEMENTSOF(roster_fixed));

        return near ? near : str_nearest(name, L->m->fields, L->m->nfields);
}

static int roster_header(struct loader *L, const struct roster_row *row)
{
        struct place pl = {L->roster_file, (int)row->line};
        bool seen[COL_FIELD] = {false};
        size_t errors = L->d->nerrors;

        L->cols = xcalloc(row->n, sizeof(*L->cols));
        L->ncols = row->n;
        for (size_t i = 0; i < row->n; i++) {
                _cleanup_free_ char *name = xstrdup(row->fields[i]);
                for (char *c = name; *c; c++)
                        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
                int c = column_of(L, name);
                L->cols[i] = c;
                if (c < 0) {
                        const char *near = nearest_column(L, name);
                        perr(L, pl, "unknown column '%s'%s%s%s", name,
                             near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
                        continue;
                }
                for (size_t j = 0; j < i; j++)
                        if (L->cols[j] == c)
                                perr(L, pl, "duplicate column '%s'", name);
                if (c < COL_FIELD)
                        seen[c] = true;
        }
        if (!seen[COL_ID] || !seen[COL_NAME])
                perr(L, pl, "roster needs the columns id and name");
        return L->d->nerrors > errors ? -EINVAL : 0;
}

static void roster_cell(struct loader *L, struct place pl, struct person *p, uint32_t idx, int col,
                        const char *v)
{
        struct model *m = L->m;

        if (col == COL_NAME && check_text(L, pl, "name", v, TEXT_MAX) == 0)
                p->name = arena_strdup(&m->arena, v);
        else if (col == COL_EMAIL && check_email(L, pl, "email", v) == 0)
                p->email = arena_strdup(&m->arena, v);
        else if (col == COL_ROLE)
                set_roles(L, pl, p, v);
        else if (col == COL_ORG)
                set_org(L, pl, p, v);
        else if (col == COL_MANAGER) {
                L->mgr[idx] = fold(arena_strdup(&m->arena, v));
                L->mgr_line[idx] = pl.line;
        } else if (col >= COL_FIELD)
                parse_day(L, pl, m->fields[col - COL_FIELD], v, &p->dates[col - COL_FIELD]);
}

static int roster_person(struct loader *L, const struct roster_row *row)
{
        struct model *m = L->m;
        struct place pl = {L->roster_file, (int)row->line};
        const char *id = NULL;
        uint32_t first;

        for (size_t i = 0; i < row->n && i < L->ncols; i++)
                if (L->cols[i] == COL_ID)
                        id = row->fields[i];
        char *aid = fold(arena_strdup(&m->arena, id ? id : ""));
        if (!cv_id_valid(aid)) {
                perr(L, pl,
                     "invalid person id '%s' (use a-z, 0-9, '.', '_' or '-', at most 64 "
                     "characters)",
                     id ? id : "");
                return 0;
        }
        if (!strmap_put(&m->person_ids, aid, m->npeople, &first)) {
                perr(L, pl, "duplicate person id '%s' (first at %s:%d)", aid, m->people[first].file,
                     m->people[first].line);
                return 0;
        }
        uint32_t idx = person_new(L);
        struct person *p = &m->people[idx];
        p->id = aid;
        p->file = L->roster_file;
        p->line = pl.line;
        alloc_dates(L, p);
        for (size_t i = 0; i < row->n && i < L->ncols; i++)
                if (L->cols[i] != COL_ID && row->fields[i][0])
                        roster_cell(L, pl, p, idx, L->cols[i], row->fields[i]);
        if (!p->name)
                perr(L, pl, "person '%s' needs a name", id);
        return 0;
}

static int roster_row_cb(const struct roster_row *row, void *userdata)
{
        struct loader *L = userdata;

        if (row->header) {
                L->roster_header = true;
                return roster_header(L, row);
        }
        return roster_person(L, row);
}

static void roster_stream(struct loader *L, int fd)
{
        struct roster_parser *rp = roster_new(L->roster_file, roster_row_cb, L, L->d);
        char *buf = xmalloc(CHUNK);
        int r = 0;

        for (;;) {
                ssize_t n = read(fd, buf, CHUNK);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        diag_err(L->d, L->roster_file, 0, "read error: %s", strerror(errno));
                if (n <= 0)
                        break;
                r = roster_feed(rp, buf, (size_t)n);
                if (r < 0)
                        break;
        }
        if (r >= 0 && roster_finish(rp) >= 0 && !L->roster_header)
                diag_err(L->d, L->roster_file, 1,
                         "roster is empty; it needs a header row (id,name,...)");
        roster_free(rp);
        free(buf);
}

static void load_roster(struct loader *L)
{
        const struct section *s = single_with(L, K_DEADLINED, "roster");
        const char *v = s ? sec_get(s, "roster") : NULL;
        struct stat st;

        if (blank(v))
                return;
        struct place pl = key_place(s, "roster");
        const char *path = path_join(&L->m->arena, s->f->dir, v);
        note_path(L, path);
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                perr(L, pl, "key 'roster': cannot read %s: %s", path,
                     fd < 0 ? strerror(errno) : "not a regular file");
                if (fd >= 0)
                        close(fd);
                return;
        }
        if ((unsigned long long)st.st_size > ROSTER_MAX_BYTES) {
                perr(L, pl, "roster is %llu bytes; the limit is %llu",
                     (unsigned long long)st.st_size, ROSTER_MAX_BYTES);
                close(fd);
                return;
        }
        record_file(L, path, &st);
        L->roster_file = path;
        roster_stream(L, fd);
        close(fd);
}

/* ---- managers --------------------------------------------------------------- */

static void report_loop(struct loader *L, uint32_t start)
{
        const struct person *people = L->m->people;
        struct strbuf sb = {0};
        uint32_t j = start;
        int shown = 0;

        do {
                if (shown++ < LOOP_SHOW)
                        sb_appendf(&sb, "%s -> ", people[j].id);
                else if (shown == LOOP_SHOW + 1)
                        sb_puts(&sb, "... -> ");
                j = people[j].manager;
        } while (j != start);
        sb_puts(&sb, people[start].id);
        diag_err(L->d, people[start].file, L->mgr_line[start], "key 'manager': manager loop: %s",
                 sb.buf);
        sb_free(&sb);
}

/* Walk each chain once (white/grey/black), so 100k people cost O(n). */
static void check_manager_loops(struct loader *L)
{
        struct person *people = L->m->people;
        uint32_t n = L->m->npeople;
        _cleanup_free_ uint8_t *state = xcalloc(n, 1);

        for (uint32_t i = 0; i < n; i++) {
                uint32_t j = i;
                while (j != IDX_NONE && state[j] == 0) {
                        state[j] = 1;
                        j = people[j].manager;
                }
                if (j != IDX_NONE && state[j] == 1)
                        report_loop(L, j);
                for (j = i; j != IDX_NONE && state[j] == 1; j = people[j].manager)
                        state[j] = 2;
        }
}

static void resolve_managers(struct loader *L)
{
        struct model *m = L->m;

        for (uint32_t i = 0; i < m->npeople; i++) {
                struct person *p = &m->people[i];
                uint32_t j;
                if (!L->mgr[i])
                        continue;
                if (!strmap_get(&m->person_ids, L->mgr[i], &j))
                        diag_err(L->d, p->file, L->mgr_line[i], "key 'manager': no person '%s'",
                                 L->mgr[i]);
                else if (j == i)
                        diag_err(L->d, p->file, L->mgr_line[i],
                                 "key 'manager': '%s' cannot be their own manager", p->id);
                else
                        p->manager = j;
        }
        check_manager_loops(L);
}

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
        const struct section *s = single_with(L, K_DEADLINED, "timezone");
        const char *name = s ? sec_get(s, "timezone") : "Europe/London";
        struct place pl = s ? key_place(s, "timezone") : (struct place){L->order[0], 0};
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t len;

        if (blank(name))
                name = "Europe/London";
        int r = -EINVAL;
        if (tz_name_valid(name)) {
                _cleanup_free_ char *path = xasprintf(ZONEINFO "%s", name);
                r = read_file(path, TZ_MAX_BYTES, &buf, &len, &st);
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

static const char *single_value(struct loader *L, int kind, const char *key,
                                const struct section **where)
{
        *where = single_with(L, kind, key);
        const char *v = *where ? sec_get(*where, key) : NULL;
        return blank(v) ? NULL : v;
}

static void load_settings(struct loader *L)
{
        struct settings *set = &L->m->set;
        struct arena *a = &L->m->arena;
        const struct section *s;
        const char *v;

        load_timezone(L);
        set->send_at = 9 * 60;
        if ((v = single_value(L, K_DEADLINED, "send_at", &s)) &&
            time_parse_hm(v, &set->send_at) < 0)
                perr(L, key_place(s, "send_at"), "key 'send_at': '%s' is not a time (use HH:MM)",
                     v);
        v = single_value(L, K_DEADLINED, "state_dir", &s);
        set->state_dir = path_join(a, s ? s->f->dir : L->files[0]->dir, v ? v : "state");
        set->catch_up = (struct dl_dur){0, 7};
        if ((v = single_value(L, K_DEADLINED, "catch_up", &s)))
                get_dur(L, s, "catch_up", set->catch_up, &set->catch_up);
        set->uid_domain = "deadlined.invalid";
        if ((v = single_value(L, K_DEADLINED, "uid_domain", &s))) {
                if (cv_hostname_valid(v, strlen(v)))
                        set->uid_domain = arena_strdup(a, v);
                else
                        perr(L, key_place(s, "uid_domain"),
                             "key 'uid_domain': '%s' is not a host name", v);
        }
}

static void load_http(struct loader *L)
{
        struct settings *set = &L->m->set;
        struct arena *a = &L->m->arena;
        const struct section *s;
        const char *v;

        set->http_listen = "127.0.0.1:8025";
        if ((v = single_value(L, K_HTTP, "listen", &s))) {
                if (cv_listen_valid(v))
                        set->http_listen = arena_strdup(a, v);
                else
                        perr(L, key_place(s, "listen"),
                             "key 'listen': '%s' is not HOST:PORT, [IPV6]:PORT or none", v);
        }
        if ((v = single_value(L, K_HTTP, "public_url", &s))) {
                if (check_url(L, key_place(s, "public_url"), "public_url", v, false, NULL, 0) == 0)
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
        const char *v = single_value(L, K_SMTP, "tls", &s);
        bool smtps = strncasecmp(sm->url, "smtps:", 6) == 0;

        sm->tls = smtps ? TLS_IMPLICIT : TLS_STARTTLS;
        if (!v)
                return;
        struct place pl = key_place(s, "tls");
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
        struct place pl = key_place(s, "from");
        const char *lt = strchr(v, '<');
        size_t n = strlen(v);

        if (check_text(L, pl, "from", v, TEXT_MAX) < 0)
                return;
        if (!lt) {
                if (check_email(L, pl, "from", v) == 0)
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
        if (check_email(L, pl, "from", addr) == 0)
                sm->from = arena_strdup(&L->m->arena, v);
}

static void load_smtp(struct loader *L)
{
        const struct section *first = single_first(L, K_SMTP), *s;
        struct smtp *sm = &L->m->smtp;
        char host[256] = "";
        const char *v;

        if (!first)
                return;
        sm->present = true;
        if (!(v = single_value(L, K_SMTP, "url", &s)))
                needs(L, first, "url");
        else if (check_url(L, key_place(s, "url"), "url", v, true, host, sizeof(host)) == 0)
                sm->url = arena_strdup(&L->m->arena, v);
        if (sm->url)
                smtp_tls(L, sm, host);
        if (!(v = single_value(L, K_SMTP, "from", &s)))
                needs(L, first, "from");
        else
                smtp_from(L, sm, s, v);
        if ((v = single_value(L, K_SMTP, "username", &s)))
                get_text(L, s, "username", TEXT_MAX, false, &sm->username);
        size_t len;
        if ((s = single_with(L, K_SMTP, "password_file"))) {
                load_secret(L, s, "password_file", &sm->password_file, &sm->password, &len);
                if (!sm->username)
                        perr(L, key_place(s, "password_file"),
                             "key 'password_file': a password needs a 'username'");
        }
}

/* ---- selectors and recipients ------------------------------------------------------ */

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
                t->ref = role ? intern_role(L, arg) : intern_org(L, arg);
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

static void get_selector(struct loader *L, const struct section *s, const char *key,
                         bool people_only, struct selector *out)
{
        const char *v = sec_get(s, key);
        struct place pl = key_place(s, key);
        char *save = NULL;

        if (blank(v)) {
                needs(L, s, key);
                return;
        }
        _cleanup_free_ char *copy = fold(xstrdup(v));
        size_t max = strlen(v) / 2 + 1;
        out->terms = arena_alloc(&L->m->arena, max * sizeof(*out->terms));
        for (char *tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
                struct sel_term t;
                if (parse_term(L, pl, key, tok, people_only, &t) == 0)
                        out->terms[out->n++] = t;
        }
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

static void get_leads(struct loader *L, const struct section *s, struct remind_spec *rs)
{
        const char *v = sec_get(s, "remind");
        struct place pl = key_place(s, "remind");
        char *save = NULL;

        if (blank(v))
                return;
        _cleanup_free_ char *copy = xstrdup(v);
        for (char *tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
                struct dl_dur d;
                if (parse_dur(L, pl, "remind", tok, &d) == 0)
                        add_lead(L, pl, rs, tok, d);
        }
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
                if (check_email(L, pl, "notify", tok + 6) < 0)
                        return -EINVAL;
                r->email = arena_strdup(&L->m->arena, tok + 6);
        } else if (str_has_prefix(tok, "webhook:")) {
                r->kind = RCPT_WEBHOOK;
                if (!strmap_get(&L->m->webhook_ids, fold(tok + 8), &r->webhook)) {
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

static void get_notify(struct loader *L, const struct section *s, bool commitment,
                       struct remind_spec *rs)
{
        const char *v = sec_get(s, "notify");
        struct place pl = key_place(s, "notify");
        char *save = NULL;

        if (blank(v))
                return;
        _cleanup_free_ char *copy = xstrdup(v);
        for (char *tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
                struct recipient_spec r;
                bool dup = false;
                if (parse_recipient(L, pl, tok, commitment, &r) < 0)
                        continue;
                for (uint8_t i = 0; i < rs->nnotify; i++)
                        dup = dup || same_recipient(&rs->notify[i], &r);
                if (dup) {
                        perr(L, pl, "key 'notify': duplicate recipient '%s'", tok);
                        continue;
                }
                if (rs->nnotify == MAX_NOTIFY) {
                        perr(L, pl, "key 'notify': at most %d recipients", MAX_NOTIFY);
                        return;
                }
                rs->notify[rs->nnotify++] = r;
        }
}

/* ---- webhooks, rules, commitments, feeds ------------------------------------------ */

static void load_webhook(struct loader *L, const struct section *s)
{
        struct webhook *w = &L->m->webhooks[s->idx];
        const char *v = sec_get(s, "format");
        static const char *const formats[] = {"json", "slack", "teams"};

        get_url(L, s, "url", true, &w->url);
        w->format = WH_JSON;
        if (!blank(v)) {
                size_t i;
                for (i = 0; i < ELEMENTSOF(formats) && strcmp(v, formats[i]) != 0; i++)
                        ;
                if (i < ELEMENTSOF(formats))
                        w->format = (uint8_t)i;
                else
                        perr(L, key_place(s, "format"),
                             "key 'format': expected json, slack or teams");
        }
        load_secret(L, s, "secret_file", &w->secret_file, &w->secret, &w->secret_len);
}

static uint32_t field_ref(struct loader *L, const struct section *s, const char *key, bool required)
{
        const char *v = sec_get(s, key);
        uint32_t f = IDX_NONE;

        if (blank(v)) {
                if (required)
                        needs(L, s, key);
                return IDX_NONE;
        }
        _cleanup_free_ char *name = fold(xstrdup(v));
        strmap_get(&L->field_ids, name, &f); /* a bad name was reported when collected */
        return f;
}

static void load_rule(struct loader *L, const struct section *s)
{
        struct rule *r = &L->m->rules[s->idx];
        const char *v;

        get_text(L, s, "title", TEXT_MAX, true, &r->title);
        get_text(L, s, "description", LONG_TEXT_MAX, false, &r->description);
        get_text(L, s, "source", TEXT_MAX, false, &r->source);
        get_url(L, s, "url", false, &r->url);
        get_selector(L, s, "applies_to", true, &r->applies_to);
        r->anchor_field = field_ref(L, s, "anchor", true);
        r->done_field = field_ref(L, s, "done", false);
        r->has_within = get_dur(L, s, "within", (struct dl_dur){0, 0}, &r->within);
        r->not_after = DATE_NONE;
        if (!blank(v = sec_get(s, "not_after")))
                parse_day(L, key_place(s, "not_after"), "not_after", v, &r->not_after);
        if (blank(sec_get(s, "within")) && blank(v))
                diag_err(L->d, s->f->path, s->line, "[%s] needs 'within' or 'not_after'", s->name);
        get_dur(L, s, "every", (struct dl_dur){0, 0}, &r->every);
        r->recurring = !dur_is_zero(r->every);
        if (r->recurring && blank(sec_get(s, "done")))
                perr(L, key_place(s, "every"), "key 'every': a recurring rule needs 'done'");
        get_leads(L, s, &r->remind);
        get_dur(L, s, "overdue_every", (struct dl_dur){0, 7}, &r->remind.overdue_every);
        get_notify(L, s, false, &r->remind);
}

static void load_commitment(struct loader *L, const struct section *s)
{
        struct commitment *c = &L->m->commitments[s->idx];
        static const char *const states[] = {"open", "met", "missed", "dropped"};
        const char *v;

        get_text(L, s, "title", TEXT_MAX, true, &c->title);
        get_text(L, s, "description", LONG_TEXT_MAX, false, &c->description);
        get_text(L, s, "owner", TEXT_MAX, false, &c->owner);
        get_text(L, s, "source", TEXT_MAX, false, &c->source);
        get_url(L, s, "url", false, &c->url);
        c->due = (struct dl_date){.day = DATE_NONE, .minute = -1};
        if (blank(v = sec_get(s, "due")))
                needs(L, s, "due");
        else {
                int r = date_parse(v, &c->due);
                if (r < 0)
                        date_error(L, key_place(s, "due"), "due", v, r,
                                   "YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDTHH:MM");
        }
        c->status = CST_OPEN;
        if (!blank(v = sec_get(s, "status"))) {
                size_t i;
                for (i = 0; i < ELEMENTSOF(states) && strcmp(v, states[i]) != 0; i++)
                        ;
                if (i < ELEMENTSOF(states))
                        c->status = (uint8_t)i;
                else
                        perr(L, key_place(s, "status"),
                             "key 'status': expected open, met, missed or dropped");
        }
        get_leads(L, s, &c->remind);
        get_dur(L, s, "overdue_every", (struct dl_dur){0, 0}, &c->remind.overdue_every);
        get_notify(L, s, true, &c->remind);
}

static bool token_char(char c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               (c && strchr("-_.~", c));
}

static void feed_token(struct loader *L, const struct section *s, struct feed *fd)
{
        struct place pl = key_place(s, "token_file");
        size_t len = 0;

        if (load_secret(L, s, "token_file", &fd->token_file, &fd->token, &len) < 0 || !fd->token)
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

static void load_feed(struct loader *L, const struct section *s)
{
        struct feed *fd = &L->m->feeds[s->idx];
        bool has_token = !blank(sec_get(s, "token_file"));

        get_text(L, s, "title", TEXT_MAX, false, &fd->title);
        if (!fd->title)
                fd->title = fd->name;
        get_text(L, s, "description", LONG_TEXT_MAX, false, &fd->description);
        get_selector(L, s, "select", false, &fd->select);
        get_bool(L, s, "public", &fd->public);
        get_bool(L, s, "alarms", &fd->alarms);
        if (fd->public && has_token)
                perr(L, key_place(s, "token_file"), "key 'token_file': a public feed has no token");
        else if (!fd->public && !has_token)
                needs(L, s, "token_file");
        else if (has_token)
                feed_token(L, s, fd);
}

/* ---- the whole load ------------------------------------------------------------------ */

static void load_sections(struct loader *L)
{
        for (size_t i = 0; i < L->nfiles; i++) {
                struct inifile *f = L->files[i];
                int n = f->dict ? iniparser_getnsec(f->dict) : 0;
                for (int j = 0; j < n; j++)
                        index_section(L, f, iniparser_getsecname(f->dict, j));
        }
        allocate_records(L);
        for (size_t i = 0; i < L->nsecs; i++)
                check_keys(L, &L->secs[i]);
        for (size_t i = 0; i < L->nsecs; i++)
                if (L->secs[i].kind == K_PERSON)
                        load_person(L, &L->secs[i]);
        load_roster(L);
        L->nroles_people = L->m->nroles;
        L->norgs_people = L->m->norgs;
        resolve_managers(L);
        load_settings(L);
        load_http(L);
        load_smtp(L);
        for (size_t i = 0; i < L->nsecs; i++)
                if (L->secs[i].kind == K_WEBHOOK)
                        load_webhook(L, &L->secs[i]);
        for (size_t i = 0; i < L->nsecs; i++) {
                const struct section *s = &L->secs[i];
                if (s->kind == K_RULE)
                        load_rule(L, s);
                else if (s->kind == K_COMMITMENT)
                        load_commitment(L, s);
                else if (s->kind == K_FEED)
                        load_feed(L, s);
        }
}

struct diag_key {
        size_t file, pos;
        int line;
};

static int cmp_diag_key(const void *a, const void *b)
{
        const struct diag_key *x = a, *y = b;

        if (x->file != y->file)
                return x->file < y->file ? -1 : 1;
        if (x->line != y->line)
                return x->line < y->line ? -1 : 1;
        return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static size_t file_rank(const struct loader *L, const char *file)
{
        if (!file)
                return 0;
        for (size_t i = 0; i < L->norder; i++)
                if (strcmp(L->order[i], file) == 0)
                        return i + 1;
        return L->norder + 1;
}

/* Report in file order (main, drop-ins, roster), then line; stable within a line. */
static void sort_diags(const struct loader *L, size_t start)
{
        struct diags *d = L->d;
        size_t n = d->n - start;

        if (n < 2)
                return;
        _cleanup_free_ struct diag_key *keys = xcalloc(n, sizeof(*keys));
        _cleanup_free_ struct diag *tmp = xcalloc(n, sizeof(*tmp));
        for (size_t i = 0; i < n; i++)
                keys[i] =
                    (struct diag_key){file_rank(L, d->v[start + i].file), i, d->v[start + i].line};
        qsort(keys, n, sizeof(*keys), cmp_diag_key);
        for (size_t i = 0; i < n; i++)
                tmp[i] = d->v[start + keys[i].pos];
        memcpy(d->v + start, tmp, n * sizeof(*tmp));
}

static void loader_free(struct loader *L)
{
        for (size_t i = 0; i < L->nfiles; i++) {
                if (L->files[i]->dict)
                        iniparser_freedict(L->files[i]->dict);
                ini_scan_free(&L->files[i]->scan);
                free(L->files[i]);
        }
        free(L->files);
        free(L->order);
        free(L->secs);
        strmap_free(&L->sec_ids);
        strmap_free(&L->field_ids);
        strmap_free(&L->role_ids);
        strmap_free(&L->org_ids);
        free(L->mgr);
        free(L->mgr_line);
        free(L->cols);
}

int config_load(const char *path, struct model **out, struct diags *d)
{
        struct loader L = {.m = xcalloc(1, sizeof(struct model)), .d = d};
        size_t start = d->n, errors = d->nerrors;

        *out = NULL;
        struct inifile *mainf = ini_read(&L, path, true);
        if (mainf->dict)
                load_dropins(&L, mainf);
        load_sections(&L);
        sort_diags(&L, start);
        loader_free(&L);
        if (d->nerrors > errors) {
                model_free(L.m);
                return -EINVAL;
        }
        *out = L.m;
        return 0;
}

char *config_summary(const struct model *m)
{
        return xasprintf("%u people, %u rules, %u commitments, %u feeds, %u webhooks, mail %s; "
                         "%u files, time zone %s",
                         m->npeople, m->nrules, m->ncommitments, m->nfeeds, m->nwebhooks,
                         m->smtp.present ? "by SMTP" : "to the outbox", m->nfiles,
                         m->set.timezone ? m->set.timezone : "UTC");
}

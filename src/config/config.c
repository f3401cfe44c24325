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
#include <string.h>
#include <unistd.h>

#include "config-internal.h"
#include "deadlined/base/log.h"

#define INI_MAX_BYTES (4ull << 20)

static const char *const kind_name[K_N] = {"deadlined", "http", "smtp",   "feed",
                                           "webhook",   "rule", "person", "commitment"};
/* NULL: the kind takes no name. */
static const char *const kind_example[K_N] = {
    NULL, NULL, NULL, "school", "send-team", "senco-npq", "jane-smith", "ect-entitlement-review"};

static const char *const keys_deadlined[] = {
    "timezone",   "send_at",   "state_dir", "include",       "roster",      "catch_up",
    "uid_domain", "retry_min", "retry_max", "retry_give_up", "send_timeout"};
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

const char *cfg_path_join(struct arena *a, const char *dir, const char *rel)
{
        if (rel[0] == '/' || dir[0] == '\0')
                return arena_strdup(a, rel);
        char *s = xasprintf("%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", rel);
        const char *r = arena_strdup(a, s);
        free(s);
        return r;
}

void cfg_note_path(struct loader *L, const char *path)
{
        L->order = xreallocarray(L->order, L->norder + 1, sizeof(*L->order));
        L->order[L->norder++] = path;
}

void cfg_record_file(struct loader *L, const char *path, const struct stat *st)
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
int cfg_read_file(const char *path, unsigned long long max, char **out, size_t *len,
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

const char *cfg_get(const struct section *s, const char *key)
{
        char buf[2048];

        if (!s->f->dict || snprintf(buf, sizeof(buf), "%s:%s", s->name, key) >= (int)sizeof(buf))
                return NULL;
        return iniparser_getstring(s->f->dict, buf, NULL);
}

struct place cfg_place(const struct section *s, const char *key)
{
        int line = ini_line(&s->f->scan, s->name, key);
        return (struct place){s->f->path, line > 0 ? line : s->line};
}

#define perr(L, pl, ...) diag_err((L)->d, (pl).file, (pl).line, __VA_ARGS__)

void cfg_needs(struct loader *L, const struct section *s, const char *key)
{
        diag_err(L->d, s->f->path, s->line, "[%s] needs '%s'", s->name, key);
}

/* iniparser lowercases section names, so ids, roles, orgs and field names
 * are case-insensitive everywhere: every reference is folded the same way. */
char *cfg_fold(char *s)
{
        for (char *c = s; *c; c++)
                if (*c >= 'A' && *c <= 'Z')
                        *c = (char)(*c + ('a' - 'A'));
        return s;
}

bool cfg_blank(const char *v)
{
        return !v || v[strspn(v, " \t")] == '\0';
}

uint32_t cfg_intern(struct loader *L, struct strmap *map, const char ***arr, uint32_t *n,
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
        cfg_note_path(L, f->path);

        int r = cfg_read_file(path, INI_MAX_BYTES, &buf, &len, &st);
        if (r == -EFBIG) {
                diag_err(L->d, f->path, 0, "file is %llu bytes; the limit is %llu",
                         (unsigned long long)st.st_size, INI_MAX_BYTES);
                return f;
        }
        if (r < 0) {
                diag_err(L->d, f->path, 0, "cannot read: %s", strerror(-r));
                return f;
        }
        cfg_record_file(L, f->path, &st);
        if (ini_prescan(f->path, buf, len, &f->scan, L->d) < 0)
                return f;
        /* An empty main file is never meant: it is one being rewritten (cp
         * truncates first), and loading it would swap every feed out. */
        if (is_main && f->scan.nsections == 0) {
                diag_err(L->d, f->path, 0,
                         "no sections; the main configuration needs at least [deadlined]");
                return f;
        }
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

        if (cfg_blank(v))
                return;
        const char *dir = cfg_path_join(&L->m->arena, mainf->dir, v);
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
                const char *p = cfg_path_join(&L->m->arena, dir, names[i]);
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
        const char *raw = cfg_get(s, key);

        if (cfg_blank(raw))
                return;
        _cleanup_free_ char *v = cfg_fold(xstrdup(raw));
        for (size_t i = 0; i < ELEMENTSOF(keys_person); i++) {
                if (strcmp(v, keys_person[i]) == 0 || strcmp(v, "id") == 0) {
                        perr(L, cfg_place(s, key),
                             "key '%s': '%s' is a person key, not a date field", key, raw);
                        return;
                }
        }
        if (!cv_field_valid(v)) {
                perr(L, cfg_place(s, key),
                     "key '%s': '%s' is not a field name (use a-z, 0-9 and '_', starting with a "
                     "letter)",
                     key, raw);
                return;
        }
        cfg_intern(L, &L->field_ids, &L->m->fields, &L->m->nfields, &L->cap_fields, v);
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
                        register_id(L, &m->person_ids, s, cfg_person_new(L));
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
        struct place pl = cfg_place(s, key);

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
                perr(L, cfg_place(s, key), "key 'include' is only allowed in the main file");
                return;
        }
        for (const struct section *o = L->secs; o < s; o++) {
                if (o->kind != s->kind || !cfg_get(o, key))
                        continue;
                struct place first = cfg_place(o, key);
                perr(L, cfg_place(s, key), "key '%s' is already set in [%s] at %s:%d", key, s->name,
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
const struct section *cfg_single_with(struct loader *L, int kind, const char *key)
{
        for (size_t i = 0; i < L->nsecs; i++)
                if (L->secs[i].kind == kind && cfg_get(&L->secs[i], key))
                        return &L->secs[i];
        return NULL;
}

const struct section *cfg_single_first(struct loader *L, int kind)
{
        for (size_t i = 0; i < L->nsecs; i++)
                if (L->secs[i].kind == kind)
                        return &L->secs[i];
        return NULL;
}

/* A singleton's non-blank value for key, and where it is set. */
const char *cfg_single_value(struct loader *L, int kind, const char *key,
                             const struct section **where)
{
        *where = cfg_single_with(L, kind, key);
        const char *v = *where ? cfg_get(*where, key) : NULL;
        return cfg_blank(v) ? NULL : v;
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
                        cfg_load_person(L, &L->secs[i]);
        cfg_load_roster(L);
        L->nroles_people = L->m->nroles;
        L->norgs_people = L->m->norgs;
        cfg_resolve_managers(L);
        cfg_load_settings(L);
        cfg_load_http(L);
        cfg_load_smtp(L);
        for (size_t i = 0; i < L->nsecs; i++)
                if (L->secs[i].kind == K_WEBHOOK)
                        cfg_load_webhook(L, &L->secs[i]);
        for (size_t i = 0; i < L->nsecs; i++) {
                const struct section *s = &L->secs[i];
                if (s->kind == K_RULE)
                        cfg_load_rule(L, s);
                else if (s->kind == K_COMMITMENT)
                        cfg_load_commitment(L, s);
                else if (s->kind == K_FEED)
                        cfg_load_feed(L, s);
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

static const char *plural(uint32_t n, const char *one, const char *many)
{
        return n == 1 ? one : many;
}

char *config_summary(const struct model *m)
{
        return xasprintf(
            "%u %s, %u %s, %u %s, %u %s, %u %s, mail %s; %u %s, time zone %s", m->npeople,
            plural(m->npeople, "person", "people"), m->nrules, plural(m->nrules, "rule", "rules"),
            m->ncommitments, plural(m->ncommitments, "commitment", "commitments"), m->nfeeds,
            plural(m->nfeeds, "feed", "feeds"), m->nwebhooks,
            plural(m->nwebhooks, "webhook", "webhooks"),
            m->smtp.present ? "by SMTP" : "to the outbox", m->nfiles,
            plural(m->nfiles, "file", "files"), m->set.timezone ? m->set.timezone : "UTC");
}

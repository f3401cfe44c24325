/* config-people.c: people from [person] sections and the CSV roster, their
 * roles and organisations, and the manager links between them. A roster of
 * 100k people is streamed in one pass; manager loops are found in O(n). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "config-internal.h"
#include "deadlined/config/roster.h"

#define CHUNK (64u << 10)
#define MAX_ROLES 32
#define LOOP_SHOW 8

/* Roster columns other than date fields; a date field f is column COL_FIELD + f. */
enum { COL_ID, COL_NAME, COL_EMAIL, COL_ROLE, COL_ORG, COL_MANAGER, COL_FIELD };
static const char *const roster_fixed[COL_FIELD] = {"id",   "name", "email",
                                                    "role", "org",  "manager"};

/* ---- people ---------------------------------------------------------------- */

uint32_t cfg_intern_role(struct loader *L, const char *s)
{
        return cfg_intern(L, &L->role_ids, &L->m->roles, &L->m->nroles, &L->cap_roles, s);
}

uint32_t cfg_intern_org(struct loader *L, const char *s)
{
        return cfg_intern(L, &L->org_ids, &L->m->orgs, &L->m->norgs, &L->cap_orgs, s);
}

uint32_t cfg_person_new(struct loader *L)
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

static void set_roles(struct loader *L, struct place pl, struct person *p, const char *v)
{
        uint16_t roles[MAX_ROLES];
        uint8_t n = 0;
        _cleanup_free_ char *copy = cfg_fold(xstrdup(v));
        char *save = NULL;

        for (char *tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
                if (!cv_id_valid(tok)) {
                        perr(L, pl, "key 'role': invalid role '%s' (use a-z, 0-9, '.', '_' or '-')",
                             tok);
                        continue;
                }
                uint32_t r = cfg_intern_role(L, tok);
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
        _cleanup_free_ char *org = cfg_fold(xstrdup(v));

        if (!cv_id_valid(org)) {
                perr(L, pl, "key 'org': invalid org '%s' (use a-z, 0-9, '.', '_' or '-')", v);
                return;
        }
        p->org = cfg_intern_org(L, org);
}

static void alloc_dates(struct loader *L, struct person *p)
{
        p->dates = arena_alloc(&L->m->arena, L->m->nfields * sizeof(*p->dates));
        for (uint32_t f = 0; f < L->m->nfields; f++)
                p->dates[f] = DATE_NONE;
}

void cfg_load_person(struct loader *L, const struct section *s)
{
        struct model *m = L->m;
        struct person *p = &m->people[s->idx];
        const char *v;

        cfg_get_text(L, s, "name", TEXT_MAX, true, &p->name);
        v = cfg_get(s, "email");
        if (v && cfg_blank(v))
                perr(L, cfg_place(s, "email"), "key 'email': empty address (leave the key out)");
        else if (v && cfg_check_email(L, cfg_place(s, "email"), "email", v) == 0)
                p->email = arena_strdup(&m->arena, v);
        v = cfg_get(s, "role");
        if (!cfg_blank(v))
                set_roles(L, cfg_place(s, "role"), p, v);
        v = cfg_get(s, "org");
        if (!cfg_blank(v))
                set_org(L, cfg_place(s, "org"), p, v);
        v = cfg_get(s, "manager");
        if (!cfg_blank(v)) {
                L->mgr[s->idx] = cfg_fold(arena_strdup(&m->arena, v));
                L->mgr_line[s->idx] = cfg_place(s, "manager").line;
        }
        alloc_dates(L, p);
        for (uint32_t f = 0; f < m->nfields; f++) {
                v = cfg_get(s, m->fields[f]);
                if (v)
                        cfg_parse_day(L, cfg_place(s, m->fields[f]), m->fields[f], v, &p->dates[f]);
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

        if (col == COL_NAME && cfg_check_text(L, pl, "name", v, TEXT_MAX) == 0)
                p->name = arena_strdup(&m->arena, v);
        else if (col == COL_EMAIL && cfg_check_email(L, pl, "email", v) == 0)
                p->email = arena_strdup(&m->arena, v);
        else if (col == COL_ROLE)
                set_roles(L, pl, p, v);
        else if (col == COL_ORG)
                set_org(L, pl, p, v);
        else if (col == COL_MANAGER) {
                L->mgr[idx] = cfg_fold(arena_strdup(&m->arena, v));
                L->mgr_line[idx] = pl.line;
        } else if (col >= COL_FIELD)
                cfg_parse_day(L, pl, m->fields[col - COL_FIELD], v, &p->dates[col - COL_FIELD]);
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
        char *aid = cfg_fold(arena_strdup(&m->arena, id ? id : ""));
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
        uint32_t idx = cfg_person_new(L);
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

void cfg_load_roster(struct loader *L)
{
        const struct section *s = cfg_single_with(L, K_DEADLINED, "roster");
        const char *v = s ? cfg_get(s, "roster") : NULL;
        struct stat st;

        if (cfg_blank(v))
                return;
        struct place pl = cfg_place(s, "roster");
        const char *path = cfg_path_join(&L->m->arena, s->f->dir, v);
        cfg_note_path(L, path);
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
        cfg_record_file(L, path, &st);
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

void cfg_resolve_managers(struct loader *L)
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

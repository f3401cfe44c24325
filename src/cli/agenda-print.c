/* agenda-print.c: `deadlined agenda`'s table and JSON, printed from the pure
 * rows of src/core/agenda.c. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "deadlined/cli/agenda-print.h"
#include "deadlined/core/tz.h"

static const char *left_text(const struct deadline *d, dl_day today, char *buf, size_t len)
{
        int32_t left = deadline_days_left(d, today);

        if (left == 0)
                snprintf(buf, len, "today");
        else if (left > 0)
                snprintf(buf, len, "in %dd", left);
        else
                snprintf(buf, len, "%dd ago", -left);
        return buf;
}

/* "Jane Smith: SENCO must hold the NPQ" or the commitment title, and a newline. */
static void put_what(FILE *f, const struct model *m, const struct deadline *d)
{
        if (d->kind == DL_RULE) {
                fputs_unlocked(m->people[d->person].name, f);
                fputs_unlocked(": ", f);
        }
        fputs_unlocked(deadline_title(m, d), f);
        putc_unlocked('\n', f);
}

static void reminder_what(const struct model *m, const struct deadline *d,
                          const struct reminder *r, char *buf, size_t len)
{
        char dur[32];
        const struct remind_spec *rs = deadline_remind(m, d);

        if (r->lead >= 0)
                snprintf(buf, len, "%s before", dur_format(rs->leads[r->lead], dur, sizeof(dur)));
        else
                snprintf(buf, len, "overdue notice %d", r->repeat + 1);
}

static int print_table(FILE *f, const struct model *m, const struct agenda_opts *o,
                       const struct agenda_row *rows, size_t n)
{
        char due[32], left[32], at[128], what[64], last[16];

        fprintf(f, "Agenda %s", date_format(o->from, due, sizeof(due)));
        fprintf(f, " to %s (%s): %zu deadline%s\n",
                date_format(o->from + (dl_day)o->days - 1, last, sizeof(last)), m->set.timezone,
                n, n == 1 ? "" : "s");
        if (n)
                fprintf(f, "%-10s  %-10s  %-8s  %-42s  %s\n", "DUE", "LEFT", "STATUS",
                        "NEXT REMINDER", "WHAT");
        for (size_t i = 0; i < n; i++) {
                const struct deadline *d = rows[i].d;
                if (rows[i].has_next) {
                        char when[40];
                        reminder_what(m, d, &rows[i].next, what, sizeof(what));
                        snprintf(at, sizeof(at), "%s (%s)",
                                 tz_format_local(m->set.tz, rows[i].next.at, when, sizeof(when)),
                                 what);
                } else {
                        snprintf(at, sizeof(at), "-");
                }
                fprintf(f, "%-10s  %-10s  %-8s  %-42s  ",
                        date_format_prec(d->due, due, sizeof(due)),
                        left_text(d, o->today, left, sizeof(left)),
                        deadline_status_name(d->status), at);
                put_what(f, m, d);
        }
        return ferror(f) ? -EIO : 0;
}

struct json_collect {
        const struct model *m;
        json_t *arr;
};

static json_t *recipients_json(const struct model *m, const struct deadline *d)
{
        struct recipient rc[MAX_NOTIFY];
        size_t n = schedule_recipients(m, d, rc);
        json_t *arr = json_array();

        for (size_t i = 0; i < n; i++) {
                if (rc[i].kind == RCPT_WEBHOOK) {
                        char buf[160];
                        snprintf(buf, sizeof(buf), "webhook:%s", m->webhooks[rc[i].webhook].name);
                        json_array_append_new(arr, json_string(buf));
                } else {
                        json_array_append_new(arr, json_string(rc[i].email));
                }
        }
        return arr;
}

static int collect_reminder(const struct deadline *d, const struct reminder *r, void *userdata)
{
        struct json_collect *jc = userdata;
        const struct remind_spec *rs = deadline_remind(jc->m, d);
        char buf[48];
        json_t *o = json_object();

        json_object_set_new(o, "at", json_string(time_format_utc(r->at, buf, sizeof(buf))));
        json_object_set_new(o, "local",
                            json_string(tz_format_local(jc->m->set.tz, r->at, buf, sizeof(buf))));
        if (r->lead >= 0) {
                json_object_set_new(o, "kind", json_string("lead"));
                json_object_set_new(o, "lead",
                                    json_string(dur_format(rs->leads[r->lead], buf, sizeof(buf))));
        } else {
                json_object_set_new(o, "kind", json_string("overdue"));
                json_object_set_new(o, "repeat", json_integer(r->repeat));
        }
        json_object_set_new(o, "recipients", recipients_json(jc->m, d));
        json_array_append_new(jc->arr, o);
        return 0;
}

static const char *const prec_names[] = {"day", "month", "year"};

static json_t *row_json(const struct model *m, const struct agenda_opts *o,
                        const struct deadline *d)
{
        char buf[160];
        json_t *obj = json_object();

        deadline_id(m, d, buf, sizeof(buf));
        json_object_set_new(obj, "id", json_string(buf));
        json_object_set_new(obj, "kind", json_string(d->kind == DL_RULE ? "rule" : "commitment"));
        json_object_set_new(obj, "title", json_string(deadline_title(m, d)));
        json_object_set_new(obj, "due", json_string(date_format_prec(d->due, buf, sizeof(buf))));
        json_object_set_new(obj, "due_day", json_string(date_format(d->due.day, buf, sizeof(buf))));
        json_object_set_new(obj, "precision", json_string(prec_names[d->due.prec]));
        json_object_set_new(obj, "status", json_string(deadline_status_name(d->status)));
        json_object_set_new(obj, "days_left", json_integer(deadline_days_left(d, o->today)));
        if (d->done != DATE_NONE)
                json_object_set_new(obj, "done", json_string(date_format(d->done, buf, sizeof(buf))));
        if (d->kind == DL_RULE) {
                const struct person *p = &m->people[d->person];
                json_t *pj = json_object();
                json_object_set_new(pj, "id", json_string(p->id));
                json_object_set_new(pj, "name", json_string(p->name));
                json_object_set_new(pj, "email", p->email ? json_string(p->email) : json_null());
                json_object_set_new(pj, "org", p->org != IDX_NONE ? json_string(m->orgs[p->org])
                                                                  : json_null());
                json_object_set_new(obj, "person", pj);
                json_object_set_new(obj, "rule", json_string(m->rules[d->src].id));
        } else {
                json_object_set_new(obj, "person", json_null());
                json_object_set_new(obj, "rule", json_null());
        }
        struct json_collect jc = {.m = m, .arr = json_array()};
        int64_t from_t = tz_local_to_utc(m->set.tz, o->from, 0);
        int64_t to_t = tz_local_to_utc(m->set.tz, o->from + (dl_day)o->days, 0);
        schedule_between(m, d, from_t, to_t, collect_reminder, &jc);
        json_object_set_new(obj, "reminders", jc.arr);
        return obj;
}

static int print_json(FILE *f, const struct model *m, const struct agenda_opts *o,
                      const struct agenda_row *rows, size_t n)
{
        json_t *arr = json_array();

        for (size_t i = 0; i < n; i++)
                json_array_append_new(arr, row_json(m, o, rows[i].d));
        int r = json_dumpf(arr, f, JSON_INDENT(2) | JSON_ENSURE_ASCII);
        json_decref(arr);
        fputc('\n', f);
        return r < 0 || ferror(f) ? -EIO : 0;
}

int agenda_print(FILE *f, const struct model *m, const struct deadlines *ds,
                 const struct agenda_opts *o)
{
        struct agenda_row *rows = NULL;
        size_t n = agenda_rows(m, ds, o, &rows);
        int r = o->json ? print_json(f, m, o, rows, n) : print_table(f, m, o, rows, n);

        free(rows);
        /* Buffered output fails at the flush (a full disk, a closed pipe). */
        if (fflush(f) != 0)
                r = -EIO;
        return r;
}

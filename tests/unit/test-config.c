/* test-config.c: config_load over real files in a scratch directory. Each
 * error case asserts the exact "FILE:LINE: message" output of diag_print. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deadlined/config/config.h"
#include "deadlined/core/tz.h"

static char scratch[PATH_MAX];
static char oldcwd[PATH_MAX];

static int setup(void **state)
{
        snprintf(scratch, sizeof(scratch), "%s/test-config.XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(scratch) || !getcwd(oldcwd, sizeof(oldcwd)) || chdir(scratch) < 0)
                return -1;
        return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(path);
}

static int teardown(void **state)
{
        unsetenv("CREDENTIALS_DIRECTORY");
        if (chdir(oldcwd) < 0)
                return -1;
        return nftw(scratch, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write a file (relative to the scratch directory), creating its directory. */
static void put(const char *name, const char *text, mode_t mode)
{
        char dir[PATH_MAX];
        const char *slash = strchr(name, '/');

        for (; slash; slash = strchr(slash + 1, '/')) {
                snprintf(dir, sizeof(dir), "%.*s", (int)(slash - name), name);
                mkdir(dir, 0755);
        }
        int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, mode);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        assert_int_equal(fchmod(fd, mode), 0);
        close(fd);
}

static char *render(const struct diags *d)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        diag_print(d, f);
        fclose(f);
        return buf;
}

/* Load main.conf; assert the return code and the whole diagnostic output. */
static struct model *load(const char *expected)
{
        struct diags d = {0};
        struct model *m = NULL;
        int r = config_load("main.conf", &m, &d);
        char *got = render(&d);

        if (strcmp(got, expected) != 0)
                print_message("got:\n%s", got);
        assert_string_equal(got, expected);
        assert_int_equal(r, d.nerrors ? -EINVAL : 0);
        assert_true(d.nerrors ? m == NULL : m != NULL);
        free(got);
        diag_free(&d);
        return m;
}

static void expect(const char *conf, const char *expected)
{
        put("main.conf", conf, 0644);
        model_free(load(expected));
}

#define HEAD "[deadlined]\ntimezone = UTC\n" /* lines 1-2 */

/* ---- success paths -------------------------------------------------------- */

static void test_defaults(void **state)
{
        put("main.conf", "[deadlined]\n", 0644);
        struct model *m = load("");

        assert_string_equal(m->set.timezone, "Europe/London");
        assert_string_equal(tz_name(m->set.tz), "Europe/London");
        assert_int_equal(m->set.send_at, 9 * 60);
        assert_string_equal(m->set.state_dir, "state");
        assert_int_equal(m->set.catch_up.months, 0);
        assert_int_equal(m->set.catch_up.days, 7);
        assert_string_equal(m->set.uid_domain, "deadlined.invalid");
        assert_string_equal(m->set.http_listen, "127.0.0.1:8025");
        assert_string_equal(m->set.public_url, "http://127.0.0.1:8025");
        /* Delivery defaults are in the model, not left as 0. */
        assert_int_equal(m->set.retry_min, 300);
        assert_int_equal(m->set.retry_max, 3600);
        assert_int_equal(m->set.retry_give_up, 432000);
        assert_int_equal(m->set.send_timeout, 30);
        assert_false(m->smtp.present);
        assert_int_equal(m->nfiles, 1);
        assert_string_equal(m->files[0], "main.conf");
        assert_true(m->mtime > 0);
        char *s = config_summary(m);
        assert_string_equal(s, "0 people, 0 rules, 0 commitments, 0 feeds, 0 webhooks, mail to "
                               "the outbox; 1 file, time zone Europe/London");
        free(s);
        model_free(m);
}

static const char full_conf[] = "[deadlined]\n"
                                "timezone = Europe/London\n"
                                "send_at = 08:30\n"
                                "state_dir = /var/lib/x\n"
                                "catch_up = 2w\n"
                                "uid_domain = deadlined.example.org\n"
                                "[http]\n"
                                "listen = [::1]:9000\n"
                                "[smtp]\n"
                                "url = \"smtp://127.0.0.1:2525\"\n"
                                "tls = none\n"
                                "from = \"SEND deadlines <deadlines@example.org>\"\n"
                                "[webhook team]\n"
                                "url = \"https://hooks.example.org/T0\"\n"
                                "format = teams\n"
                                "[rule npq]\n"
                                "title = \"SENCO NPQ\"\n"
                                "applies_to = role:senco org:oak\n"
                                "anchor = appointed\n"
                                "within = 3y\n"
                                "not_after = 2027-08-31\n"
                                "done = qualified\n"
                                "remind = 2w 6m\n"
                                "notify = person manager webhook:team email:ops@example.org\n"
                                "[rule refresher]\n"
                                "title = \"Refresher\"\n"
                                "applies_to = all\n"
                                "anchor = appointed\n"
                                "within = 1y\n"
                                "done = refreshed\n"
                                "every = 2y\n"
                                "[commitment review]\n"
                                "title = \"Review\"\n"
                                "due = 2027-03\n"
                                "status = dropped\n"
                                "url = \"https://example.org/review\"\n"
                                "notify = webhook:team\n"
                                "[feed public]\n"
                                "select = commitments rule:npq person:jane\n"
                                "public = yes\n"
                                "alarms = on\n"
                                "[person head]\n"
                                "name = \"Head\"\n"
                                "email = head@oak.example\n"
                                "[person jane]\n"
                                "name = \"Jane Smith\"\n"
                                "role = senco dsl senco\n"
                                "org = oak\n"
                                "manager = head\n"
                                "appointed = 2024-02-29\n"
                                "qualified =\n";

static void test_full_model_built(void **state)
{
        put("main.conf", full_conf, 0644);
        struct model *m = load("");

        assert_int_equal(m->set.send_at, 8 * 60 + 30);
        assert_string_equal(m->set.state_dir, "/var/lib/x");
        assert_int_equal(m->set.catch_up.days, 14);
        assert_string_equal(m->set.http_listen, "[::1]:9000");
        assert_string_equal(m->set.public_url, "http://[::1]:9000");
        assert_true(m->smtp.present);
        assert_int_equal(m->smtp.tls, TLS_NONE);
        assert_string_equal(m->smtp.from, "SEND deadlines <deadlines@example.org>");
        assert_null(m->smtp.password);
        assert_int_equal(m->nwebhooks, 1);
        assert_int_equal(m->webhooks[0].format, WH_TEAMS);
        assert_int_equal(model_webhook(m, "team"), 0);
        assert_int_equal(model_webhook(m, "nope"), IDX_NONE);

        assert_int_equal(m->nrules, 2);
        const struct rule *r = &m->rules[model_rule(m, "npq")];
        assert_string_equal(r->id, "npq");
        assert_int_equal(r->line, 16);
        assert_string_equal(m->fields[r->anchor_field], "appointed");
        assert_string_equal(m->fields[r->done_field], "qualified");
        assert_true(r->has_within);
        assert_int_equal(r->within.months, 36);
        char buf[16];
        assert_string_equal(date_format(r->not_after, buf, sizeof(buf)), "2027-08-31");
        assert_false(r->recurring);
        assert_int_equal(r->remind.nleads, 2);
        assert_int_equal(r->remind.leads[0].months, 6);
        assert_int_equal(r->remind.leads[1].days, 14);
        assert_int_equal(r->remind.overdue_every.days, 7);
        assert_int_equal(r->remind.nnotify, 4);
        assert_int_equal(r->remind.notify[0].kind, RCPT_PERSON);
        assert_int_equal(r->remind.notify[1].kind, RCPT_MANAGER);
        assert_int_equal(r->remind.notify[2].kind, RCPT_WEBHOOK);
        assert_int_equal(r->remind.notify[2].webhook, 0);
        assert_int_equal(r->remind.notify[3].kind, RCPT_EMAIL);
        assert_string_equal(r->remind.notify[3].email, "ops@example.org");
        model_free(m);
}

/* A valid model with everything wired: people, leads and selectors. */
static const char wired_conf[] = HEAD "[person head]\n" /* 3 */
                                      "name = \"Head\"\n"
                                      "email = head@oak.example\n"
                                      "role = head\n"
                                      "[person jane]\n" /* 7 */
                                      "name = \"Jane Smith\"\n"
                                      "role = senco dsl senco\n"
                                      "org = oak\n"
                                      "manager = head\n"
                                      "appointed = 2024-02-29\n"
                                      "qualified =\n"
                                      "[webhook team]\n" /* 14 */
                                      "url = \"https://hooks.example.org/T0\"\n"
                                      "[rule npq]\n" /* 16 */
                                      "title = \"SENCO NPQ\"\n"
                                      "applies_to = role:senco org:oak person:head\n"
                                      "anchor = appointed\n"
                                      "within = 3y\n"
                                      "done = qualified\n"
                                      "remind = 2w 6m 1m 1y6m 1d\n"
                                      "notify = person manager webhook:team\n"
                                      "[rule refresher]\n" /* 24 */
                                      "title = \"Refresher\"\n"
                                      "applies_to = people\n"
                                      "anchor = appointed\n"
                                      "not_after = 2030-01-01\n"
                                      "done = refreshed\n"
                                      "every = 2y\n"
                                      "[commitment review]\n" /* 31 */
                                      "title = \"Review\"\n"
                                      "due = 2027-03\n"
                                      "status = dropped\n"
                                      "remind = 1y\n"
                                      "notify = webhook:team email:ops@example.org\n"
                                      "[feed all]\n"
                                      "title = \"Everything\"\n"
                                      "select = all\n"
                                      "public = yes\n"
                                      "alarms = on\n"
                                      "[feed mix]\n"
                                      "select = commitments rule:npq person:jane\n"
                                      "public = true\n";

static void test_wired_model(void **state)
{
        put("main.conf", wired_conf, 0644);
        struct model *m = load("");
        char buf[32];

        assert_int_equal(m->npeople, 2);
        uint32_t jane = model_person(m, "jane"), head = model_person(m, "head");
        assert_int_equal(jane, 1);
        assert_int_equal(head, 0);
        const struct person *p = &m->people[jane];
        assert_string_equal(p->name, "Jane Smith");
        assert_null(p->email);
        assert_int_equal(p->nroles, 2); /* duplicate role folded */
        assert_string_equal(m->roles[p->roles[0]], "senco");
        assert_string_equal(m->roles[p->roles[1]], "dsl");
        assert_true(person_has_role(m, p, p->roles[1]));
        assert_false(person_has_role(m, &m->people[head], p->roles[0]));
        assert_string_equal(m->orgs[p->org], "oak");
        assert_int_equal(p->manager, head);
        assert_int_equal(m->people[head].org, IDX_NONE);
        assert_int_equal(p->line, 7);
        assert_string_equal(p->file, "main.conf");
        assert_int_equal(m->nfields, 3);
        assert_string_equal(m->fields[0], "appointed");
        assert_string_equal(m->fields[1], "qualified");
        assert_string_equal(m->fields[2], "refreshed");
        assert_string_equal(date_format(p->dates[0], buf, sizeof(buf)), "2024-02-29");
        assert_int_equal(p->dates[1], DATE_NONE);
        assert_int_equal(m->people[head].dates[0], DATE_NONE);

        const struct rule *r = &m->rules[0];
        assert_int_equal(r->applies_to.n, 3);
        assert_int_equal(r->applies_to.terms[0].kind, SEL_ROLE);
        assert_int_equal(r->applies_to.terms[0].ref, p->roles[0]);
        assert_int_equal(r->applies_to.terms[1].kind, SEL_ORG);
        assert_int_equal(r->applies_to.terms[2].kind, SEL_PERSON);
        assert_int_equal(r->applies_to.terms[2].ref, head);
        assert_int_equal(r->remind.nleads, 5);
        const char *want[] = {"1y6m", "6m", "1m", "2w", "1d"};
        for (int i = 0; i < 5; i++)
                assert_string_equal(dur_format(r->remind.leads[i], buf, sizeof(buf)), want[i]);
        assert_int_equal(r->not_after, DATE_NONE);
        assert_int_equal(r->remind.overdue_every.days, 7);

        const struct rule *rf = &m->rules[1];
        assert_false(rf->has_within);
        assert_true(rf->recurring);
        assert_int_equal(rf->every.months, 24);
        assert_string_equal(date_format(rf->not_after, buf, sizeof(buf)), "2030-01-01");
        assert_int_equal(rf->applies_to.terms[0].kind, SEL_PEOPLE);

        const struct commitment *c = &m->commitments[0];
        assert_int_equal(c->status, CST_DROPPED);
        assert_int_equal(c->due.prec, PREC_MONTH);
        assert_string_equal(date_format(c->due.day, buf, sizeof(buf)), "2027-03-31");
        assert_int_equal(c->remind.overdue_every.days, 0);
        assert_int_equal(c->remind.overdue_every.months, 0);
        assert_int_equal(c->remind.nnotify, 2);
        assert_int_equal(c->line, 31);

        assert_int_equal(m->nfeeds, 2);
        assert_string_equal(m->feeds[0].title, "Everything");
        assert_true(m->feeds[0].public);
        assert_true(m->feeds[0].alarms);
        assert_string_equal(m->feeds[1].title, "mix");
        assert_false(m->feeds[1].alarms);
        assert_int_equal(m->feeds[1].select.n, 3);
        assert_int_equal(m->feeds[1].select.terms[0].kind, SEL_COMMITMENTS);
        assert_int_equal(m->feeds[1].select.terms[1].kind, SEL_RULE);
        assert_int_equal(m->feeds[1].select.terms[1].ref, 0);
        assert_int_equal(model_feed(m, "mix"), 1);
        assert_int_equal(model_feed(m, "none"), IDX_NONE);
        char *s = config_summary(m);
        assert_string_equal(s, "2 people, 2 rules, 1 commitment, 2 feeds, 1 webhook, mail to the "
                               "outbox; 1 file, time zone UTC");
        free(s);
        model_free(m);
}

/* ---- sections and keys ------------------------------------------------------ */

static void test_section_kinds(void **state)
{
        expect(HEAD "[rul x]\n"
                    "[rule]\n"
                    "[http main]\n"
                    "[person Bad!]\n",
               "main.conf:3: unknown section kind 'rul' (expected one of: deadlined, http, smtp, "
               "feed, webhook, rule, person, commitment)\n"
               "main.conf:4: [rule] needs a name, e.g. [rule senco-npq]\n"
               "main.conf:5: [http] takes no name\n"
               "main.conf:6: invalid name 'bad!' in [person bad!] (use a-z, 0-9, '.', '_' or '-', "
               "at most 64 characters)\n");
}

static void test_unknown_key(void **state)
{
        expect(HEAD "timezon = UTC\n"
                    "[person a]\n"
                    "name = \"A\"\n"
                    "emial = a@b.example\n"
                    "colour = red\n",
               "main.conf:3: unknown key 'timezon' in [deadlined]; did you mean 'timezone'?\n"
               "main.conf:6: unknown key 'emial' in [person a]; did you mean 'email'?\n"
               "main.conf:7: unknown key 'colour' in [person a]\n");
}

static void test_unknown_key_suggests_field(void **state)
{
        expect(HEAD "[rule r]\ntitle = \"R\"\napplies_to = all\nanchor = appointed\nwithin = 1y\n"
                    "[person a]\n" /* 8 */
                    "name = \"A\"\n"
                    "apointed = 2024-01-01\n",
               "main.conf:10: unknown key 'apointed' in [person a]; did you mean 'appointed'?\n");
}

static void test_missing_required(void **state)
{
        expect(HEAD "[rule r]\n" /* 3 */
                    "description = \"no title\"\n"
                    "[commitment c]\n" /* 5 */
                    "title = \"C\"\n"
                    "[feed f]\n" /* 7 */
                    "public = yes\n"
                    "[feed g]\n" /* 9 */
                    "select = all\n"
                    "[person p]\n"  /* 11 */
                    "[webhook w]\n" /* 12 */
                    "[smtp]\n",     /* 13 */
               "main.conf:3: [rule r] needs 'title'\n"
               "main.conf:3: [rule r] needs 'applies_to'\n"
               "main.conf:3: [rule r] needs 'anchor'\n"
               "main.conf:3: [rule r] needs 'within' or 'not_after'\n"
               "main.conf:5: [commitment c] needs 'due'\n"
               "main.conf:7: [feed f] needs 'select'\n"
               "main.conf:9: [feed g] needs 'token_file'\n"
               "main.conf:11: [person p] needs 'name'\n"
               "main.conf:12: [webhook w] needs 'url'\n"
               "main.conf:13: [smtp] needs 'url'\n"
               "main.conf:13: [smtp] needs 'from'\n");
}

static void test_duplicate_sections_across_files(void **state)
{
        put("conf.d/a.conf", "[person p]\nname = \"P\"\n[deadlined]\nsend_at = 10:00\n", 0644);
        put("conf.d/b.conf", "[person P]\nname = \"Q\"\n[deadlined]\ninclude = x\ntimezone = UTC\n",
            0644);
        expect(HEAD "include = conf.d\n[person p]\nname = \"P\"\n",
               "conf.d/a.conf:1: duplicate section [person p] (first at main.conf:4)\n"
               "conf.d/b.conf:1: duplicate section [person p] (first at main.conf:4)\n"
               "conf.d/b.conf:4: key 'include' is only allowed in the main file\n"
               "conf.d/b.conf:5: key 'timezone' is already set in [deadlined] at main.conf:2\n");
}

/* ---- values --------------------------------------------------------------------- */

static void test_dates(void **state)
{
        expect(HEAD "[rule r]\ntitle = \"R\"\napplies_to = all\nanchor = appointed\n"
                    "not_after = 2027-02-29\n" /* 7 */
                    "[person a]\n"
                    "name = \"A\"\n"
                    "appointed = 2025-02-30\n" /* 10 */
                    "[person b]\n"
                    "name = \"B\"\n"
                    "appointed = 31/12/2024\n" /* 13 */
                    "[person c]\n"
                    "name = \"C\"\n"
                    "appointed = 1850-01-01\n" /* 16 */
                    "[commitment x]\n"
                    "title = \"X\"\n"
                    "due = 2027-13\n" /* 19 */
                    "[commitment y]\n"
                    "title = \"Y\"\n"
                    "due = soon\n", /* 22 */
               "main.conf:7: key 'not_after': 2027-02-29 does not exist\n"
               "main.conf:10: key 'appointed': 2025-02-30 does not exist\n"
               "main.conf:13: key 'appointed': '31/12/2024' is not a date (use YYYY-MM-DD)\n"
               "main.conf:16: key 'appointed': year must be between 1900 and 2199\n"
               "main.conf:19: key 'due': 2027-13 does not exist\n"
               "main.conf:22: key 'due': 'soon' is not a date (use YYYY, YYYY-MM, YYYY-MM-DD or "
               "YYYY-MM-DDTHH:MM)\n");
}

static void test_durations(void **state)
{
        expect(
            HEAD "catch_up = 7 days\n"
                 "[rule r]\ntitle = \"R\"\napplies_to = all\nanchor = appointed\n"
                 "within = 3 years\n" /* 8 */
                 "every = 1d1y\n"
                 "done = done_at\n"
                 "remind = 1m 0 2w 14d 3x\n" /* 11 */
                 "overdue_every = weekly\n",
            "main.conf:3: key 'catch_up': \"7 days\" is not a duration (try 3y, 18m, 2w, 10d or "
            "1y6m)\n"
            "main.conf:8: key 'within': \"3 years\" is not a duration (try 3y, 18m, 2w, 10d or "
            "1y6m)\n"
            "main.conf:9: key 'every': \"1d1y\" is not a duration (try 3y, 18m, 2w, 10d or 1y6m)\n"
            "main.conf:11: key 'remind': \"0\" is not a positive duration\n"
            "main.conf:11: key 'remind': duplicate lead \"14d\"\n"
            "main.conf:11: key 'remind': \"3x\" is not a duration (try 3y, 18m, 2w, 10d or "
            "1y6m)\n"
            "main.conf:12: key 'overdue_every': \"weekly\" is not a duration (try 3y, 18m, 2w, "
            "10d or 1y6m)\n");
}

static void test_too_many_leads(void **state)
{
        expect(HEAD "[commitment c]\ntitle = \"C\"\ndue = 2030\n"
                    "remind = 1d 2d 3d 4d 5d 6d 8d 9d 10d 11d 12d 13d 15d 16d 17d 18d 19d\n",
               "main.conf:6: key 'remind': at most 16 leads\n");
}

static void test_emails(void **state)
{
        expect(HEAD "[person a]\nname = \"A\"\n"
                    "email = jane<@oak.example\n" /* 5 */
                    "[person b]\nname = \"B\"\n"
                    "email = b@localhost\n" /* 8 */
                    "[person c]\nname = \"C\"\n"
                    "email = c..d@x.example\n" /* 11 */
                    "[person d]\nname = \"D\"\n"
                    "email = d@-x.example\n" /* 14 */
                    "[person e]\nname = \"E\"\n"
                    "email = \"first.last+tag@sub.oak-school.example\"\n"
                    "[smtp]\nurl = \"smtp://mail.example.org\"\n"
                    "from = \"Deadlines <nobody>\"\n", /* 20 */
               "main.conf:5: key 'email': 'jane<@oak.example' is not a valid email address\n"
               "main.conf:8: key 'email': 'b@localhost' is not a valid email address\n"
               "main.conf:11: key 'email': 'c..d@x.example' is not a valid email address\n"
               "main.conf:14: key 'email': 'd@-x.example' is not a valid email address\n"
               "main.conf:20: key 'from': 'nobody' is not a valid email address\n");
}

static void test_text_limits(void **state)
{
        char title[600];
        memset(title, 'x', sizeof(title) - 1);
        title[sizeof(title) - 1] = '\0';
        char *conf = NULL;
        assert_true(asprintf(&conf, HEAD "[person a]\nname = \"%s\"\n", title) > 0);
        expect(conf, "main.conf:4: key 'name': value is 599 bytes long; the limit is 512\n");
        free(conf);
}

static void test_urls(void **state)
{
        expect(HEAD "[webhook a]\nurl = \"file:///etc/passwd\"\n"
                    "[webhook b]\nurl = \"gopher://x\"\n"
                    "[webhook c]\nurl = \"https://\"\n"
                    "[webhook d]\nurl = \"https://ok.example/x\"\nformat = xml\n"
                    "[http]\nlisten = localhost\npublic_url = \"ftp://x\"\n"        /* 12-14 */
                    "[smtp]\nurl = \"https://mail.example\"\nfrom = a@b.example\n", /* 15-17 */
               "main.conf:4: key 'url': scheme must be http or https\n"
               "main.conf:6: key 'url': scheme must be http or https\n"
               "main.conf:8: key 'url': 'https://' is not a URL with a host\n"
               "main.conf:11: key 'format': expected json, slack or teams\n"
               "main.conf:13: key 'listen': 'localhost' is not HOST:PORT, [IPV6]:PORT or none\n"
               "main.conf:14: key 'public_url': scheme must be http or https\n"
               "main.conf:16: key 'url': scheme must be smtp or smtps\n");
}

static void test_smtp_tls(void **state)
{
        expect(HEAD "[smtp]\nurl = \"smtp://mail.example.org\"\ntls = none\nfrom = a@b.example\n",
               "main.conf:5: key 'tls': none is only allowed for a relay on localhost\n");
        expect(HEAD
               "[smtp]\nurl = \"smtps://mail.example.org\"\ntls = starttls\nfrom = a@b.example\n",
               "main.conf:5: key 'tls': starttls does not go with smtps://\n");
        put("main.conf", HEAD "[smtp]\nurl = \"smtps://mail.example.org\"\nfrom = a@b.example\n",
            0644);
        struct model *m = load("");
        assert_int_equal(m->smtp.tls, TLS_IMPLICIT);
        model_free(m);
}

static void test_bools_and_settings(void **state)
{
        expect(HEAD "send_at = 9am\n"
                    "uid_domain = not a host\n"
                    "[feed f]\nselect = all\npublic = maybe\n",
               "main.conf:3: key 'send_at': '9am' is not a time (use HH:MM)\n"
               "main.conf:4: key 'uid_domain': 'not a host' is not a host name\n"
               "main.conf:5: [feed f] needs 'token_file'\n"
               "main.conf:7: key 'public': expected yes or no\n");
}

static void test_timezones(void **state)
{
        expect("[deadlined]\ntimezone = Europe/Londn\n",
               "main.conf:2: unknown time zone 'Europe/Londn' (e.g. Europe/London, UTC)\n");
        expect("[deadlined]\ntimezone = ../../../etc/passwd\n",
               "main.conf:2: unknown time zone '../../../etc/passwd' (e.g. Europe/London, UTC)\n");
        expect("[deadlined]\ntimezone = /etc/passwd\n",
               "main.conf:2: unknown time zone '/etc/passwd' (e.g. Europe/London, UTC)\n");
        put("main.conf", "[deadlined]\ntimezone = America/New_York\n", 0644);
        struct model *m = load("");
        assert_string_equal(m->set.timezone, "America/New_York");
        model_free(m);
}

static void test_selectors(void **state)
{
        expect(HEAD "[rule r]\ntitle = \"R\"\nanchor = a\nwithin = 1y\n"
                    "applies_to = commitments rule:r role:nobody\n" /* 7 */
                    "[feed f]\npublic = yes\n"
                    "select = rule:x person:y everyone role:ok\n" /* 10 */
                    "[person p]\nname = \"P\"\nrole = ok\n",
               "main.conf:7: key 'applies_to': 'commitments' is not allowed here (a rule applies "
               "to people)\n"
               "main.conf:7: key 'applies_to': 'rule:r' is not allowed here (a rule applies to "
               "people)\n"
               "main.conf:7: warning: key 'applies_to': no person has role 'nobody'\n"
               "main.conf:10: key 'select': no rule named 'x'\n"
               "main.conf:10: key 'select': no person named 'y'\n"
               "main.conf:10: key 'select': unknown term 'everyone' (expected all, commitments, "
               "people, rule:ID, role:ROLE, org:ORG or person:ID)\n");
}

static void test_role_warning_only(void **state)
{
        put("main.conf",
            HEAD "[rule r]\ntitle = \"R\"\nanchor = a\nwithin = 1y\n"
                 "applies_to = role:senco\n",
            0644);
        struct model *m = load("main.conf:7: warning: key 'applies_to': no person has role "
                               "'senco'\n");
        assert_int_equal(m->nroles, 1);
        assert_int_equal(m->rules[0].applies_to.terms[0].ref, 0);
        model_free(m);
}

static void test_notify(void **state)
{
        expect(HEAD "[rule r]\ntitle = \"R\"\nanchor = a\nwithin = 1y\napplies_to = all\n"
                    "notify = person webhook:nope boss email:x@y person\n" /* 8 */
                    "[commitment c]\ntitle = \"C\"\ndue = 2030\n"
                    "notify = manager email:ok@example.org\n", /* 12 */
               "main.conf:8: key 'notify': no [webhook nope]\n"
               "main.conf:8: key 'notify': unknown recipient 'boss' (expected person, manager, "
               "email:ADDR or webhook:NAME)\n"
               "main.conf:8: key 'notify': 'x@y' is not a valid email address\n"
               "main.conf:8: key 'notify': duplicate recipient 'person'\n"
               "main.conf:12: 'manager' has no meaning for a commitment\n");
}

static void test_rule_fields(void **state)
{
        expect(HEAD "[rule r]\ntitle = \"R\"\napplies_to = all\nwithin = 1y\n"
                    "anchor = 2nd_post\n" /* 7 */
                    "done = email\n"
                    "[rule s]\ntitle = \"S\"\napplies_to = all\nanchor = a\nwithin = 1y\n"
                    "every = 1y\n", /* 14 */
               "main.conf:7: key 'anchor': '2nd_post' is not a field name (use a-z, 0-9 and '_', "
               "starting with a letter)\n"
               "main.conf:8: key 'done': 'email' is a person key, not a date field\n"
               "main.conf:14: key 'every': a recurring rule needs 'done'\n");
}

/* ---- people, managers, roster ------------------------------------------------ */

static void test_managers(void **state)
{
        expect(HEAD "[person a]\nname = \"A\"\nmanager = b\n"     /* 5 */
                    "[person b]\nname = \"B\"\nmanager = c\n"     /* 8 */
                    "[person c]\nname = \"C\"\nmanager = a\n"     /* 11 */
                    "[person d]\nname = \"D\"\nmanager = d\n"     /* 14 */
                    "[person e]\nname = \"E\"\nmanager = ghost\n" /* 17 */
                    "[person f]\nname = \"F\"\nmanager = a\n",
               "main.conf:5: key 'manager': manager loop: a -> b -> c -> a\n"
               "main.conf:14: key 'manager': 'd' cannot be their own manager\n"
               "main.conf:17: key 'manager': no person 'ghost'\n");
}

static void test_roster_merge(void **state)
{
        put("staff/roster.csv",
            "id,Name,email,role,org,manager,appointed,qualified\n"
            "jane,Jane Smith,jane@oak.example,senco dsl,oak,head,2024-02-29,\n"
            "\"bob\",\"Bob, Jr\",,senco,elm,jane,2023-09-01,2025-01-10\n",
            0644);
        put("main.conf",
            HEAD "roster = staff/roster.csv\n"
                 "[person head]\nname = \"Head\"\nemail = head@oak.example\n"
                 "[rule npq]\ntitle = \"NPQ\"\napplies_to = role:senco\n"
                 "anchor = appointed\ndone = qualified\nwithin = 3y\n",
            0644);
        struct model *m = load("");
        char buf[16];

        assert_int_equal(m->npeople, 3);
        assert_int_equal(m->nfiles, 2);
        assert_string_equal(m->files[1], "staff/roster.csv");
        uint32_t jane = model_person(m, "jane"), bob = model_person(m, "bob");
        assert_int_equal(jane, 1);
        assert_int_equal(bob, 2);
        assert_string_equal(m->people[bob].name, "Bob, Jr");
        assert_null(m->people[bob].email);
        assert_int_equal(m->people[bob].manager, jane);
        assert_int_equal(m->people[jane].manager, model_person(m, "head"));
        assert_string_equal(m->people[jane].file, "staff/roster.csv");
        assert_int_equal(m->people[jane].line, 2);
        assert_int_equal(m->people[jane].nroles, 2);
        assert_string_equal(m->orgs[m->people[bob].org], "elm");
        assert_string_equal(date_format(m->people[bob].dates[1], buf, sizeof(buf)), "2025-01-10");
        assert_int_equal(m->people[jane].dates[1], DATE_NONE);
        assert_int_equal(m->rules[0].applies_to.terms[0].ref, m->people[jane].roles[0]);
        model_free(m);
}

static void test_roster_errors(void **state)
{
        put("roster.csv", "id,name,email,appointed,shoe_size\n", 0644);
        expect(HEAD
               "roster = roster.csv\n"
               "[rule npq]\ntitle = \"NPQ\"\napplies_to = all\nanchor = appointed\nwithin = 3y\n",
               "roster.csv:1: unknown column 'shoe_size'\n");
        put("roster.csv", "id,name,email,appointed,appointed,Apointed\n", 0644);
        expect(HEAD
               "roster = roster.csv\n"
               "[rule npq]\ntitle = \"NPQ\"\napplies_to = all\nanchor = appointed\nwithin = 3y\n",
               "roster.csv:1: duplicate column 'appointed'\n"
               "roster.csv:1: unknown column 'apointed'; did you mean 'appointed'?\n");
        put("roster.csv", "name,email\n", 0644);
        expect(HEAD "roster = roster.csv\n",
               "roster.csv:1: roster needs the columns id and name\n");
}

static void test_roster_rows(void **state)
{
        put("roster.csv",
            "id,name,email,manager,appointed\n"
            "a,A,a@x.example,,2024-01-01\n"
            "b,,b@x,,2024-02-30\n" /* 3 */
            "Bad Id,C,,,\n"        /* 4 */
            "a,A again,,,\n"       /* 5 */
            "p,P,,nobody,\n"       /* 6 */
            "d,D,,,1850-01-01\n",  /* 7 */
            0644);
        expect(HEAD
               "roster = roster.csv\n"
               "[person p]\nname = \"P\"\n" /* 4 */
               "[rule npq]\ntitle = \"NPQ\"\napplies_to = all\nanchor = appointed\nwithin = 3y\n",
               "roster.csv:3: key 'email': 'b@x' is not a valid email address\n"
               "roster.csv:3: key 'appointed': 2024-02-30 does not exist\n"
               "roster.csv:3: person 'b' needs a name\n"
               "roster.csv:4: invalid person id 'Bad Id' (use a-z, 0-9, '.', '_' or '-', at most "
               "64 characters)\n"
               "roster.csv:5: duplicate person id 'a' (first at roster.csv:2)\n"
               "roster.csv:6: duplicate person id 'p' (first at main.conf:4)\n"
               "roster.csv:7: key 'appointed': year must be between 1900 and 2199\n");
}

static void test_roster_manager_loop_and_csv_errors(void **state)
{
        put("roster.csv", "id,name,manager\nx,X,y\ny,Y,x\nz,Z,q\n", 0644);
        expect(HEAD "roster = roster.csv\n",
               "roster.csv:2: key 'manager': manager loop: x -> y -> x\n"
               "roster.csv:4: key 'manager': no person 'q'\n");
        put("roster.csv", "id,name\nx,X\ny,Y,extra\n", 0644);
        expect(HEAD "roster = roster.csv\n", "roster.csv:3: row has 3 fields; the header has 2\n");
        expect(HEAD "roster = missing.csv\n",
               "main.conf:3: key 'roster': cannot read missing.csv: No such file or directory\n");
}

static void test_roster_too_big(void **state)
{
        int fd = open("big.csv", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, (off_t)ROSTER_MAX_BYTES + 1), 0); /* sparse */
        close(fd);
        expect(HEAD "roster = big.csv\n",
               "main.conf:3: roster is 536870913 bytes; the limit is 536870912\n");
        fd = open("big.conf", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        assert_int_equal(ftruncate(fd, (4 << 20) + 1), 0);
        close(fd);
        struct diags d = {0};
        struct model *m = NULL;
        assert_int_equal(config_load("big.conf", &m, &d), -EINVAL);
        char *got = render(&d);
        assert_string_equal(got, "big.conf: file is 4194305 bytes; the limit is 4194304\n");
        free(got);
        diag_free(&d);
}

/* Ids, roles, orgs and field names fold to lowercase, as iniparser does to sections. */
static void test_case_folding(void **state)
{
        put("roster.csv",
            "ID,Name,Role,Org,Manager,Appointed\nT0012,Ann,SENCO,Oak,HEAD,2024-01-01\n", 0644);
        put("main.conf",
            HEAD "roster = roster.csv\n"
                 "[Person Head]\nname = \"Head\"\nrole = Head\n"
                 "[webhook Team]\nurl = \"https://h.example/\"\n"
                 "[rule r]\ntitle = \"R\"\nanchor = Appointed\nwithin = 1y\n"
                 "applies_to = ROLE:Senco org:OAK person:t0012\n"
                 "notify = webhook:TEAM\n",
            0644);
        struct model *m = load("");
        uint32_t ann = model_person(m, "t0012");
        assert_int_equal(ann, 1);
        assert_int_equal(m->people[ann].manager, model_person(m, "head"));
        assert_string_equal(m->roles[m->people[ann].roles[0]], "senco");
        assert_string_equal(m->orgs[m->people[ann].org], "oak");
        assert_string_equal(m->fields[m->rules[0].anchor_field], "appointed");
        assert_int_equal(m->rules[0].applies_to.n, 3);
        assert_int_equal(m->rules[0].applies_to.terms[0].ref, m->people[ann].roles[0]);
        assert_int_equal(m->rules[0].applies_to.terms[2].ref, ann);
        assert_int_equal(m->rules[0].remind.notify[0].webhook, 0);
        assert_true(m->people[ann].dates[0] != DATE_NONE);
        model_free(m);
}

static void test_smtp_auth(void **state)
{
        put("pw", "hunter2\n", 0600);
        put("main.conf",
            HEAD "[smtp]\nurl = \"smtp://m.example:587\"\nfrom = a@b.example\n"
                 "username = deadlines\npassword_file = pw\n",
            0644);
        struct model *m = load("");
        assert_string_equal(m->smtp.username, "deadlines");
        assert_string_equal(m->smtp.password, "hunter2");
        assert_string_equal(m->smtp.password_file, "pw");
        assert_int_equal(m->smtp.tls, TLS_STARTTLS);
        model_free(m);
        expect(HEAD
               "[smtp]\nurl = \"smtp://m.example:587\"\nfrom = a@b.example\npassword_file = pw\n",
               "main.conf:6: key 'password_file': a password needs a 'username'\n");
}

/* ---- files ------------------------------------------------------------------------ */

static void test_dropins_in_order(void **state)
{
        put("conf.d/20-b.conf", "[commitment b]\ntitle = \"B\"\ndue = 2030\n", 0644);
        put("conf.d/10-a.conf", "[commitment a]\ntitle = \"A\"\ndue = 2029\n", 0644);
        put("conf.d/30-c.conf.disabled", "[bogus]\n", 0644);
        put("conf.d/.hidden.conf", "[bogus]\n", 0644);
        put("conf.d/Z.conf", "[commitment z]\ntitle = \"Z\"\ndue = 2031\n", 0644);
        put("main.conf", HEAD "include = conf.d\n[commitment m]\ntitle = \"M\"\ndue = 2028\n",
            0644);
        struct model *m = load("");
        assert_int_equal(m->ncommitments, 4);
        assert_string_equal(m->commitments[0].id, "m");
        assert_string_equal(m->commitments[1].id, "a");
        assert_string_equal(m->commitments[2].id, "b");
        assert_string_equal(m->commitments[3].id, "z");
        assert_int_equal(m->nfiles, 4);
        assert_string_equal(m->files[1], "conf.d/10-a.conf");
        assert_string_equal(m->files[2], "conf.d/20-b.conf");
        assert_string_equal(m->files[3], "conf.d/Z.conf");
        assert_string_equal(m->commitments[3].file, "conf.d/Z.conf");
        model_free(m);
        expect(HEAD "include = nowhere\n",
               "main.conf:3: key 'include': cannot open directory nowhere: No such file or "
               "directory\n");
}

static void test_relative_paths(void **state)
{
        put("etc/conf.d/hook.conf",
            "[deadlined]\nroster = ../people/roster.csv\n"
            "[webhook w]\nurl = \"https://h.example/\"\nsecret_file = w.secret\n",
            0644);
        put("etc/people/roster.csv", "id,name\nann,Ann\n", 0644);
        put("etc/conf.d/w.secret", "s3cret \n\n", 0600);
        put("etc/main.conf", HEAD "include = conf.d\nstate_dir = var\n", 0644);
        struct diags d = {0};
        struct model *m = NULL;
        assert_int_equal(config_load("etc/main.conf", &m, &d), 0);
        assert_int_equal(d.n, 0);
        assert_string_equal(m->set.state_dir, "etc/var");
        assert_string_equal(m->files[2], "etc/conf.d/../people/roster.csv");
        assert_int_equal(m->npeople, 1);
        assert_string_equal(m->webhooks[0].secret_file, "etc/conf.d/w.secret");
        assert_string_equal(m->webhooks[0].secret, "s3cret");
        assert_int_equal(m->webhooks[0].secret_len, 6);
        char *s = config_summary(m);
        assert_string_equal(s, "1 person, 0 rules, 0 commitments, 0 feeds, 1 webhook, mail to the "
                               "outbox; 3 files, time zone UTC");
        free(s);
        model_free(m);
        diag_free(&d);
}

static void test_secret_modes(void **state)
{
        const char *conf = HEAD "[feed f]\nselect = all\ntoken_file = f.token\n";

        put("f.token", "0123456789abcdefghijklmnopqrstuv\n", 0644);
        expect(conf,
               "main.conf:5: key 'token_file': f.token is readable by others; chmod 600 it\n");
        put("f.token", "0123456789abcdefghijklmnopqrstuv\n", 0600);
        put("main.conf", conf, 0644);
        struct model *m = load("");
        assert_string_equal(m->feeds[0].token, "0123456789abcdefghijklmnopqrstuv");
        assert_string_equal(m->feeds[0].token_file, "f.token");
        assert_false(m->feeds[0].public);
        model_free(m);
        put("f.token", "short\n", 0600);
        expect(conf, "main.conf:5: key 'token_file': token is too short (need at least 128 bits, "
                     "e.g. from 'deadlined token')\n");
        unlink("f.token");
        expect(conf, "main.conf:5: key 'token_file': cannot read f.token: No such file or "
                     "directory\n");
        expect(HEAD "[feed f]\nselect = all\npublic = yes\ntoken_file = f.token\n",
               "main.conf:6: key 'token_file': a public feed has no token\n");
        put("pw", "hunter2\n", 0640);
        expect(HEAD "[smtp]\nurl = \"smtps://m.example\"\nfrom = a@b.example\nusername = u\n"
                    "password_file = pw\n",
               "main.conf:7: key 'password_file': pw is readable by others; chmod 600 it\n");
}

static void test_errors_sorted_across_files(void **state)
{
        put("conf.d/a.conf", "[person z]\nname = \"Z\"\nemail = nope\n", 0644);
        put("roster.csv", "id,name,email\nq,Q,bad\n", 0644);
        expect(HEAD "include = conf.d\nroster = roster.csv\n"
                    "[rule r]\ntitle = \"R\"\napplies_to = person:ghost\nanchor = a\n" /* 5-8 */
                    "[person y]\nname = \"Y\"\nmanager = z2\n",                        /* 9-11 */
               "main.conf:5: [rule r] needs 'within' or 'not_after'\n"
               "main.conf:7: key 'applies_to': no person named 'ghost'\n"
               "main.conf:11: key 'manager': no person 'z2'\n"
               "conf.d/a.conf:3: key 'email': 'nope' is not a valid email address\n"
               "roster.csv:2: key 'email': 'bad' is not a valid email address\n");
}

static void test_prescan_errors_and_missing_file(void **state)
{
        put("conf.d/bad.conf", "[person a\n", 0644);
        put("conf.d/good.conf", "[person b]\nname = \"B\"\nmanager = a\n", 0644);
        expect(HEAD "include = conf.d\nnonsense\n",
               "main.conf:4: expected '[section]', 'key = value' or a comment\n");
        expect(HEAD "include = conf.d\n", "conf.d/bad.conf:1: unterminated section header\n"
                                          "conf.d/good.conf:3: key 'manager': no person 'a'\n");
        struct diags d = {0};
        struct model *m = (struct model *)&d;
        assert_int_equal(config_load("absent.conf", &m, &d), -EINVAL);
        assert_null(m);
        char *got = render(&d);
        assert_string_equal(got, "absent.conf: cannot read: No such file or directory\n");
        free(got);
        diag_free(&d);
}

/* Empty and punctuated addresses: an address is never guessed at. */
static void test_email_edges(void **state)
{
        expect(HEAD "[person a]\nname = \"A\"\nemail =\n"                               /* 5 */
                    "[person b]\nname = \"B\"\nemail = \"\"\n"                          /* 8 */
                    "[person c]\nname = \"C\"\nemail = c>d@x.example\n"                 /* 11 */
                    "[person d]\nname = \"D\"\nemail = \"d@x.example, e@x.example\"\n"  /* 14 */
                    "[person e]\nname = \"E\"\nemail = <e@x.example>\n"                 /* 17 */
                    "[commitment c]\ntitle = \"C\"\ndue = 2030\nnotify = \"email:\"\n", /* 21 */
               "main.conf:5: key 'email': empty address (leave the key out)\n"
               "main.conf:8: key 'email': empty address (leave the key out)\n"
               "main.conf:11: key 'email': 'c>d@x.example' is not a valid email address\n"
               "main.conf:14: key 'email': 'd@x.example, e@x.example' is not a valid email "
               "address\n"
               "main.conf:17: key 'email': '<e@x.example>' is not a valid email address\n"
               "main.conf:21: key 'notify': '' is not a valid email address\n");
}

/* ---- delivery settings ------------------------------------------------------------ */

static void test_delivery_spans(void **state)
{
        put("main.conf",
            HEAD "retry_min = 90s\nretry_max = 1h30min\nretry_give_up = 2d12h\n"
                 "send_timeout = 10min\n",
            0644);
        struct model *m = load("");
        assert_int_equal(m->set.retry_min, 90);
        assert_int_equal(m->set.retry_max, 5400);
        assert_int_equal(m->set.retry_give_up, 216000);
        assert_int_equal(m->set.send_timeout, 600);
        model_free(m);
        /* The edges: equal bounds, 1s, and the longest span; keys split over a drop-in. */
        put("conf.d/retry.conf", "[deadlined]\nretry_max = 1s\nretry_give_up = 366d\n", 0644);
        put("main.conf", HEAD "include = conf.d\nretry_min = 1s\nsend_timeout = 1s\n", 0644);
        m = load("");
        assert_int_equal(m->set.retry_min, 1);
        assert_int_equal(m->set.retry_max, 1);
        assert_int_equal(m->set.retry_give_up, 366 * 86400);
        assert_int_equal(m->set.send_timeout, 1);
        model_free(m);
}

static void test_delivery_span_syntax(void **state)
{
        expect(HEAD "retry_min = 5m\n"         /* 3 */
                    "retry_max = 1h5m\n"       /* 4 */
                    "retry_give_up = 2 days\n" /* 5 */
                    "send_timeout = 0s\n",     /* 6 */
               "main.conf:3: key 'retry_min': \"5m\" is not a time span (try 5min, 1h or 30s; m "
               "means months)\n"
               "main.conf:4: key 'retry_max': \"1h5m\" is not a time span (try 1h5min, 1h or 30s; "
               "m means months)\n"
               "main.conf:5: key 'retry_give_up': \"2 days\" is not a time span (try 5min, 1h30min "
               "or 30s)\n"
               "main.conf:6: key 'send_timeout': \"0s\" is not a positive time span\n");
        put("conf.d/t.conf", "[deadlined]\nsend_timeout = 1min\n", 0644);
        expect(
            HEAD "include = conf.d\n"
                 "retry_min = 30min1h\n"  /* 4: units out of order */
                 "retry_max = 366d1s\n"   /* 5 */
                 "retry_give_up = 300\n"  /* 6: no unit */
                 "send_timeout = 5MIN\n", /* 7 */
            "main.conf:4: key 'retry_min': \"30min1h\" is not a time span (try 5min, 1h30min or "
            "30s)\n"
            "main.conf:5: key 'retry_max': \"366d1s\" is too long (at most 366d)\n"
            "main.conf:6: key 'retry_give_up': \"300\" is not a time span (try 5min, 1h30min or "
            "30s)\n"
            "main.conf:7: key 'send_timeout': \"5MIN\" is not a time span (try 5min, 1h30min or "
            "30s)\n"
            "conf.d/t.conf:2: key 'send_timeout' is already set in [deadlined] at main.conf:7\n");
}

static void test_delivery_span_bounds(void **state)
{
        expect(HEAD "send_timeout = 10min1s\n",
               "main.conf:3: key 'send_timeout': 10min1s is out of range (1s to 10min)\n");
        expect(HEAD "retry_min = 10min\nretry_max = 5min\nretry_give_up = 1min\n",
               "main.conf:4: key 'retry_max': 5min is less than retry_min (10min)\n"
               "main.conf:5: key 'retry_give_up': 1min is less than retry_min (10min)\n");
        expect(HEAD "retry_min = 2h\n",
               "main.conf:3: key 'retry_min': 2h is more than retry_max (1h, the default)\n");
        expect(HEAD "retry_max = 1min\n",
               "main.conf:3: key 'retry_max': 1min is less than retry_min (5min, the default)\n");
        expect(HEAD "retry_min = 6d\nretry_max = 7d\n",
               "main.conf:3: key 'retry_min': 6d is more than retry_give_up (5d, the default)\n");
}

/* ---- systemd credentials --------------------------------------------------------- */

static const char cred_conf[] = HEAD "[feed f]\nselect = all\ntoken_file = etc/f.token\n" /* 5 */
                                     "[webhook w]\nurl = \"https://h.example/\"\n"
                                     "secret_file = etc/w.secret\n" /* 8 */
                                     "[smtp]\nurl = \"smtps://m.example\"\nfrom = a@b.example\n"
                                     "username = u\n"; /* 12 */

/* The secret files beside the config, and credentials with the same base names
 * in creds/ (modes as given), with $CREDENTIALS_DIRECTORY pointing there. */
static void put_credentials(mode_t token, const char *secret, mode_t secret_mode, mode_t pw)
{
        char dir[PATH_MAX];

        put("etc/f.token", "file-token-0123456789abcdefghij\n", 0600);
        put("etc/w.secret", "from-file\n", 0600);
        put("creds/f.token", "credential-token-0123456789abcdef\n", token);
        put("creds/w.secret", secret, secret_mode);
        put("creds/smtp-password", "pw-from-credential\n", pw);
        put("main.conf", cred_conf, 0644);
        assert_true(snprintf(dir, sizeof(dir), "%s/creds", scratch) < (int)sizeof(dir));
        setenv("CREDENTIALS_DIRECTORY", dir, 1);
}

static const char *cred_path(char *buf, const char *name)
{
        assert_true(snprintf(buf, PATH_MAX, "%s/creds/%s", scratch, name) < PATH_MAX);
        return buf;
}

static void test_credentials(void **state)
{
        char tok[PATH_MAX], pw[PATH_MAX];

        put_credentials(0440, "from-credential\n", 0400, 0400);
        /* Outside systemd: the files, and no SMTP password. */
        unsetenv("CREDENTIALS_DIRECTORY");
        struct model *m = load("");
        assert_string_equal(m->feeds[0].token, "file-token-0123456789abcdefghij");
        assert_string_equal(m->webhooks[0].secret, "from-file");
        assert_null(m->smtp.password);
        model_free(m);

        /* Under systemd: the credentials with the same base names win. */
        put_credentials(0440, "from-credential\n", 0400, 0400);
        m = load("");
        assert_string_equal(m->feeds[0].token, "credential-token-0123456789abcdef");
        assert_string_equal(m->feeds[0].token_file, cred_path(tok, "f.token"));
        assert_string_equal(m->webhooks[0].secret, "from-credential");
        assert_int_equal(m->webhooks[0].secret_len, 15);
        assert_string_equal(m->smtp.password, "pw-from-credential");
        assert_string_equal(m->smtp.password_file, cred_path(pw, "smtp-password"));
        model_free(m);

        /* A missing credential falls back to the file. */
        unlink("creds/w.secret");
        m = load("");
        assert_string_equal(m->webhooks[0].secret, "from-file");
        assert_string_equal(m->webhooks[0].secret_file, "etc/w.secret");
        model_free(m);

        /* An explicit password_file is looked up by its own base name, not smtp-password. */
        put("etc/pw", "pw-from-file\n", 0600);
        put("main.conf",
            HEAD "[smtp]\nurl = \"smtps://m.example\"\nfrom = a@b.example\n"
                 "username = u\npassword_file = etc/pw\n",
            0644);
        m = load("");
        assert_string_equal(m->smtp.password, "pw-from-file");
        model_free(m);
        /* No username: the credential is not used. */
        put("main.conf", HEAD "[smtp]\nurl = \"smtps://m.example\"\nfrom = a@b.example\n", 0644);
        m = load("");
        assert_null(m->smtp.password);
        assert_null(m->smtp.password_file);
        model_free(m);
}

static void test_credential_modes(void **state)
{
        char tok[PATH_MAX], sec[PATH_MAX], pw[PATH_MAX], *want = NULL;

        /* Group read is systemd's business; a bit for others is not. */
        put_credentials(0444, "\n", 0400, 0404);
        assert_true(asprintf(&want,
                             "main.conf:5: key 'token_file': %s is readable by others; chmod o-rwx "
                             "it\n"
                             "main.conf:8: key 'secret_file': %s is empty\n"
                             "main.conf:12: key 'username': %s is readable by others; chmod o-rwx "
                             "it\n",
                             cred_path(tok, "f.token"), cred_path(sec, "w.secret"),
                             cred_path(pw, "smtp-password")) > 0);
        model_free(load(want));
        free(want);
        /* A directory in the way is not a secret. */
        put_credentials(0400, "ok\n", 0400, 0440);
        unlink("creds/f.token");
        mkdir("creds/f.token", 0700);
        assert_true(
            asprintf(&want, "main.conf:5: key 'token_file': %s is not a regular file\n", tok) > 0);
        model_free(load(want));
        free(want);
}

/* Excel writes a byte order mark before the header: accepted. */
static void test_roster_bom(void **state)
{
        put("roster.csv", "\xef\xbb\xbfid,name,email\nann,Ann,ann@oak.example\n", 0644);
        put("main.conf", HEAD "roster = roster.csv\n", 0644);
        struct model *m = load("");
        assert_int_equal(m->npeople, 1);
        assert_string_equal(m->people[0].id, "ann");
        assert_string_equal(m->people[0].name, "Ann");
        assert_string_equal(m->people[0].email, "ann@oak.example");
        assert_int_equal(m->people[0].line, 2);
        model_free(m);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
            cmocka_unit_test_setup_teardown(test_full_model_built, setup, teardown),
            cmocka_unit_test_setup_teardown(test_wired_model, setup, teardown),
            cmocka_unit_test_setup_teardown(test_section_kinds, setup, teardown),
            cmocka_unit_test_setup_teardown(test_unknown_key, setup, teardown),
            cmocka_unit_test_setup_teardown(test_unknown_key_suggests_field, setup, teardown),
            cmocka_unit_test_setup_teardown(test_missing_required, setup, teardown),
            cmocka_unit_test_setup_teardown(test_duplicate_sections_across_files, setup, teardown),
            cmocka_unit_test_setup_teardown(test_dates, setup, teardown),
            cmocka_unit_test_setup_teardown(test_durations, setup, teardown),
            cmocka_unit_test_setup_teardown(test_too_many_leads, setup, teardown),
            cmocka_unit_test_setup_teardown(test_emails, setup, teardown),
            cmocka_unit_test_setup_teardown(test_text_limits, setup, teardown),
            cmocka_unit_test_setup_teardown(test_urls, setup, teardown),
            cmocka_unit_test_setup_teardown(test_smtp_tls, setup, teardown),
            cmocka_unit_test_setup_teardown(test_bools_and_settings, setup, teardown),
            cmocka_unit_test_setup_teardown(test_timezones, setup, teardown),
            cmocka_unit_test_setup_teardown(test_selectors, setup, teardown),
            cmocka_unit_test_setup_teardown(test_role_warning_only, setup, teardown),
            cmocka_unit_test_setup_teardown(test_notify, setup, teardown),
            cmocka_unit_test_setup_teardown(test_rule_fields, setup, teardown),
            cmocka_unit_test_setup_teardown(test_managers, setup, teardown),
            cmocka_unit_test_setup_teardown(test_roster_merge, setup, teardown),
            cmocka_unit_test_setup_teardown(test_roster_errors, setup, teardown),
            cmocka_unit_test_setup_teardown(test_roster_rows, setup, teardown),
            cmocka_unit_test_setup_teardown(test_roster_manager_loop_and_csv_errors, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_roster_too_big, setup, teardown),
            cmocka_unit_test_setup_teardown(test_case_folding, setup, teardown),
            cmocka_unit_test_setup_teardown(test_smtp_auth, setup, teardown),
            cmocka_unit_test_setup_teardown(test_dropins_in_order, setup, teardown),
            cmocka_unit_test_setup_teardown(test_relative_paths, setup, teardown),
            cmocka_unit_test_setup_teardown(test_secret_modes, setup, teardown),
            cmocka_unit_test_setup_teardown(test_errors_sorted_across_files, setup, teardown),
            cmocka_unit_test_setup_teardown(test_prescan_errors_and_missing_file, setup, teardown),
            cmocka_unit_test_setup_teardown(test_email_edges, setup, teardown),
            cmocka_unit_test_setup_teardown(test_delivery_spans, setup, teardown),
            cmocka_unit_test_setup_teardown(test_delivery_span_syntax, setup, teardown),
            cmocka_unit_test_setup_teardown(test_delivery_span_bounds, setup, teardown),
            cmocka_unit_test_setup_teardown(test_credentials, setup, teardown),
            cmocka_unit_test_setup_teardown(test_credential_modes, setup, teardown),
            cmocka_unit_test_setup_teardown(test_roster_bom, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

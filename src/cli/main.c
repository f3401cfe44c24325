/* main.c: the command line. Parses options, loads the model, dispatches. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "deadlined/cli/agenda-print.h"
#include "deadlined/config/config.h"
#include "deadlined/serve/daemon.h"
#include "deadlined/core/deadline.h"
#include "deadlined/serve/feeds.h"
#include "deadlined/deliver/ledger.h"
#include "deadlined/base/log.h"
#include "deadlined/core/schedule.h"
#include "deadlined/cli/history.h"
#include "deadlined/cli/send-test.h"
#include "deadlined/cli/tick.h"
#include "deadlined/core/tz.h"

#define VERSION "0.1"

struct cli {
        const char *config;
        const char *now_arg;
        int verbosity;
};

/* What every model-using command starts from. */
struct ctx {
        struct model *m;
        struct deadlines ds;
        int64_t now;
        dl_day today;
};

static void usage(FILE *f)
{
        fprintf(f,
                "usage: deadlined [-c FILE] [--now TIME] [-v] COMMAND [ARGS]\n"
                "\n"
                "Deadline and commitment reminder daemon: iCalendar feeds, email and webhooks.\n"
                "\n"
                "Commands:\n"
                "  run                         run the daemon in the foreground (systemd Type=notify)\n"
                "  check                       validate the configuration; print a summary or FILE:LINE: errors\n"
                "  agenda [--from D] [--days N] [--json]\n"
                "                              deadlines due, overdue or with reminders in the window\n"
                "                              (default: from today, 30 days)\n"
                "  export [--feed NAME] [-o FILE]\n"
                "                              write a feed's iCalendar bytes (all deadlines without --feed)\n"
                "  tick [--at TIME] [--dry-run]\n"
                "                              one delivery pass as of TIME (default now): send due\n"
                "                              reminders and retries, print one line per message\n"
                "  history [--json] [--deadline ID]\n"
                "                              the reminder ledger, newest first\n"
                "  send-test (--to ADDR | --webhook NAME)\n"
                "                              send one test message through a channel\n"
                "  token                       print a new 256-bit feed token for a token_file\n"
                "\n"
                "Options:\n"
                "  -c, --config FILE   main configuration file (default %s)\n"
                "      --now TIME      pretend it is TIME: YYYY-MM-DD or YYYY-MM-DDTHH:MM, local in the\n"
                "                      configured timezone, or with Z or +HH:MM\n"
                "  -v, --verbose       debug logging\n"
                "  -h, --help          this help\n"
                "  -V, --version       print the version\n"
                "\n"
                "Exit codes: 0 ok, 64 usage, 65 bad data, 69 service unavailable, 70 internal error or\n"
                "damaged ledger, 73 cannot create the output file, 74 write error, 75 try again later\n"
                "(tick: ledger locked or disk full), 78 configuration error.\n",
                CONFIG_DEFAULT_PATH);
}

static int load(const struct cli *cli, struct ctx *c)
{
        struct diags d = {0};
        int r, minute;

        r = config_load(cli->config, &c->m, &d);
        diag_print(&d, stderr);
        diag_free(&d);
        if (r < 0) {
                fprintf(stderr, "%s: configuration has errors\n", cli->config);
                return EX_CONFIG;
        }
        c->now = time(NULL);
        if (cli->now_arg && time_parse_instant(cli->now_arg, c->m->set.tz, &c->now) < 0) {
                fprintf(stderr, "deadlined: --now '%s' is not a time (use YYYY-MM-DD or "
                                "YYYY-MM-DDTHH:MM, optionally with Z or +HH:MM)\n",
                        cli->now_arg);
                return EX_USAGE;
        }
        tz_utc_to_local(c->m->set.tz, c->now, &c->today, &minute);
        r = deadline_derive(c->m, c->today, &c->ds, NULL);
        if (r < 0) {
                log_error_errno(r, "Failed to derive deadlines");
                return EX_SOFTWARE;
        }
        return 0;
}

static void ctx_done(struct ctx *c)
{
        deadlines_free(&c->ds);
        if (c->m)
                model_free(c->m);
}

/* The earliest reminder at or after `after` over all deadlines. */
static bool next_reminder(const struct ctx *c, int64_t after, int64_t *at)
{
        bool found = false;

        for (size_t i = 0; i < c->ds.n; i++) {
                struct reminder r;
                if (schedule_next(c->m, &c->ds.v[i], after, &r) == 0 && (!found || r.at < *at)) {
                        *at = r.at;
                        found = true;
                }
        }
        return found;
}

static int cmd_check(const struct cli *cli, int argc, char **argv)
{
        struct ctx c = {0};
        size_t by_status[ST_DROPPED + 1] = {0};
        int r;

        if (argc > 1) {
                fprintf(stderr, "deadlined: check takes no arguments\n");
                return EX_USAGE;
        }
        r = load(cli, &c);
        if (r) {
                ctx_done(&c);
                return r;
        }
        for (size_t i = 0; i < c.ds.n; i++)
                by_status[c.ds.v[i].status]++;
        _cleanup_free_ char *summary = config_summary(c.m);
        printf("%s: ok: %s; %zu deadline%s (%zu upcoming, %zu overdue, %zu met, %zu late-met, "
               "%zu missed, %zu dropped)",
               cli->config, summary, c.ds.n, c.ds.n == 1 ? "" : "s", by_status[ST_UPCOMING], by_status[ST_OVERDUE],
               by_status[ST_MET], by_status[ST_LATE_MET], by_status[ST_MISSED],
               by_status[ST_DROPPED]);
        int64_t at;
        if (next_reminder(&c, c.now, &at)) {
                char buf[64];
                printf("; next reminder %s", tz_format_local(c.m->set.tz, at, buf, sizeof(buf)));
        }
        printf("\n");
        ctx_done(&c);
        return 0;
}

static int parse_days(const char *s, long *out)
{
        char *end;

        errno = 0;
        long v = strtol(s, &end, 10);
        if (errno || end == s || *end || v < 1 || v > 36600)
                return -EINVAL;
        *out = v;
        return 0;
}

/* Write atomically: a reader of FILE never sees half a feed. */
static int write_output(const char *path, const char *buf, size_t len)
{
        if (!path) {
                if (fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0) {
                        perror("deadlined: write");
                        return EX_IOERR;
                }
                return 0;
        }
        _cleanup_free_ char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
                fprintf(stderr, "deadlined: %s: %s\n", tmp, strerror(errno));
                return EX_CANTCREAT;
        }
        size_t off = 0;
        while (off < len) {
                ssize_t n = write(fd, buf + off, len - off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        break;
                off += (size_t)n;
        }
        if (off != len || fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
                fprintf(stderr, "deadlined: %s: %s\n", path, strerror(errno));
                unlink(tmp);
                return EX_CANTCREAT;
        }
        return 0;
}

static int cmd_agenda(const struct cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                {"from", required_argument, NULL, 'f'},
                {"days", required_argument, NULL, 'd'},
                {"json", no_argument, NULL, 'j'},
                {0},
        };
        const char *from_arg = NULL;
        struct agenda_opts ao = {.days = 30};
        struct ctx c = {0};
        int opt, r;

        optind = 1;
        while ((opt = getopt_long(argc, argv, "f:d:j", opts, NULL)) != -1) {
                if (opt == 'f') {
                        from_arg = optarg;
                } else if (opt == 'd') {
                        if (parse_days(optarg, &ao.days) < 0) {
                                fprintf(stderr, "deadlined: --days '%s': expected 1..36600\n",
                                        optarg);
                                return EX_USAGE;
                        }
                } else if (opt == 'j') {
                        ao.json = true;
                } else {
                        return EX_USAGE;
                }
        }
        if (optind != argc) {
                fprintf(stderr, "deadlined: agenda: unexpected argument '%s'\n", argv[optind]);
                return EX_USAGE;
        }
        r = load(cli, &c);
        if (r)
                goto done;
        ao.today = c.today;
        ao.from = c.today;
        if (from_arg && date_parse_day(from_arg, &ao.from) < 0) {
                fprintf(stderr, "deadlined: --from '%s' is not a date (use YYYY-MM-DD)\n",
                        from_arg);
                r = EX_USAGE;
                goto done;
        }
        r = agenda_print(stdout, c.m, &c.ds, &ao) < 0 ? EX_IOERR : 0;
done:
        ctx_done(&c);
        return r;
}

/* The ledger whose feed history `run` renders with, so export gives the
 * same bytes. It is created like tick creates it; when it cannot be opened
 * (a read-only state directory) export still works, without history. */
static struct ledger *export_history(const struct model *m)
{
        const char *dir = ledger_state_dir(m->set.state_dir);
        struct ledger *l = NULL;
        int r = ledger_open(dir, &l);

        if (r < 0)
                fprintf(stderr,
                        "deadlined: warning: no feed history (ledger in %s: %s); SEQUENCE and "
                        "LAST-MODIFIED may differ from what `run` serves\n",
                        dir, strerror(-r));
        return r < 0 ? NULL : l;
}

static int cmd_export(const struct cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                {"feed", required_argument, NULL, 'f'},
                {"output", required_argument, NULL, 'o'},
                {0},
        };
        const char *feed_name = NULL, *output = NULL;
        struct ctx c = {0};
        struct strbuf out = {0};
        struct ledger *led = NULL;
        int opt, r;

        optind = 1;
        while ((opt = getopt_long(argc, argv, "f:o:", opts, NULL)) != -1) {
                if (opt == 'f')
                        feed_name = optarg;
                else if (opt == 'o')
                        output = optarg;
                else
                        return EX_USAGE;
        }
        if (optind != argc) {
                fprintf(stderr, "deadlined: export: unexpected argument '%s'\n", argv[optind]);
                return EX_USAGE;
        }
        r = load(cli, &c);
        if (r)
                goto done;
        const struct feed *f = NULL;
        if (feed_name) {
                uint32_t i = model_feed(c.m, feed_name);
                if (i == IDX_NONE) {
                        fprintf(stderr, "deadlined: no [feed %s] in the configuration\n", feed_name);
                        r = EX_USAGE;
                        goto done;
                }
                f = &c.m->feeds[i];
        }
        led = export_history(c.m);
        if (feeds_render_one_history(c.m, &c.ds, f, led, c.now, &out) < 0) {
                fprintf(stderr, "deadlined: rendering the feed failed\n");
                r = EX_SOFTWARE;
                goto done;
        }
        r = write_output(output, out.buf, out.len);
done:
        ledger_close(led);
        sb_free(&out);
        ctx_done(&c);
        return r;
}

static int cmd_token(int argc, char **argv)
{
        unsigned char raw[32];
        unsigned char b64[64];

        if (argc > 1) {
                fprintf(stderr, "deadlined: token takes no arguments\n");
                return EX_USAGE;
        }
        if (getrandom(raw, sizeof(raw), 0) != sizeof(raw)) {
                perror("deadlined: getrandom");
                return EX_OSERR;
        }
        int n = EVP_EncodeBlock(b64, raw, sizeof(raw));
        /* base64url without padding: safe in a query string as is. */
        for (int i = 0; i < n; i++) {
                if (b64[i] == '+')
                        b64[i] = '-';
                else if (b64[i] == '/')
                        b64[i] = '_';
                else if (b64[i] == '=')
                        b64[i] = '\0';
        }
        printf("%s\n", (char *)b64);
        return 0;
}

static int cmd_run(const struct cli *cli, int argc, char **argv)
{
        struct daemon_opts o = {.config_path = cli->config, .now = NOW_REAL,
                                .verbosity = cli->verbosity};

        if (argc > 1) {
                fprintf(stderr, "deadlined: run takes no arguments\n");
                return EX_USAGE;
        }
        if (cli->now_arg) {
                /* Local forms of --now mean the configured zone, as for every other
                 * command; only tests pass --now, so loading twice costs nothing real. */
                struct ctx c = {0};
                int r = load(cli, &c);
                o.now = c.now;
                ctx_done(&c);
                if (r)
                        return r;
        }
        return daemon_run(&o);
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                {"config", required_argument, NULL, 'c'},
                {"now", required_argument, NULL, 'n'},
                {"verbose", no_argument, NULL, 'v'},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, 'V'},
                {0},
        };
        struct cli cli = {.config = CONFIG_DEFAULT_PATH};
        int opt;

        /* '+': stop at the command, whose own options come after it. */
        while ((opt = getopt_long(argc, argv, "+c:vhV", opts, NULL)) != -1) {
                switch (opt) {
                case 'c':
                        cli.config = optarg;
                        break;
                case 'n':
                        cli.now_arg = optarg;
                        break;
                case 'v':
                        cli.verbosity++;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                case 'V':
                        printf("deadlined %s\n", VERSION);
                        return 0;
                default:
                        usage(stderr);
                        return EX_USAGE;
                }
        }
        log_init(cli.verbosity);
        if (optind >= argc) {
                usage(stderr);
                return EX_USAGE;
        }
        const char *cmd = argv[optind];
        int cargc = argc - optind;
        char **cargv = argv + optind;
        if (!strcmp(cmd, "check"))
                return cmd_check(&cli, cargc, cargv);
        if (!strcmp(cmd, "agenda"))
                return cmd_agenda(&cli, cargc, cargv);
        if (!strcmp(cmd, "export"))
                return cmd_export(&cli, cargc, cargv);
        if (!strcmp(cmd, "tick"))
                return tick_main(cli.config, cli.now_arg, cargc, cargv);
        if (!strcmp(cmd, "history"))
                return history_main(cli.config, cargc, cargv);
        if (!strcmp(cmd, "send-test"))
                return send_test_main(cli.config, cli.now_arg, cargc, cargv);
        if (!strcmp(cmd, "token"))
                return cmd_token(cargc, cargv);
        if (!strcmp(cmd, "run"))
                return cmd_run(&cli, cargc, cargv);
        if (!strcmp(cmd, "help")) {
                usage(stdout);
                return 0;
        }
        fprintf(stderr, "deadlined: unknown command '%s' (try --help)\n", cmd);
        return EX_USAGE;
}

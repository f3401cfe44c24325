/* tick.h: the delivery commands. Each loads the configuration itself and
 * returns a sysexits exit code. argv[0] is the command name.
 *   tick [--at TIME] [--dry-run]   one pass as of TIME (default: --now, else the clock)
 *   history [--json] [--deadline ID]
 *   send-test (--to ADDR | --webhook NAME) */
#pragma once

int tick_main(const char *config_path, const char *now_arg, int argc, char **argv);
int history_main(const char *config_path, int argc, char **argv);
int send_test_main(const char *config_path, const char *now_arg, int argc, char **argv);

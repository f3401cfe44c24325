/* history.h: `history [--json] [--deadline ID]`, the reminder ledger newest
 * first. Loads the configuration itself; argv[0] is the command name.
 * Returns a sysexits exit code. */
#pragma once

int history_main(const char *config_path, int argc, char **argv);

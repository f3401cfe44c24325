/* tick.h: `tick [--at TIME] [--dry-run]`, one delivery pass as of TIME
 * (default: --now, else the clock). Loads the configuration itself; argv[0]
 * is the command name. Returns a sysexits exit code. */
#pragma once

int tick_main(const char *config_path, const char *now_arg, int argc, char **argv);

/* send-test.h: `send-test (--to ADDR | --webhook NAME)`, one test message
 * through a channel. Loads the configuration itself; argv[0] is the command
 * name. Returns a sysexits exit code. */
#pragma once

int send_test_main(const char *config_path, const char *now_arg, int argc, char **argv);

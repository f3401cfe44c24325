# make bench: deadlined against remind, nginx, wrk and postfix's smtp-source/smtp-sink.
# Not part of `make test`. Included by the root Makefile; see bench/README.md.

# Debian packages the benchmark runs (postfix itself is only downloaded and unpacked).
BENCH_DEB_PKGS := remind nginx wrk time python3
BENCH_POSTFIX := bench/work/postfix/usr/sbin/smtp-sink

.PHONY: bench bench-deps

# The root Makefile's deps recipe (install only what is missing), on our list.
bench-deps:
	@$(MAKE) --no-print-directory deps DEB_PKGS="$(BENCH_DEB_PKGS)"

# smtp-sink and smtp-source from the postfix package, unpacked, never installed.
$(BENCH_POSTFIX):
	rm -rf bench/work/postfix-deb bench/work/postfix
	mkdir -p bench/work/postfix-deb
	cd bench/work/postfix-deb && apt-get download postfix
	dpkg -x bench/work/postfix-deb/postfix_*.deb bench/work/postfix

bench: deps bench-deps
	$(MAKE) --no-print-directory all
	$(MAKE) --no-print-directory $(BENCH_POSTFIX)
	/usr/bin/python3 bench/bench.py --deadlined $(BUILD)/deadlined

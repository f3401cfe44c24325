"""Layering check for src/<layer>/ and include/deadlined/<layer>/ under ROOT.

Usage: layers.py ROOT. Prints one line per violation, "RULE FILE:LINE: what",
where RULE is core-include, core-call or upward-include, and exits 1 if any.
Comments, string and character literals are blanked first (newlines kept, so
line numbers hold)."""
import os
import re
import sys

LAYERS = ("base", "core", "config", "serve", "deliver", "cli")
# Which layers' headers each layer must not include.
FORBIDDEN = {
    "base": ("serve", "deliver", "cli"),
    "core": ("serve", "deliver", "cli"),
    "config": ("serve", "deliver", "cli"),
    "serve": ("cli",),
    "deliver": ("cli",),
}
CORE_QUOTED = re.compile(r'deadlined/core/[\w.-]+\.h|deadlined/base/(util|diag)\.h')
# ISO C17 and POSIX.1-2017 headers.
LIBC = set("""
assert.h complex.h ctype.h errno.h fenv.h float.h inttypes.h iso646.h limits.h
locale.h math.h setjmp.h signal.h stdalign.h stdarg.h stdatomic.h stdbool.h
stddef.h stdint.h stdio.h stdlib.h stdnoreturn.h string.h tgmath.h threads.h
time.h uchar.h wchar.h wctype.h
aio.h arpa/inet.h cpio.h dirent.h dlfcn.h fcntl.h fmtmsg.h fnmatch.h ftw.h
glob.h grp.h iconv.h langinfo.h libgen.h monetary.h mqueue.h ndbm.h net/if.h
netdb.h netinet/in.h netinet/tcp.h nl_types.h poll.h pthread.h pwd.h regex.h
sched.h search.h semaphore.h spawn.h strings.h stropts.h sys/ipc.h sys/mman.h
sys/msg.h sys/resource.h sys/select.h sys/sem.h sys/shm.h sys/socket.h
sys/stat.h sys/statvfs.h sys/time.h sys/times.h sys/types.h sys/uio.h sys/un.h
sys/utsname.h sys/wait.h syslog.h tar.h termios.h trace.h ulimit.h unistd.h
utime.h utmpx.h wordexp.h
""".split())
# Clock, file, socket and process functions the pure core must not call.
CALLS = re.compile(r"""(?<![\w.>])(?:
    time|clock|clock_gettime|gettimeofday|timespec_get|localtime|localtime_r|mktime|tzset|
    open|openat|fopen|fdopen|read|write|pread|pwrite|fread|fwrite|fclose|close|
    stat|fstat|lstat|fstatat|access|unlink|unlinkat|rename|renameat|mkdir|mkdirat|
    opendir|readdir|dup|dup2|pipe|
    socket|connect|bind|listen|accept|accept4|send|sendto|sendmsg|recv|recvfrom|recvmsg|
    fork|vfork|exec\w*|posix_spawn\w*|system|popen|getpid|kill|waitpid|
    sd_\w+|curl_\w+|sqlite3_\w+
    )\s*\(""", re.X)
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)
BLANK = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)


def blank(text):
    """Lines with comments and literals as spaces (newlines kept); the name in
    an #include line is kept."""
    spaces = lambda m: re.sub(r"[^\n]", " ", m.group(0))
    nocomment = BLANK.sub(lambda m: spaces(m) if m.group(0)[0] == "/" else m.group(0), text)
    return [line if INCLUDE.match(line) else BLANK.sub(spaces, line)
            for line in nocomment.split("\n")]


def files(root):
    for layer in LAYERS:
        for d in (os.path.join("src", layer), os.path.join("include", "deadlined", layer)):
            full = os.path.join(root, d)
            if os.path.isdir(full):
                for name in sorted(os.listdir(full)):
                    if name.endswith((".c", ".h")):
                        yield layer, os.path.join(d, name)


def check_file(root, layer, path):
    with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
        lines = blank(f.read())
    for n, line in enumerate(lines, 1):
        m = INCLUDE.match(line)
        if m:
            yield from check_include(layer, path, n, m.group(1), m.group(2))
        elif layer == "core":
            for c in CALLS.finditer(line):
                yield f"core-call {path}:{n}: calls {c.group(0).rstrip('( ')}()"


def check_include(layer, path, n, kind, name):
    shown = f"#include {kind}{name}{'>' if kind == '<' else kind}"
    top = name.split("/")
    if kind == '"' and len(top) > 2 and top[0] == "deadlined" and top[1] in FORBIDDEN.get(layer, ()):
        yield f"upward-include {path}:{n}: {shown} ({layer}/ must not include {top[1]}/ headers)"
    if layer != "core":
        return
    if kind == "<" and not (name in LIBC or name.startswith("libical/")):
        yield f"core-include {path}:{n}: {shown} (not libc, POSIX or libical)"
    if kind == '"' and not CORE_QUOTED.fullmatch(name):
        yield f"core-include {path}:{n}: {shown} (core includes only core/, base/util.h, base/diag.h)"


def main():
    root = sys.argv[1]
    bad = 0
    for layer, path in files(root):
        for v in check_file(root, layer, path):
            print(v)
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

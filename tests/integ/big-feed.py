#!/usr/bin/python3
"""Helpers for big-feed.sh (Debian's /usr/bin/python3, standard library only).

    big-feed.py garbage FILE        overwrite 4 KiB in the middle with garbage
    big-feed.py half FILE           truncate to half its size
    big-feed.py zeros FILE          replace with zeros of the same size
    big-feed.py one-byte FILE       change one letter of one event's SUMMARY in a
                                    feed cache's body; the VEVENT markers, the
                                    header and the spans stay intact
    big-feed.py sequences ICS       print "SEQUENCE UID" for every VEVENT whose
                                    SEQUENCE is not 0, sorted
    big-feed.py events ICS          print the number of VEVENTs
    big-feed.py set-date CSV ID COL DATE   set one roster cell (prints the old value)
"""
import csv
import os
import re
import struct
import sys

HEAD = struct.Struct("=8sIIQQQ")  # cache.c's struct cache_head


def garbage(path):
    size = os.path.getsize(path)
    off = size // 2 - 2048
    # Deterministic bytes that contain neither CR nor LF, so no VEVENT marker survives.
    junk = bytes((i * 131 + 17) % 200 + 40 for i in range(4096))
    with open(path, "r+b") as f:
        f.seek(off)
        f.write(junk)
    print(f"overwrote 4096 bytes at {off} of {size}")


def half(path):
    size = os.path.getsize(path)
    os.truncate(path, size // 2)
    print(f"truncated {size} to {size // 2}")


def zeros(path):
    size = os.path.getsize(path)
    with open(path, "wb") as f:
        f.write(b"\0" * size)
    print(f"{size} zero bytes")


def one_byte(path):
    with open(path, "r+b") as f:
        data = f.read()
        magic, span_size, _pad, _sig, nspans, body_len = HEAD.unpack_from(data)
        assert magic == b"DLFEED01", magic
        body = HEAD.size + nspans * span_size
        assert body + body_len == len(data), (body, body_len, len(data))
        at = data.index(b"\r\nSUMMARY:", body + body_len // 2) + len(b"\r\nSUMMARY:")
        old = data[at:at + 1]
        new = b"X" if old != b"X" else b"Y"
        f.seek(at)
        f.write(new)
    print(f"byte {at} (body offset {at - body}): {old!r} -> {new!r}")


def events(path):
    with open(path, "rb") as f:
        print(f.read().count(b"BEGIN:VEVENT\r\n"))


def sequences(path):
    with open(path, "rb") as f:
        text = f.read().decode("utf-8").replace("\r\n ", "")  # unfold
    out = []
    for ev in text.split("BEGIN:VEVENT\r\n")[1:]:
        uid = re.search(r"^UID:(.*)\r$", ev, re.M).group(1)
        seq = int(re.search(r"^SEQUENCE:(\d+)\r$", ev, re.M).group(1))
        if seq:
            out.append(f"{seq} {uid}")
    print("\n".join(sorted(out)))


def set_date(path, pid, col, date):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    i = rows[0].index(col)
    hit = [r for r in rows[1:] if r[0] == pid]
    assert len(hit) == 1, pid
    print(hit[0][i])
    hit[0][i] = date
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


def main(argv):
    cmd, args = argv[1], argv[2:]
    fn = {"garbage": garbage, "half": half, "zeros": zeros, "one-byte": one_byte,
          "sequences": sequences, "events": events, "set-date": set_date}[cmd]
    fn(*args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

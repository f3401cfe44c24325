"""Checks for fault-outage.sh (Debian's /usr/bin/python3, stdlib only).

  backoff RETRY_MIN RETRY_MAX H1.json H2.json ...
      the ledger after each outage tick: every pending message's delay
      (next_attempt - updated) after attempt k is the backoff of k - 1:
      min(RETRY_MIN * 2^(k-1), RETRY_MAX) minus at most a quarter of jitter;
      delays never shrink before the cap; prints a summary.
  final HISTORY MAILDIR HOOKDIR
      every row sent, one delivery per message, in due order.
"""
import collections
import glob
import json
import sys


def backoff(rmin, rmax, files):
    rmin, rmax = int(rmin), int(rmax)
    seen = collections.defaultdict(dict)  # message_id -> attempts -> delay
    for f in files:
        for r in json.load(open(f)):
            if r["state"] == "pending" and r["attempts"] > 0:
                seen[r["message_id"]][r["attempts"]] = r["next_attempt"] - r["updated"]
    assert seen, "no pending row"
    for mid, by in seen.items():
        ks = sorted(by)
        assert ks == list(range(1, len(ks) + 1)), (mid, ks)  # one attempt per tick
        prev = 0
        for k in ks:
            base = min(rmin * 2 ** (k - 1), rmax)
            d = by[k]
            assert base - base // 4 <= d <= base, (mid, k, d, base)
            if base < rmax:
                assert d >= prev, (mid, k, d, prev)
            prev = d
    n = max(len(v) for v in seen.values())
    first = next(iter(seen.values()))
    print(f"{len(seen)} messages, up to {n} attempts; delays of one: "
          + " ".join(str(first[k]) for k in sorted(first)))


def final(history, maildir, hookdir):
    rows = json.load(open(history))
    assert rows and all(r["state"] == "sent" for r in rows), [r for r in rows if r["state"] != "sent"]
    mids = collections.Counter()
    for p in glob.glob(maildir + "/*.eml"):
        for line in open(p, "rb").read().decode("utf-8", "replace").split("\r\n"):
            if line.lower().startswith("message-id:"):
                mids[line.split(":", 1)[1].strip()] += 1
    for p in glob.glob(hookdir + "/*.json"):
        rec = json.load(open(p))
        mids["hook:" + rec["headers"]["Idempotency-Key"]] += 1
    want = {r["message_id"] for r in rows}
    assert sum(mids.values()) == len(want), (mids, want)
    assert all(v == 1 for v in mids.values()), mids
    # Due order: nothing due later went out in an earlier pass.
    by_fire = sorted(rows, key=lambda r: r["fire_at"])
    sent_at = [r["updated"] for r in by_fire]
    assert sent_at == sorted(sent_at), [(r["key"], r["fire_at"], r["updated"]) for r in by_fire]
    print(f"{len(rows)} reminders in {len(want)} messages, each delivered once")


if __name__ == "__main__":
    {"backoff": lambda a: backoff(a[0], a[1], a[2:]), "final": lambda a: final(*a)}[sys.argv[1]](
        sys.argv[2:])

"""Helpers for the fault-*.sh integration tests (Debian's /usr/bin/python3,
stdlib only).

  roster FILE N            N people p00000.. (role senco, appointed 2020-01-01)
  today                    the local day (Europe/London)
  day DAY N                DAY + N days
  epoch TIME               unix seconds of an ISO 8601 time with an offset
  conf IN OUT K=V...       copy IN to OUT replacing each @K@ by V (the last V)
  metric FILE NAME         the value of one sample in a Prometheus text file
  mails DIR                "N distinct" : messages in DIR and distinct To:
  quarters DAY...          every instant 15 minutes of local time apart across
                           those local days, with explicit offsets (an overlap
                           hour twice, a gap hour not at all)
"""
import datetime as dt
import email
import glob
import re
import sys
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Europe/London")


def roster(path, n):
    with open(path, "w") as f:
        f.write("id,name,email,role,org,manager,appointed\n")
        for i in range(int(n)):
            f.write(f"p{i:05d},Person {i},p{i:05d}@school.test,senco,oak,,2020-01-01\n")


def conf(src, dst, *pairs):
    text = open(src).read()
    values = dict(p.split("=", 1) for p in pairs)  # a later K=V wins
    for k, v in values.items():
        text = text.replace("@" + k + "@", v)
    left = re.findall(r"@[A-Z_]+@", text)
    assert not left, left
    open(dst, "w").write(text)


def metric(path, name):
    for line in open(path):
        if line.startswith(name + " "):
            print(line.split()[1])
            return
    print("absent")


def mails(d):
    tos = []
    for p in glob.glob(d + "/*.eml"):
        tos.append(email.message_from_binary_file(open(p, "rb"))["To"])
    print(len(tos), len(set(tos)))


def quarters(*days):
    utc = dt.timezone.utc
    for day in days:
        start = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(0), TZ).astimezone(utc)
        end = start + dt.timedelta(hours=26)
        t = start
        while t < end:
            local = t.astimezone(TZ)
            if local.date().isoformat() == day:
                print(local.isoformat(timespec="minutes"))
            t += dt.timedelta(minutes=15)


COMMANDS = {
    "roster": roster,
    "today": lambda: print(dt.datetime.now(TZ).date().isoformat()),
    "day": lambda d, n: print((dt.date.fromisoformat(d) + dt.timedelta(days=int(n))).isoformat()),
    "epoch": lambda t: print(int(dt.datetime.fromisoformat(t).timestamp())),
    "conf": conf,
    "metric": metric,
    "quarters": quarters,
    "mails": mails,
}


def main():
    COMMANDS[sys.argv[1]](*sys.argv[2:])


if __name__ == "__main__":
    main()

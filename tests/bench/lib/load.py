"""Load held (issue #18 item 2), against a running MailCloud (tests/bench/load.sh starts ./mailcloud up for it):
concurrent SMTP sessions on the MX, IMAP connections in IDLE, POP3 sessions, and a slow-client flood, each phase with
the server's memory and CPU and a probe client's answer time (an SMTP greeting+EHLO+QUIT and an IMAP NOOP on a logged-in
connection, every 0.5 s, from an address of its own). Prints one table; exits 1 when a probe took 1 s or more or a
phase fell short of its count.

usage: load.py --server-pid P --azurite-pid A --smtp-port .. --imaps-port .. --pop3s-port .. --web-port .. --token T
               [--smtp 1000] [--idle 10000] [--pop3 500] [--slow 200]
"""
import argparse, asyncio, json, os, ssl, statistics, sys, time, urllib.request

p = argparse.ArgumentParser()
for name in ["server-pid", "azurite-pid", "smtp-port", "imaps-port", "pop3s-port", "web-port"]:
    p.add_argument("--" + name, type=int, required=True)
p.add_argument("--token", required=True)
p.add_argument("--smtp", type=int, default=1000)
p.add_argument("--idle", type=int, default=10000)
p.add_argument("--pop3", type=int, default=500)
p.add_argument("--slow", type=int, default=200)
args = p.parse_args()
DOMAIN, PASSWORD = "load.test", "load password 1"
ctx = ssl._create_unverified_context()
TICK = os.sysconf("SC_CLK_TCK")
rows = []
failed = []


def proc_stats(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICK
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return cpu, rss, fds


def api(method, path, body):
    req = urllib.request.Request(f"http://127.0.0.1:{args.web_port}/api{path}", data=json.dumps(body).encode(), method=method,
                                 headers={"Authorization": f"Bearer {args.token}", "Content-Type": "application/json"})
    try:
        urllib.request.urlopen(req, timeout=30).read()
    except urllib.error.HTTPError as e:
        if e.code != 409:
            raise


class Probe:
    """Every 0.5 s: a fresh SMTP session to the greeting and back, and a NOOP on a standing IMAP session."""

    def __init__(self):
        self.samples = []
        self.running = True

    async def smtp_once(self):
        t = time.perf_counter()
        r, w = await asyncio.open_connection("127.0.0.1", args.smtp_port)
        await r.readline()
        w.write(b"EHLO probe.load.test\r\n")
        while not (await r.readline())[3:4] == b" ":
            pass
        w.write(b"QUIT\r\n")
        await r.readline()
        w.close()
        return time.perf_counter() - t

    async def run(self):
        imap = await Imap.login("probe", "127.0.0.1")
        while self.running:
            try:
                s = await asyncio.wait_for(self.smtp_once(), 10)
                t = time.perf_counter()
                await asyncio.wait_for(imap.command(b"NOOP"), 10)
                self.samples.append(max(s, time.perf_counter() - t))
            except (OSError, asyncio.TimeoutError) as e:
                self.samples.append(10.0)
            await asyncio.sleep(0.5)

    def take(self):
        s, self.samples = self.samples, []
        return s


class Imap:
    def __init__(self, r, w):
        self.r, self.w, self.n = r, w, 0

    @staticmethod
    async def login(user, local_addr):
        r, w = await asyncio.open_connection("127.0.0.1", args.imaps_port, ssl=ctx, local_addr=(local_addr, 0))
        await r.readline()
        m = Imap(r, w)
        await m.command(f'LOGIN {user}@{DOMAIN} "{PASSWORD}"'.encode())
        return m

    async def command(self, text):
        self.n += 1
        tag = b"a%d" % self.n
        self.w.write(tag + b" " + text + b"\r\n")
        while True:
            line = await self.r.readline()
            if not line:
                raise OSError("connection closed")
            if line.startswith(tag + b" "):
                if not line.startswith(tag + b" OK"):
                    raise OSError(line.decode(errors="replace").strip())
                return


async def phase(name, probe, work):
    c0, _, _ = proc_stats(args.server_pid)
    a0, _, _ = proc_stats(args.azurite_pid)
    t0 = time.perf_counter()
    probe.take()
    detail, peak = await work()
    elapsed = time.perf_counter() - t0
    c1, rss, fds = proc_stats(args.server_pid)
    a1, arss, _ = proc_stats(args.azurite_pid)
    samples = probe.take() or [0]
    worst = max(samples)
    rows.append((name, detail, f"{elapsed:.1f}", f"{peak[0]:.0f}", f"{peak[1]}", f"{c1 - c0:.1f}", f"{a1 - a0:.1f}",
                 f"{statistics.median(samples) * 1000:.0f} / {worst * 1000:.0f}"))
    if worst >= 1.0:
        failed.append(f"{name}: the probe took {worst:.2f} s")


class Peak:
    def __init__(self):
        self.rss = 0
        self.fds = 0

    async def watch(self, stop):
        while not stop.is_set():
            _, rss, fds = proc_stats(args.server_pid)
            self.rss, self.fds = max(self.rss, rss), max(self.fds, fds)
            await asyncio.sleep(0.5)


async def with_peak(fn):
    peak, stop = Peak(), asyncio.Event()
    watcher = asyncio.create_task(peak.watch(stop))
    detail = await fn()
    stop.set()
    await watcher
    return detail, (peak.rss, peak.fds)


def addr(i, block):
    return f"127.{block}.{i // 250}.{i % 250 + 1}"


async def all_at_once(count, one, ready, gate, ready_timeout):
    """Starts count sessions, waits until every one has released ready (connected / logged in), then opens the gate
    so they go on together; returns the exceptions the sessions ended with."""
    tasks = [asyncio.create_task(one(i)) for i in range(count)]
    for _ in range(count):
        await asyncio.wait_for(ready.acquire(), ready_timeout)
    gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    return [r for r in results if isinstance(r, Exception)]


async def smtp(r, w, text, timeout=120):
    """Sends one SMTP command (or message data) and returns the last line of its (possibly multi-line) reply."""
    w.write(text)
    while True:
        line = await asyncio.wait_for(r.readline(), timeout)
        if line[3:4] != b"-":
            return line


async def smtp_phase():
    """N sessions open at once: all greeted before any sends, then each delivers a 2 KiB message."""
    greeted, accepted = 0, 0
    gate = asyncio.Event()
    ready = asyncio.Semaphore(0)

    async def one(i):
        nonlocal greeted, accepted
        r, w = await asyncio.open_connection("127.0.0.1", args.smtp_port, local_addr=(addr(i, 10), 0))
        line = await asyncio.wait_for(r.readline(), 60)
        if line.startswith(b"220"):
            greeted += 1
        ready.release()
        await gate.wait()
        await smtp(r, w, b"EHLO c%d.load.test\r\n" % i)
        await smtp(r, w, b"MAIL FROM:<s%d@client.load>\r\n" % i)
        await smtp(r, w, f"RCPT TO:<u0@{DOMAIN}>\r\n".encode())
        await smtp(r, w, b"DATA\r\n")
        reply = await smtp(r, w, b"Subject: load %d\r\n\r\n" % i + b"x" * 2000 + b"\r\n.\r\n")
        if reply.startswith(b"250"):
            accepted += 1
        await smtp(r, w, b"QUIT\r\n")
        w.close()

    async def run():
        errors = await all_at_once(args.smtp, one, ready, gate, 120)
        if accepted < args.smtp:
            failed.append(f"smtp: {accepted} of {args.smtp} accepted ({len(errors)} errors, e.g. {errors[:1]})")
        return f"{greeted} greeted at once, {accepted} accepted"
    return await with_peak(run)


async def idle_phase():
    """N IMAP connections logged in and in IDLE at the same time; then one delivery, and how many saw EXISTS."""
    sessions = []
    gate = asyncio.Semaphore(100)  # connect (TLS + LOGIN) 100 at a time

    async def one(i):
        async with gate:
            m = await Imap.login(f"u{i % 100}", addr(i, 20))
            await m.command(b"SELECT INBOX")
            m.w.write(b"i IDLE\r\n")
            line = await asyncio.wait_for(m.r.readline(), 60)
            if not line.startswith(b"+"):
                raise OSError(line)
            sessions.append(m)

    async def run():
        results = await asyncio.gather(*(one(i) for i in range(args.idle)), return_exceptions=True)
        errors = [r for r in results if isinstance(r, Exception)]
        idle = len(sessions)
        _, rss, fds = proc_stats(args.server_pid)
        # One message to each of the 100 users: every session on that user's INBOX should hear of it.
        seen = 0
        t0 = time.perf_counter()
        r, w = await asyncio.open_connection("127.0.0.1", args.smtp_port)
        await r.readline()
        await smtp(r, w, b"EHLO push.load.test\r\n")
        await smtp(r, w, b"MAIL FROM:<push@client.load>\r\n")
        for u in range(100):
            await smtp(r, w, f"RCPT TO:<u{u}@{DOMAIN}>\r\n".encode())
        await smtp(r, w, b"DATA\r\n")
        await smtp(r, w, b"Subject: wake up\r\n\r\nnew mail\r\n.\r\n")
        await smtp(r, w, b"QUIT\r\n")
        w.close()
        latencies = []

        async def wait_exists(m):
            nonlocal seen
            try:
                while True:
                    line = await asyncio.wait_for(m.r.readline(), 30)
                    if line.endswith(b"EXISTS\r\n"):
                        seen += 1
                        latencies.append(time.perf_counter() - t0)
                        return
            except (asyncio.TimeoutError, OSError):
                return
        await asyncio.gather(*(wait_exists(m) for m in sessions))
        for m in sessions:
            m.w.close()
        if idle < args.idle:
            failed.append(f"idle: {idle} of {args.idle} in IDLE ({len(errors)} errors, e.g. {errors[:1]})")
        lat = sorted(latencies) or [0]
        return (f"{idle} in IDLE at once ({rss:.0f} MiB, {rss * 1024 / max(idle, 1):.0f} KiB each); EXISTS reached {seen} "
                f"(p50 {lat[len(lat) // 2] * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms)")
    return await with_peak(run)


async def pop3_phase():
    """N POP3 sessions (distinct users: one session per maildrop) logged in at once, each STAT and RETR 1."""
    held = 0
    gate = asyncio.Event()
    ready = asyncio.Semaphore(0)
    connect = asyncio.Semaphore(100)

    async def one(i):
        nonlocal held
        async with connect:
            r, w = await asyncio.open_connection("127.0.0.1", args.pop3s_port, ssl=ctx, local_addr=(addr(i, 30), 0))
            await r.readline()
            for c in [f"USER p{i}@{DOMAIN}", f"PASS {PASSWORD}"]:
                w.write(c.encode() + b"\r\n")
                line = await r.readline()
                if not line.startswith(b"+OK"):
                    ready.release()
                    raise OSError(line)
        held += 1
        ready.release()
        await gate.wait()
        w.write(b"STAT\r\n")
        await r.readline()
        w.write(b"RETR 1\r\n")
        if (await r.readline()).startswith(b"+OK"):
            while await r.readline() != b".\r\n":
                pass
        w.write(b"QUIT\r\n")
        await r.readline()
        w.close()

    async def run():
        errors = await all_at_once(args.pop3, one, ready, gate, 300)
        if held < args.pop3:
            failed.append(f"pop3: {held} of {args.pop3} logged in ({errors[:1]})")
        return f"{held} logged in at once, then STAT + RETR 1 each"
    return await with_peak(run)


async def slow_phase():
    """Connections from one address that send a byte every 10 s (as far as its limit lets them); others still served."""
    opened, refused = 0, 0
    writers = []

    async def one(i):
        nonlocal opened, refused
        try:
            r, w = await asyncio.open_connection("127.0.0.1", args.smtp_port, local_addr=("127.40.0.1", 0))
            line = await asyncio.wait_for(r.readline(), 30)
            if line.startswith(b"220"):
                opened += 1
                writers.append(w)
            else:
                refused += 1
                w.close()
        except (OSError, asyncio.TimeoutError):
            refused += 1

    async def run():
        await asyncio.gather(*(one(i) for i in range(args.slow)))
        # Others keep being served while the slow ones dribble: 20 normal sessions from other addresses.
        others = 0
        for rounds in range(3):
            for w in writers:
                try:
                    w.write(b"N")
                except OSError:
                    pass
            for i in range(20 // 3 + 1):
                try:
                    r, w2 = await asyncio.open_connection("127.0.0.1", args.smtp_port, local_addr=(addr(i, 41), 0))
                    if (await asyncio.wait_for(r.readline(), 5)).startswith(b"220"):
                        others += 1
                    w2.write(b"QUIT\r\n")
                    w2.close()
                except (OSError, asyncio.TimeoutError):
                    pass
            await asyncio.sleep(10)
        for w in writers:
            w.close()
        if others < 21:
            failed.append(f"slow: only {others} of 21 other clients were greeted")
        return f"{opened} slow connections held from one address, {refused} refused there; {others}/21 others greeted"
    return await with_peak(run)


async def main():
    print("provisioning 100 IMAP users and the POP3 users ...", flush=True)
    api("POST", "/domains", {"name": DOMAIN})
    users = ["probe"] + [f"u{i}" for i in range(100)] + [f"p{i}" for i in range(args.pop3)]
    loop = asyncio.get_running_loop()
    sem = asyncio.Semaphore(8)

    async def add(u):
        async with sem:
            await loop.run_in_executor(None, api, "POST", "/users", {"address": f"{u}@{DOMAIN}", "password": PASSWORD})
    await asyncio.gather(*(add(u) for u in users))
    probe = Probe()
    probe_task = asyncio.create_task(probe.run())
    print(f"SMTP: {args.smtp} concurrent sessions ...", flush=True)
    await phase(f"SMTP MX, {args.smtp} concurrent sessions", probe, smtp_phase)
    print(f"IMAP: {args.idle} connections in IDLE ...", flush=True)
    await phase(f"IMAP, {args.idle} connections in IDLE", probe, idle_phase)
    print("POP3: delivering one message to each POP3 user ...", flush=True)
    r, w = await asyncio.open_connection("127.0.0.1", args.smtp_port)
    await r.readline()
    for batch in range(0, args.pop3, 100):
        for c in [b"EHLO pop.load.test\r\n", b"MAIL FROM:<pop@client.load>\r\n"] + [f"RCPT TO:<p{i}@{DOMAIN}>\r\n".encode() for i in range(batch, min(batch + 100, args.pop3))] + [b"DATA\r\n", b"Subject: for pop\r\n\r\n" + b"y" * 4000 + b"\r\n.\r\n", b"RSET\r\n"]:
            await smtp(r, w, c)
    w.close()
    await asyncio.sleep(10)  # let the pipeline index them
    print(f"POP3: {args.pop3} sessions ...", flush=True)
    await phase(f"POP3, {args.pop3} concurrent sessions", probe, pop3_phase)
    print(f"slow clients: {args.slow} connections dribbling a byte every 10 s ...", flush=True)
    await phase(f"SMTP slow-client flood, {args.slow} connections", probe, slow_phase)
    probe.running = False
    await probe_task
    print()
    print("| phase | outcome | seconds | server peak RSS MiB | server peak fds | server CPU s | Azurite CPU s | probe p50 / max ms |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    for f in failed:
        print("FAILED:", f)
    return 1 if failed else 0


sys.exit(asyncio.run(main()))

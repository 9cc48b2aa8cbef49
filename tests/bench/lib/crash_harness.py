"""Fault-injection harness (issue #18 item 1): mail in through SMTP MX and submission while the front end and the
functions are SIGKILLed at random moments and Azurite is stopped and started; afterwards every message that got a 250
must be in each of its mailboxes exactly once and at each remote recipient, bounced once where the peer refused.

Run by tests/bench/crash-harness.sh (which builds and starts nothing itself but this); run with Debian's python3 (it
has aiosmtpd, the remote peer). Prints the counts; exits 1 when something was lost, duplicated locally, corrupted or
left in a poison queue.

usage: crash_harness.py --repo R --work W --frontend-dll F --messages N [--seed S] [--kill-interval A,B]
"""
import argparse, asyncio, hashlib, imaplib, json, os, random, re, signal, smtplib, socket, ssl, subprocess, sys, threading, time
from aiosmtpd.controller import Controller

p = argparse.ArgumentParser()
p.add_argument("--repo", required=True)
p.add_argument("--work", required=True)
p.add_argument("--frontend-dll", required=True)
p.add_argument("--messages", type=int, default=1000)
p.add_argument("--clients", type=int, default=6)
p.add_argument("--seed", type=int, default=1)
p.add_argument("--kill-interval", default="2,6", help="seconds between faults: min,max")
p.add_argument("--max-size", type=int, default=1024 * 1024)
p.add_argument("--drain-timeout", type=int, default=900)
args = p.parse_args()
rng = random.Random(args.seed)
work = args.work
os.makedirs(work, exist_ok=True)
DOMAIN, REMOTE = "harness.test", "remote.test"
PASSWORD = "harness password 1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_port(host="127.0.0.1"):
    s = socket.socket()
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, host="127.0.0.1", timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.2)
    return False


# ---- ports, storage, DNS --------------------------------------------------------------------------------------
blob = free_port(); queue = free_port(); table = free_port()
ports = {k: free_port() for k in ["SMTP", "SUBMISSION", "SUBMISSIONS", "IMAP", "IMAPS", "POP3", "POP3S", "WEB", "WEBS"]}
dns_port = free_port()
SINK_HOST, sink_port = "127.0.0.9", free_port("127.0.0.9")
storage = (f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={ACCOUNT_KEY};"
           f"BlobEndpoint=http://127.0.0.1:{blob}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{queue}/devstoreaccount1;"
           f"TableEndpoint=http://127.0.0.1:{table}/devstoreaccount1")
env = dict(os.environ, MAILCLOUD_STORAGE=storage, MAILCLOUD_HOSTNAME="mx.harness.test", MAILCLOUD_BIND="127.0.0.1",
           MAILCLOUD_DNS_SERVERS=f"127.0.0.1:{dns_port}", MAILCLOUD_SMTP_REMOTE_PORT=str(sink_port),
           MAILCLOUD_RETRY_SCHEDULE="3s,5s,10s", MAILCLOUD_TLS_CERT=os.path.join(work, "server.pfx"),
           MAILCLOUD_SMTP_TRUSTED_NETWORKS="127.0.0.0/8", MAILCLOUD_MAX_CONNECTIONS_PER_ADDRESS="1000",
           MAILCLOUD_AUTH_MAX_FAILURES="1000", MAILCLOUD_REPO=args.repo,
           # A killed worker's items reappear after the lease: 30 s instead of 5 min so a run drains in minutes.
           MAILCLOUD_QUEUE_LEASE="30s",
           **{f"MAILCLOUD_{k}_PORT": str(v) for k, v in ports.items()})
subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{work}/key.pem", "-out", f"{work}/cert.pem",
                "-days", "2", "-subj", "/CN=mx.harness.test"], check=True, capture_output=True)
subprocess.run(["openssl", "pkcs12", "-export", "-in", f"{work}/cert.pem", "-inkey", f"{work}/key.pem", "-out", f"{work}/server.pfx", "-passout", "pass:"],
               check=True, capture_output=True)

children = []


class Child:
    """A process the harness starts, kills and restarts."""

    def __init__(self, name, argv, ready_port=None, ready_line=None):
        self.name, self.argv, self.ready_port, self.ready_line = name, argv, ready_port, ready_line
        self.proc = None
        self.kills = 0
        self.out = open(os.path.join(work, f"{name}.log"), "ab")
        children.append(self)

    def start(self):
        path = os.path.join(work, f"{self.name}.log")
        seen = self._ready_lines(path)
        self.proc = subprocess.Popen(self.argv, env=env, stdout=self.out, stderr=subprocess.STDOUT, cwd=args.repo)
        if self.ready_port and not wait_port(self.ready_port, timeout=120):
            raise SystemExit(f"{self.name} did not start; see {path}")
        end = time.time() + 120
        while self.ready_line and self._ready_lines(path) <= seen:
            if time.time() > end or self.proc.poll() is not None:
                raise SystemExit(f"{self.name} did not get ready; see {path}")
            time.sleep(0.2)

    def _ready_lines(self, path):
        if not self.ready_line or not os.path.exists(path):
            return 0
        with open(path, "rb") as f:
            return f.read().count(self.ready_line)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.kills += 1

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


azurite_js = os.path.join(args.repo, "node_modules", "azurite", "dist", "src", "azurite.js")
azurite = Child("azurite", ["node", azurite_js, "--silent", "--skipApiVersionCheck", "--disableProductStyleUrl", "--location", f"{work}/azurite",
                            "--blobHost", "127.0.0.1", "--blobPort", str(blob), "--queueHost", "127.0.0.1", "--queuePort", str(queue),
                            "--tableHost", "127.0.0.1", "--tablePort", str(table)], ready_port=table)
dnsmasq = subprocess.Popen(["/usr/sbin/dnsmasq", "-k", "--no-resolv", "--no-hosts", "--conf-file=/dev/null", f"--port={dns_port}",
                            "--listen-address=127.0.0.1", "--bind-interfaces", "--user=root", f"--local=/{REMOTE}/", "--local=/outside.test/",
                            f"--mx-host={REMOTE},mx.{REMOTE},10", f"--host-record=mx.{REMOTE},{SINK_HOST}"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
frontend = Child("frontend", ["dotnet", args.frontend_dll], ready_port=ports["SMTP"])
functions = Child("functions", [os.path.join(args.repo, "mailcloud"), "functions"], ready_line=b"\nready\n")


def cli(*argv, stdin=None):
    r = subprocess.run([os.path.join(args.repo, "mailcloud"), *argv], env=env, input=stdin, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"mailcloud {' '.join(argv)}: {r.stderr.strip()}")
    return r.stdout


# ---- the remote peer: an aiosmtpd sink that records what it accepted -------------------------------------------
sink_lock = threading.Lock()
sink = []  # (recipient, harness id, body sha)


class Sink:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.split("@")[0].startswith("reject"):
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content
        hid, sha = identify(data)
        with sink_lock:
            for r in envelope.rcpt_tos:
                sink.append((r.lower(), hid, sha))
        return "250 2.0.0 queued at the peer"


def identify(data):
    head, _, body = data.partition(b"\r\n\r\n")
    m = re.search(rb"^X-Harness-Id: (\d+)", head, re.M | re.I)
    return (int(m.group(1)) if m else None), hashlib.sha256(body).hexdigest()


# ---- the load ------------------------------------------------------------------------------------------------
USERS = ["alice", "bob", "carol", "dave"]


def plan(n):
    """Recipients of message n and what each should lead to: local mailboxes, remote recipients, bounce."""
    if rng.random() < 0.6:
        via, sender = "mx", "outsider@outside.test"
        choices = rng.sample(["alice", "sales", "team", "fwd"], rng.randint(1, 3))
        if "team" in choices and "alice" in choices:
            choices.remove("alice")  # the list includes alice; one copy per mailbox is asked of a list, not checked here
        rcpts = [f"{c}@{DOMAIN}" for c in choices]
        local = set()
        remote = set()
        for c in choices:
            local |= {"alice": {"alice"}, "sales": {"bob"}, "team": {"alice", "carol"}, "fwd": set()}[c]
            if c == "fwd":
                remote.add(f"ext@{REMOTE}")
        bounce = False
    else:
        via, sender = "submission", f"dave@{DOMAIN}"
        choices = rng.sample(["alice", "bob", f"r1@{REMOTE}", f"r2@{REMOTE}"], rng.randint(1, 3))
        bounce = rng.random() < 0.1
        if bounce:
            choices.append(f"reject@{REMOTE}")
        rcpts = [c if "@" in c else f"{c}@{DOMAIN}" for c in choices]
        local = {c for c in choices if "@" not in c}
        remote = {c for c in choices if "@" in c and not c.startswith("reject")}
    r = rng.random()
    size = rng.randint(500, 8_000) if r < 0.7 else rng.randint(8_000, 200_000) if r < 0.95 else rng.randint(200_000, args.max_size)
    return dict(n=n, via=via, sender=sender, rcpts=rcpts, local=local, remote=remote, bounce=bounce, size=size)


def build(m):
    body_rng = random.Random(m["n"] * 7919 + 1)
    line = lambda: "".join(body_rng.choice("abcdefghijklmnopqrstuvwxyz0123456789 .,") for _ in range(76))
    lines = []
    total = 0
    while total < m["size"]:
        lines.append(line())
        total += 78
    body = ("\r\n".join(lines) + "\r\n").encode()
    head = (f"From: <{m['sender']}>\r\nTo: {', '.join(m['rcpts'])}\r\nSubject: harness message {m['n']}\r\n"
            f"Message-ID: <h{m['n']}.{args.seed}@harness.test>\r\nDate: {time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime())}\r\n"
            f"X-Harness-Id: {m['n']}\r\n\r\n").encode()
    m["sha"] = hashlib.sha256(body).hexdigest()
    return head + body


messages = [plan(n) for n in range(args.messages)]
ctx = ssl._create_unverified_context()


def send_once(m, data):
    if m["via"] == "mx":
        s = smtplib.SMTP("127.0.0.1", ports["SMTP"], local_hostname="client.outside.test", timeout=60)
    else:
        s = smtplib.SMTP("127.0.0.1", ports["SUBMISSION"], local_hostname="client.harness.test", timeout=60)
        s.starttls(context=ctx)
        s.login(m["sender"], PASSWORD)
    try:
        s.sendmail(m["sender"], m["rcpts"], data)
    finally:
        try:
            s.quit()
        except Exception:
            pass


def sender_thread(work_items):
    while True:
        try:
            m = work_items.pop()
        except IndexError:
            return
        data = build(m)
        m["attempts"] = []
        for attempt in range(10):
            try:
                send_once(m, data)
                m["attempts"].append("250")
                break
            except smtplib.SMTPResponseException as e:
                m["attempts"].append(str(e.smtp_code))
                if 500 <= e.smtp_code < 600:
                    break
            except smtplib.SMTPRecipientsRefused as e:
                codes = {c for c, _ in e.recipients.values()}
                m["attempts"].append(str(max(codes)))
                if all(500 <= c < 600 for c in codes):
                    break
            except (OSError, smtplib.SMTPException) as e:
                m["attempts"].append("no reply")  # the outcome is unknown to the client: it may have been accepted
            time.sleep(0.5 + attempt * 0.5)


# ---- faults --------------------------------------------------------------------------------------------------
stop_faults = threading.Event()
fault_log = {"frontend": 0, "functions": 0, "both": 0, "azurite restarts": 0}


def faults():
    lo, hi = (float(x) for x in args.kill_interval.split(","))
    last_azurite = time.time()
    while not stop_faults.wait(rng.uniform(lo, hi)):
        what = rng.random()
        if time.time() - last_azurite > 25:  # about every 25 s
            log("fault: stopping Azurite gracefully, then starting it again")
            azurite.stop()
            time.sleep(rng.uniform(0.5, 2))
            azurite.start()
            fault_log["azurite restarts"] += 1
            last_azurite = time.time()
            continue
        targets = [frontend] if what < 0.5 else [functions] if what < 0.9 else [frontend, functions]
        key = "both" if len(targets) == 2 else targets[0].name
        log(f"fault: SIGKILL {key}")
        for t in targets:
            t.kill()
        fault_log[key] += 1
        time.sleep(rng.uniform(0.3, 1.5))
        for t in targets:
            t.start()


def queue_depths():
    out = cli("queue", "list")
    depths = {}
    for line in out.splitlines()[1:]:
        parts = line.split()
        depths[parts[0]] = int(parts[1])
    return depths


def mailbox(user):
    """Every message in the user's folders: (folder, harness id, body sha, raw)."""
    m = imaplib.IMAP4_SSL("127.0.0.1", ports["IMAPS"], ssl_context=ctx)
    m.login(f"{user}@{DOMAIN}", PASSWORD)
    found = []
    typ, folders = m.list()
    for entry in folders:
        name = entry.decode().rsplit(' "/" ', 1)[-1].strip('"')
        typ, data = m.select(f'"{name}"', readonly=True)
        if typ != "OK" or int(data[0]) == 0:
            continue
        typ, data = m.fetch("1:*", "(BODY.PEEK[])")
        for item in data:
            if isinstance(item, tuple):
                hid, sha = identify(item[1])
                found.append((name, hid, sha, item[1]))
    m.logout()
    return found


def main():
    started = time.time()
    azurite.start()
    log("provisioning the directory ...")
    cli("domain", "add", DOMAIN)
    for u in USERS:
        cli("user", "add", f"{u}@{DOMAIN}", "--password-stdin", stdin=PASSWORD + "\n")
    cli("alias", "add", f"sales@{DOMAIN}", f"bob@{DOMAIN}")
    cli("alias", "add", f"fwd@{DOMAIN}", f"ext@{REMOTE}")
    cli("list", "add", f"team@{DOMAIN}", f"alice@{DOMAIN}", f"carol@{DOMAIN}")
    controller = Controller(Sink(), hostname=SINK_HOST, port=sink_port)
    controller.start()
    frontend.start()
    functions.start()
    log(f"sending {len(messages)} messages with {args.clients} clients while faults are injected ...")
    pending = list(reversed(messages))
    threads = [threading.Thread(target=sender_thread, args=(pending,)) for _ in range(args.clients)]
    chaos = threading.Thread(target=faults)
    for t in threads:
        t.start()
    chaos.start()
    for t in threads:
        t.join()
    stop_faults.set()
    chaos.join()
    sent_at = time.time()
    log(f"load done in {sent_at - started:.0f} s; faults: {fault_log}; waiting for the queues to drain ...")

    quiet = 0
    depths = {}
    while time.time() - sent_at < args.drain_timeout:
        time.sleep(3)
        try:
            depths = queue_depths()
        except RuntimeError as e:
            log(f"queue list failed: {e}")
            continue
        work_left = sum(v for k, v in depths.items() if not k.endswith("-poison"))
        quiet = quiet + 1 if work_left == 0 else 0
        if quiet >= 3:
            break
    log(f"drained after {time.time() - sent_at:.0f} s: {depths}")
    log("housekeeping with no minimum age (every unreferenced blob goes): " + cli("housekeeping", "--orphan-age", "0s").strip())
    return report(depths)


def report(depths):
    boxes = {u: mailbox(u) for u in USERS}
    accepted = [m for m in messages if "250" in m["attempts"]]
    refused = [m for m in messages if "250" not in m["attempts"]]
    uncertain = {m["n"] for m in messages if "no reply" in m["attempts"][:-1] or ("250" not in m["attempts"] and "no reply" in m["attempts"])}
    copies = {}
    corrupted = 0
    by_id = {m["n"]: m for m in messages}
    bounces = {}
    for u, found in boxes.items():
        for folder, hid, sha, raw in found:
            if u == "dave" and hid is None or b"Content-Type: message/delivery-status" in raw or b"content-type: message/delivery-status" in raw.lower():
                ids = {int(x) for x in re.findall(rb"X-Harness-Id: (\d+)", raw)}
                for i in ids:
                    bounces[i] = bounces.get(i, 0) + 1
                continue
            if hid is None:
                continue
            copies[(hid, u)] = copies.get((hid, u), 0) + 1
            if sha != by_id[hid]["sha"]:
                corrupted += 1
    remote_counts = {}
    for r, hid, sha in sink:
        remote_counts[(hid, r)] = remote_counts.get((hid, r), 0) + 1
        if hid is not None and sha != by_id[hid]["sha"]:
            corrupted += 1

    def tally(where, counts, what):
        """Expected, exactly once, lost, duplicated, duplicated after an unanswered attempt, for one kind of delivery."""
        expected = ok = lost = dup = dup_uncertain = 0
        for m in accepted:
            for target in m[where]:
                expected += 1
                c = counts.get((m["n"], target), 0)
                if c == 0:
                    lost += 1
                    log(f"LOST {what}: message {m['n']} for {target} ({m['attempts']})")
                elif c == 1:
                    ok += 1
                elif m["n"] in uncertain:
                    dup_uncertain += c - 1
                else:
                    dup += c - 1
                    log(f"DUPLICATE {what}: message {m['n']} x{c} for {target} ({m['attempts']})")
        return expected, ok, lost, dup, dup_uncertain

    local_expected, local_ok, lost, dup, dup_uncertain = tally("local", copies, "in a mailbox")
    remote_expected, remote_ok, remote_lost, remote_dup, remote_dup_uncertain = tally("remote", remote_counts, "at the peer")
    bounce_expected = [m for m in accepted if m["bounce"]]
    bounce_ok = sum(1 for m in bounce_expected if bounces.get(m["n"], 0) >= 1)
    bounce_extra = sum(max(0, bounces.get(m["n"], 0) - 1) for m in bounce_expected if m["n"] not in uncertain)
    bounce_extra_resent = sum(max(0, bounces.get(m["n"], 0) - 1) for m in bounce_expected if m["n"] in uncertain)
    stray = sum(1 for m in refused for u in USERS if copies.get((m["n"], u), 0)) + sum(1 for m in refused for r in m["remote"] if remote_counts.get((m["n"], r), 0))
    stray_certain = sum(1 for m in refused if m["n"] not in uncertain for u in USERS if copies.get((m["n"], u), 0))
    poison = sum(v for k, v in depths.items() if k.endswith("-poison"))
    retried = sum(1 for m in accepted if len(m["attempts"]) > 1)
    print()
    print("| what | count |")
    print("|---|---|")
    for k, v in [("messages sent", len(messages)), ("accepted with 250", len(accepted)), ("  of them after a retry", retried),
                 ("  of them with an unanswered earlier attempt (RFC 1047 window)", len([m for m in accepted if m['n'] in uncertain])),
                 ("never accepted (5xx or retries exhausted)", len(refused)),
                 ("local deliveries expected", local_expected), ("  exactly once", local_ok), ("  lost", lost),
                 ("  duplicated", dup), ("  duplicated after an unanswered attempt (client resent)", dup_uncertain),
                 ("remote deliveries expected", remote_expected), ("  exactly once at the peer", remote_ok), ("  lost", remote_lost),
                 ("  duplicated at the peer", remote_dup), ("  duplicated after an unanswered attempt", remote_dup_uncertain),
                 ("bounces expected", len(bounce_expected)), ("  bounced", bounce_ok), ("  extra bounces", bounce_extra), ("  extra bounces after an unanswered attempt (the resent copy bounced too)", bounce_extra_resent),
                 ("copies of never-accepted messages found", stray), ("  of them without any unanswered attempt", stray_certain),
                 ("bodies that differ from what was sent", corrupted), ("items left in poison queues", poison)]:
        print(f"| {k} | {v} |")
    print(f"| faults: SIGKILL front end / functions / both / Azurite restarts | {fault_log['frontend']} / {fault_log['functions']} / {fault_log['both']} / {fault_log['azurite restarts']} |")
    failed = lost or dup or remote_lost or corrupted or poison or bounce_ok != len(bounce_expected) or bounce_extra or stray_certain
    print("RESULT:", "FAIL" if failed else "PASS")
    return 1 if failed else 0


code = 1
try:
    code = main()
finally:
    stop_faults.set()
    for c in reversed(children):
        c.stop()
    dnsmasq.terminate()
sys.exit(code)

"""End to end: postfix's smtp-source sends N messages in 10 sessions to an SMTP port; one imaplib connection polls
STATUS INBOX (MESSAGES) every 50 ms until all N are there. Prints tab-separated rows: server, row, value.
Also the machine's CPU time (all processes, from /proc/stat: server, storage emulator, client and poller alike)
per delivered message over the same span.
  end_to_end.py NAME SMTP_PORT IMAPS_PORT USER PASSWORD COUNT SIZE SMTP_SOURCE MODE(reuse|new)"""
import imaplib, os, ssl, subprocess, sys, time

name, smtp_port, imaps_port, user, password, count, size, source, mode = sys.argv[1:10]
count, size = int(count), int(size)

def cpu_seconds():
    # user + nice + system + irq + softirq + steal, in clock ticks, for all cores together.
    fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return (fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]) / os.sysconf("SC_CLK_TCK")

# BENCH_PIDS="name=pid,name=pid": processes whose own CPU per message is printed too (MailCloud's host and Azurite).
pids = [p.split("=") for p in os.environ.get("BENCH_PIDS", "").split(",") if "=" in p]
def process_seconds(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])) / os.sysconf("SC_CLK_TCK")  # utime stime cutime cstime

m = imaplib.IMAP4_SSL("127.0.0.1", int(imaps_port), ssl_context=ssl._create_unverified_context(), timeout=60)
m.login(user, password)
def messages():
    typ, data = m.status("INBOX", "(MESSAGES)")
    return int(data[0].decode().split("MESSAGES")[1].strip(" ()"))
before = messages()

args = [source, "-s", "10", "-m", str(count), "-l", str(size), "-f", "sender@remote.example", "-t", user, "-M", "bench.remote.example"]
if mode == "reuse":
    args.append("-d")  # the next message over the same session
args.append(f"127.0.0.1:{smtp_port}")
cpu0, t0 = cpu_seconds(), time.monotonic()
own0 = {n: process_seconds(p) for n, p in pids}
sender = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
accepted_at = None
deadline = t0 + 1800
while True:
    if accepted_at is None and sender.poll() is not None:
        accepted_at = time.monotonic()
        if sender.returncode != 0:
            sys.exit(f"smtp-source failed: {sender.stderr.read().decode()}")
    have = messages() - before
    if have >= count and accepted_at is not None:
        break
    if time.monotonic() > deadline:
        sys.exit(f"{name}: only {have} of {count} arrived in 30 minutes")
    time.sleep(0.05)
done, cpu1 = time.monotonic(), cpu_seconds()
own1 = {n: process_seconds(p) for n, p in pids}
label = "connection reuse (-d)" if mode == "reuse" else "a new connection per message"
print(f"{name}\tSMTP accept, {label} (msgs/s)\t{count / (accepted_at - t0):.1f}")
print(f"{name}\tend to end, {label} (msgs/s)\t{count / (done - t0):.1f}")
print(f"{name}\tmachine CPU per delivered message, {label} (ms)\t{(cpu1 - cpu0) * 1000 / count:.2f}")
for n, _ in pids:
    print(f"{name}\t  of which {n}, {label} (ms)\t{(own1[n] - own0[n]) * 1000 / count:.2f}")
m.logout()

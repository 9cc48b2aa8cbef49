#!/usr/bin/env bash
# Cold start of a front-end replica, as Container Apps starts one from zero or scales out: the published
# MailCloud.FrontEnd with the container's environment (bicep/frontend-env.json), started STARTS times as JIT (as the
# Dockerfile published it before) and as ReadyToRun, against the storage of a running './mailcloud up' whose user has
# a 10,000-message INBOX (APPENDed through it, so its stored folder index exists). Per start: process start to
# "ready", then the first IMAPS client (connect + TLS + LOGIN, SELECT INBOX, UID FETCH 1:* (FLAGS)), then a second
# client doing the same on the warm process. Prints medians.
#   tests/bench/frontend-cold-start.sh [STARTS] [MESSAGES]      (defaults 3, 10000)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
starts="${1:-3}" count="${2:-10000}"
work="$(mktemp -d)"
source "$repo/tests/bench/lib/servers.sh"

# The user's INBOX, through the running server; its SELECT afterwards writes the folder's index (5 s later).
python3 - "$imaps" "$user" "$pass" "$count" <<'PY'
import imaplib, ssl, sys, time
port, user, pw, count = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
m = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ssl._create_unverified_context()); m.login(user, pw)
for i in range(count):
    body = (f"From: Sender {i % 97} <s{i % 97}@remote.example>\r\nTo: {user}\r\nSubject: message {i}\r\n"
            f"Message-ID: <m{i}@remote.example>\r\nDate: Mon, 2 Mar 2026 10:00:00 +0000\r\n\r\n" + "x" * 2000 + f"\r\nline {i}\r\n")
    assert m.append("INBOX", None, None, body.encode())[0] == "OK"
m.select("INBOX"); m.logout()
time.sleep(10)
PY

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -days 2 -subj /CN=mail.example.test >/dev/null 2>&1
cat "$work/cert.pem" "$work/key.pem" > "$work/tls.pem"
project="$repo/protocol-hosts/MailCloud.FrontEnd/MailCloud.FrontEnd.csproj"
dotnet publish "$project" -c Release -o "$work/jit" --nologo -v q "-clp:ErrorsOnly;NoSummary" >&2
dotnet publish "$project" -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true -o "$work/r2r" --nologo -v q "-clp:ErrorsOnly;NoSummary" >&2

run_once() { # $1 = app directory; prints: ready_ms first_login first_select first_fetch warm_login warm_select warm_fetch
  local app=$1 port
  port=$(free_port)
  local env=(MAILCLOUD_BIND=127.0.0.1 MAILCLOUD_TLS_CERT="$work/tls.pem" MAILCLOUD_TLS_RELOAD=60s DOTNET_gcServer=0
    MAILCLOUD_STORAGE="$MAILCLOUD_STORAGE" MAILCLOUD_HOSTNAME=mail.example.test MAILCLOUD_PROTOCOLS=imap MAILCLOUD_IMAPS_PORT="$port"
    MAILCLOUD_IMAP_PORT="$(free_port)")
  python3 - "$app" "$port" "$user" "$pass" "${env[@]}" <<'PY'
import imaplib, os, ssl, subprocess, sys, time
app, port, user, pw = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
env = dict(os.environ); env.update(kv.split("=", 1) for kv in sys.argv[5:])
t0 = time.perf_counter()
p = subprocess.Popen(["dotnet", "MailCloud.FrontEnd.dll"], cwd=app, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
for line in p.stdout:
    if "ready" in line: break
ready = (time.perf_counter() - t0) * 1000
ctx = ssl._create_unverified_context()
def client():
    t = time.perf_counter(); m = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ctx); m.login(user, pw); a = time.perf_counter()
    assert m.select("INBOX")[0] == "OK"; b = time.perf_counter()
    assert m.uid("FETCH", "1:*", "(FLAGS)")[0] == "OK"; c = time.perf_counter()
    m.logout()
    return [(a - t) * 1000, (b - a) * 1000, (c - b) * 1000]
first = client(); warm = client()
p.terminate(); p.wait(timeout=30)
print(" ".join(f"{v:.1f}" for v in [ready] + first + warm))
PY
}

results() { # $1 = label, $2 = app directory
  local rows=()
  for _ in $(seq 1 "$starts"); do rows+=("$(run_once "$2")"); done
  python3 - "$1" "${rows[@]}" <<'PY'
import statistics, sys
label, rows = sys.argv[1], [list(map(float, r.split())) for r in sys.argv[2:]]
med = [statistics.median(c) for c in zip(*rows)]
names = ["start to ready", "first client: connect+TLS+LOGIN", "first client: SELECT INBOX", "first client: UID FETCH 1:* (FLAGS)",
         "second client: connect+TLS+LOGIN", "second client: SELECT INBOX", "second client: UID FETCH 1:* (FLAGS)"]
for n, v in zip(names, med):
    print(f"{label}\t{n}\t{v:.1f}")
PY
}

{ results JIT "$work/jit"; results ReadyToRun "$work/r2r"; } > "$work/rows.tsv"
python3 - "$work/rows.tsv" "$starts" "$count" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
jit = {n: float(v) for l, n, v in rows if l == "JIT"}
r2r = {n: float(v) for l, n, v in rows if l == "ReadyToRun"}
print(f"Front-end cold start, median of {sys.argv[2]} starts, INBOX of {sys.argv[3]} messages (stored index present)")
print("| what (ms) | JIT | ReadyToRun |")
print("|---|---|---|")
for n in jit:
    print(f"| {n} | {jit[n]:.1f} | {r2r[n]:.1f} |")
PY

"""The IMAP rows of issue #14's table, one server at a time, over TLS with python's imaplib:
APPEND N messages (about 2.3 KiB each), then on a new connection SELECT INBOX twice, FETCH 1:* (ENVELOPE),
UID SEARCH SUBJECT / FROM, 100 x UID FETCH n BODY.PEEK[], STORE 1:* +FLAGS.SILENT (\\Seen); with RESTART (a command
that restarts the server on the same data), SELECT, FETCH ENVELOPE and 100 other bodies again after it.
Usage: imap_rows.py NAME PORT USER PASS MESSAGES [RESTART]  -> one line per row: name, row, milliseconds (or msgs/s)."""
import imaplib, random, ssl, subprocess, sys, time

name, port, user, password, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
restart = sys.argv[6] if len(sys.argv) > 6 else None
ctx = ssl._create_unverified_context()  # both servers use throwaway self-signed certificates


def connect():
    m = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ctx)
    m.login(user, password)
    return m


def row(what, ms):
    print(f"{name}\t{what}\t{ms:.1f}", flush=True)


def timed(what, fn):
    t = time.perf_counter()
    typ, data = fn()
    assert typ == "OK", (what, typ, data)
    row(what, (time.perf_counter() - t) * 1000)
    return data


m = connect()
t = time.perf_counter()
for i in range(count):
    body = (f"From: Sender {i % 97} <s{i % 97}@remote.example>\r\nTo: {user}\r\nSubject: message {i}\r\n"
            f"Message-ID: <m{i}@remote.example>\r\nDate: Mon, 2 Mar 2026 10:00:00 +0000\r\n\r\n" + "x" * 2000 + f"\r\nline {i}\r\n")
    typ, _ = m.append("INBOX", None, None, body.encode())
    assert typ == "OK"
print(f"{name}\tAPPEND {count} messages (msgs/s)\t{count / (time.perf_counter() - t):.1f}", flush=True)
m.logout()

m = connect()
timed("SELECT INBOX (first)", lambda: m.select("INBOX"))
m.close()
timed("SELECT INBOX (second, right after)", lambda: m.select("INBOX"))
timed("FETCH 1:* (ENVELOPE)", lambda: m.fetch("1:*", "(ENVELOPE)"))
timed('UID SEARCH SUBJECT "message 4242"', lambda: m.uid("SEARCH", None, "SUBJECT", '"message 4242"'))
timed("UID SEARCH FROM s13@remote", lambda: m.uid("SEARCH", None, "FROM", "s13@remote"))


def bodies(what, seed):
    rnd = random.Random(seed)
    t = time.perf_counter()
    for _ in range(100):
        typ, _ = m.uid("FETCH", str(rnd.randint(1, count)), "(BODY.PEEK[])")
        assert typ == "OK"
    row(what, (time.perf_counter() - t) * 1000)


bodies("100 x UID FETCH n BODY.PEEK[]", 7)
timed("STORE 1:* +FLAGS.SILENT (\\Seen)", lambda: m.store("1:*", "+FLAGS.SILENT", "(\\Seen)"))
timed("SELECT INBOX (after the STORE)", lambda: m.select("INBOX"))
m.logout()

if restart:
    # Both servers write in the background (Azurite saves its tables every 5 s, MailCloud writes its folder index 5 s
    # after the STORE): give them that time, then restart and open the folder as the first client after it.
    time.sleep(15)
    subprocess.run([restart], check=True, stdout=sys.stderr)
    m = connect()
    timed("SELECT INBOX (after a server restart)", lambda: m.select("INBOX"))
    timed("FETCH 1:* (ENVELOPE) after the restart", lambda: m.fetch("1:*", "(ENVELOPE)"))
    # Other messages than before the restart, with nothing of them in the server's memory.
    bodies("100 x UID FETCH n BODY.PEEK[] after it", 8)
    m.logout()

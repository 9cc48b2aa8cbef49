namespace MailCloud.FunctionalTests.Smtp;

/// <summary>Shared prelude for the python3 client scripts: smtplib plus a raw-socket helper for byte-exact sessions.</summary>
internal static class PythonClients
{
    public const string Prelude = """
import smtplib, ssl, os, json, socket, base64, hashlib, hmac, time
ctx = ssl._create_unverified_context()
MX = int(os.environ["MX"]); SUB = int(os.environ["SUB"]); SUBS = int(os.environ["SUBS"]); PW = os.environ["PASSWORD"]
def out(**kw): print(json.dumps(kw), flush=True)
def text(b): return b.decode("utf-8", "replace") if isinstance(b, bytes) else str(b)
def r(reply): return [reply[0], text(reply[1])]

class Raw:
    # A byte-exact SMTP client: send what we say, read replies (multi-line aware).
    def __init__(self, port, src="127.0.0.1", greet=True):
        self.s = socket.create_connection(("127.0.0.1", port), source_address=(src, 0), timeout=15)
        self.f = self.s.makefile("rb")
        self.greeting = self.reply() if greet else None
    def send(self, data):
        self.s.sendall(data if isinstance(data, bytes) else data.encode())
    def reply(self):
        lines = []
        while True:
            line = self.f.readline()
            if not line: return "EOF"
            lines.append(line.decode("utf-8", "replace").rstrip("\r\n"))
            if len(line) < 4 or line[3:4] != b"-": break
        return "\n".join(lines)
    def cmd(self, c):
        self.send(c + "\r\n"); return self.reply()
    def close(self):
        try: self.s.close()
        except Exception: pass

def scram_login(conn, user, password):
    # SCRAM-SHA-256 client (RFC 5802/7677) over smtplib's docmd.
    cnonce = base64.b64encode(os.urandom(18)).decode()
    first_bare = "n=" + user.replace("=", "=3D").replace(",", "=2C") + ",r=" + cnonce
    code, resp = conn.docmd("AUTH", "SCRAM-SHA-256 " + base64.b64encode(("n,," + first_bare).encode()).decode())
    if code != 334: return code, text(resp)
    server_first = base64.b64decode(resp).decode()
    attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    without_proof = "c=biws,r=" + attrs["r"]
    auth_message = (first_bare + "," + server_first + "," + without_proof).encode()
    signature = hmac.new(stored_key, auth_message, "sha256").digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    code, resp = conn.docmd(base64.b64encode((without_proof + ",p=" + base64.b64encode(proof).decode()).encode()).decode())
    if code != 334: return code, text(resp)
    server_final = base64.b64decode(resp).decode()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    expected = "v=" + base64.b64encode(hmac.new(server_key, auth_message, "sha256").digest()).decode()
    code, resp = conn.docmd("")
    return code, text(resp) + (" server-verified" if server_final == expected else " SERVER-SIGNATURE-MISMATCH")
""";
}

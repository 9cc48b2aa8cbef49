# Free ports for the benchmarks' servers, sourced by them. free_port [COUNT] prints the first of COUNT consecutive free
# ports below the ephemeral range (32768+, which load runs' own outgoing connections use up), and remembers what it
# handed out, so two calls never pick the same port even before either server has bound it (picking "any free port"
# twice could return one port for two servers). The caller removes "$ports_taken" on exit.
ports_taken="${ports_taken:-$(mktemp)}"
free_port() {
  python3 - "${1:-1}" "$ports_taken" <<'PY'
import random, socket, sys
count, taken = int(sys.argv[1]), sys.argv[2]
used = set(int(p) for p in open(taken).read().split())
def free(p):
    try:
        s = socket.socket(); s.bind(("127.0.0.1", p)); s.close(); return True
    except OSError:
        return False
for _ in range(1000):
    start = random.randint(20000, 32000 - count)
    ports = range(start, start + count)
    if not any(p in used for p in ports) and all(free(p) for p in ports):
        open(taken, "a").write(" ".join(map(str, ports)) + "\n")
        print(start); break
PY
}

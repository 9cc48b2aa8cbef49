#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser that reads untrusted bytes: afl++ (Debian) over SharpFuzz-instrumented
# MailCloud assemblies, a fixed time per target. Prints executions, paths and edge coverage per target; copies every
# crash and hang into tests/MailCloud.UnitTests/FuzzFindings/TARGET/ so the unit tests replay it from then on.
#
#   tests/fuzz/run.sh [SECONDS_PER_TARGET (default 120)] [TARGET ...]   (targets: MailCloud.Fuzz --list)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
seconds="${1:-120}"; shift || true
work="${FUZZ_WORK:-/tmp/mailcloud-fuzz}"
findings_dir="$repo/tests/MailCloud.UnitTests/FuzzFindings"

if ! command -v afl-fuzz >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq afl++ >/dev/null
  else
    echo "fuzz: afl-fuzz missing (apt-get install afl++)" >&2; exit 1
  fi
fi
dotnet tool restore >/dev/null

rm -rf "$work"; mkdir -p "$work"
dotnet publish tests/MailCloud.Fuzz -c Release -o "$work/bin" --nologo -v q >/dev/null
# An uninstrumented copy writes seeds and replays findings (instrumented code only runs under afl's forkserver).
cp -r "$work/bin" "$work/plain"
# Instrument our own assemblies only: the BCL and packages are not what is under test.
for dll in "$work"/bin/MailCloud.*.dll; do
  case "$(basename "$dll")" in MailCloud.Fuzz.dll|MailCloud.FuzzTargets.dll) continue ;; esac
  dotnet sharpfuzz "$dll" >/dev/null
done

targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(dotnet "$work/plain/MailCloud.Fuzz.dll" --list | cut -f1)

export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 AFL_QUIET=1
export DOTNET_TieredCompilation=0   # steadier coverage maps: no re-JIT between executions

printf '%-14s %8s %9s %10s %7s %6s %7s %6s %5s\n' target seconds execs/s execs corpus edges bitmap crash hang
total_crashes=0
for t in "${targets[@]}"; do
  dotnet "$work/plain/MailCloud.Fuzz.dll" "$t" --seeds "$work/$t/in"
  # Earlier findings seed the corpus too, so a fixed bug stays covered.
  [ -d "$findings_dir/$t" ] && cp "$findings_dir/$t"/* "$work/$t/in/" 2>/dev/null || true
  timeout $((seconds + 60)) afl-fuzz -i "$work/$t/in" -o "$work/$t/out" -t 5000 -m none -V "$seconds" -- dotnet "$work/bin/MailCloud.Fuzz.dll" "$t" \
    >"$work/$t/afl.log" 2>&1 || true
  stats="$work/$t/out/default/fuzzer_stats"
  if [ ! -f "$stats" ]; then
    echo "$t: afl-fuzz did not start; see $work/$t/afl.log" >&2; tail -20 "$work/$t/afl.log" >&2; exit 1
  fi
  get() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$stats"; }
  crashes=0
  for kind in crashes hangs; do
    for f in $(ls "$work/$t/out/default/$kind"/id* 2>/dev/null | head -10); do  # afl keeps one per new path: ten per run are plenty to replay
      [ -f "$f" ] || continue
      mkdir -p "$findings_dir/$t"
      cp "$f" "$findings_dir/$t/$kind-$(sha1sum "$f" | cut -c1-12)"
      crashes=$((crashes + 1))
    done
  done
  total_crashes=$((total_crashes + crashes))
  printf '%-14s %8s %9s %10s %7s %6s %7s %6s %5s\n' "$t" "$(get run_time)" "$(get execs_per_sec)" "$(get execs_done)" "$(get corpus_count)" \
    "$(get edges_found)" "$(get bitmap_cvg)" "$(get saved_crashes)" "$(get saved_hangs)"
done
echo "findings copied: $total_crashes (into $findings_dir; each replays in FuzzTests)"

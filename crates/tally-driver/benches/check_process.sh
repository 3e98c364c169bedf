#!/bin/sh
# Whole-process speed of `tally check` on the generated corpus (1,000 files of 50 lines; see
# benches/corpus/mod.rs), in lines per CPU-second (user + system time, so other work on a shared
# machine counts less than in wall time). Several binaries are run in turn, interleaved, and
# each one's median over the runs is printed, so a before/after comparison taken in one sitting
# sees the same machine:
#
#   cargo build --release --bin tally
#   cp target/release/tally /tmp/tally-before      # (on the commit before a change)
#   crates/tally-driver/benches/check_process.sh 15 /tmp/tally-before target/release/tally
#
# The corpus is written to $CORPUS (default /tmp/tally-check-corpus) once.
set -eu
runs=${1:?usage: check_process.sh RUNS TALLY_BINARY...}
shift
corpus=${CORPUS:-/tmp/tally-check-corpus}
here=$(cd "$(dirname "$0")/../../.." && pwd)
if [ ! -f "$corpus/customer-1000.tally" ]; then
    (cd "$here" && cargo run --quiet --release -p tally-driver --example corpus -- "$corpus" 1000 50)
fi
lines=$(cat "$corpus"/*.tally | wc -l)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
i=0
while [ "$i" -lt "$runs" ]; do
    n=0
    for bin in "$@"; do
        n=$((n + 1))
        # wall seconds, user seconds, system seconds
        /usr/bin/time -f "%e %U %S" -a -o "$out/$n" "$bin" check "$corpus" >/dev/null 2>&1 || {
            echo "$bin check $corpus failed" >&2
            exit 1
        }
    done
    i=$((i + 1))
done
n=0
for bin in "$@"; do
    n=$((n + 1))
    awk -v bin="$bin" -v lines="$lines" '
        { wall[NR] = $1; cpu[NR] = $2 + $3 }
        function median(a, k,   i, j, t) {
            for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
            return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
        }
        END {
            w = median(wall, NR); c = median(cpu, NR)
            printf "%s: %d runs, median wall %.3f s, median CPU %.3f s, %.0f lines per CPU-second\n", bin, NR, w, c, lines / c
        }' "$out/$n"
done

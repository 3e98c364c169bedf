#!/bin/sh
# Issue 11's Azure job, whole process, against the floor: a seeded daily rated usage CSV (all 55
# columns, about 850 bytes a row) → per-customer total × 115 %.
#
#   Tally:    tally import --usage FILE -o snapshot.json && tally plan RULES --snapshot snapshot.json
#             (and, where the binary has it, `tally plan RULES --usage FILE`, which streams usage
#             straight into evaluation)
#   Baseline: examples/azure_baseline.rs, a hand-written streaming pass (csv + rust_decimal)
#   DuckDB:   benches/azure_duckdb.py, when `python3 -c "import duckdb"` works (by hand only)
#
# Every job's totals are compared to the cent; CPU (user + system), wall time and peak resident
# memory are printed with Tally's ratio to the baseline. Runs are interleaved and medians taken.
#
#   crates/tally-import/benches/azure_floor.sh ROWS [RUNS] [CUSTOMERS]
#   crates/tally-import/benches/azure_floor.sh 1000000 3
#
# The CSV is written once to $AZURE_DIR (default /tmp/tally-azure-floor) and reused.
set -eu
rows=${1:?usage: azure_floor.sh ROWS [RUNS] [CUSTOMERS]}
runs=${2:-3}
customers=${3:-20}
here=$(cd "$(dirname "$0")/../../.." && pwd)
dir=${AZURE_DIR:-/tmp/tally-azure-floor}
mkdir -p "$dir"
(cd "$here" && cargo build --quiet --release --bin tally \
    && cargo build --quiet --release -p tally-import --example azure_baseline --example azure_usage_csv)
tally="$here/target/release/tally"
baseline="$here/target/release/examples/azure_baseline"
csv="$dir/usage-$rows-$customers.csv"
if [ ! -f "$csv" ]; then
    "$here/target/release/examples/azure_usage_csv" "$rows" "$customers" "$csv.part"
    mv "$csv.part" "$csv"
fi
rules="$dir/rules-$customers"
if [ ! -d "$rules" ]; then
    mkdir -p "$rules.part"
    c=0
    while [ "$c" -lt "$customers" ]; do
        cat > "$rules.part/customer$c.tally" <<RULES
customer "Customer $c" {
  tenant "customer$c.onmicrosoft.com"
  currency GBP
}

azure amount = sum(azure.usage.cost) * 115%
  description "Azure consumption + 15%"
RULES
        c=$((c + 1))
    done
    mv "$rules.part" "$rules"
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
measure() { # name, command...
    name=$1
    shift
    /usr/bin/time -f "%e %U %S %M" -a -o "$out/$name.time" "$@"
}
# DuckDB, when it is installed (`pip install duckdb`; never in CI), runs the same job.
duckdb=false
if python3 -c "import duckdb" 2>/dev/null; then
    duckdb=true
fi
streams=false
if "$tally" plan --help | grep -q -- '--usage'; then
    streams=true
fi
i=0
while [ "$i" -lt "$runs" ]; do
    measure baseline "$baseline" "$csv" > "$out/baseline.txt"
    # import and plan are timed separately and added: the job is both processes.
    measure import "$tally" import --usage "$csv" --period 2026-10 -o "$out/snapshot.json" 2>/dev/null
    measure plan "$tally" plan "$rules" --snapshot "$out/snapshot.json" --format json -o "$out/plan.json"
    if $streams; then
        measure streamed "$tally" plan "$rules" --usage "$csv" --period 2026-10 --format json -o "$out/streamed.json"
        measure streamed_bare "$tally" plan "$rules" --usage "$csv" --period 2026-10 --format json --no-provenance -o "$out/streamed_bare.json"
    fi
    if $duckdb; then
        measure duckdb python3 "$here/crates/tally-import/benches/azure_duckdb.py" "$csv" > "$out/duckdb.txt"
    fi
    i=$((i + 1))
done
# The totals, compared to the cent.
totals() {
    jq -r '.customers[] | "\(.tenant) \(.lines[0].amount) \(.currency)"' "$1" | sort
}
totals "$out/plan.json" > "$out/tally.txt"
sort "$out/baseline.txt" | awk '{ print $1, $3, $2 }' > "$out/floor.txt"
if ! cmp -s "$out/tally.txt" "$out/floor.txt"; then
    echo "totals differ (tally, then baseline):" >&2
    diff "$out/tally.txt" "$out/floor.txt" >&2 || true
    exit 1
fi
if $streams; then
    totals "$out/streamed.json" > "$out/streamed.txt"
    totals "$out/streamed_bare.json" >> "$out/streamed.txt"
    sort "$out/floor.txt" "$out/floor.txt" | cmp -s - "$(sort "$out/streamed.txt" > "$out/s2"; echo "$out/s2")" || {
        echo "streamed totals differ from the baseline" >&2
        exit 1
    }
fi
if $duckdb; then
    awk '{ print $1, $3, $2 }' "$out/duckdb.txt" | sort | cmp -s - "$out/floor.txt" || {
        echo "DuckDB's totals differ from the baseline" >&2
        exit 1
    }
fi
echo "$rows rows, $customers customers, $(du -m "$csv" | cut -f1) MB, $runs runs (medians); totals equal to the cent for $(wc -l < "$out/floor.txt") customers"
awk '
    function median(a, k,   i, j, t) {
        for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
    }
    FNR == 1 { name = FILENAME; sub(/.*\//, "", name); sub(/\.time$/, "", name); n[name] = 0 }
    { k = ++n[name]; wall[name, k] = $1; cpu[name, k] = $2 + $3; if ($4 > mem[name]) mem[name] = $4 }
    END {
        for (name in n) {
            for (k = 1; k <= n[name]; k++) { w[k] = wall[name, k]; c[k] = cpu[name, k] }
            W[name] = median(w, n[name]); C[name] = median(c, n[name])
        }
        row = "%-32s %9.2f %9.2f %10.1f %9.2f\n"
        printf "%-32s %9s %9s %10s %9s\n", "job", "CPU s", "wall s", "peak MB", "CPU ratio"
        printf row, "baseline (csv + rust_decimal)", C["baseline"], W["baseline"], mem["baseline"] / 1024, 1
        printf row, "tally import", C["import"], W["import"], mem["import"] / 1024, C["import"] / C["baseline"]
        printf row, "tally plan --snapshot", C["plan"], W["plan"], mem["plan"] / 1024, C["plan"] / C["baseline"]
        jm = mem["import"] > mem["plan"] ? mem["import"] : mem["plan"]
        printf row, "tally import + plan", C["import"] + C["plan"], W["import"] + W["plan"], jm / 1024, (C["import"] + C["plan"]) / C["baseline"]
        if ("streamed" in n)
            printf row, "tally plan --usage (streamed)", C["streamed"], W["streamed"], mem["streamed"] / 1024, C["streamed"] / C["baseline"]
        if ("duckdb" in n)
            printf row, "DuckDB (DECIMAL, 2 threads)", C["duckdb"], W["duckdb"], mem["duckdb"] / 1024, C["duckdb"] / C["baseline"]
        if ("streamed_bare" in n)
            printf row, "  the same, --no-provenance", C["streamed_bare"], W["streamed_bare"], mem["streamed_bare"] / 1024, C["streamed_bare"] / C["baseline"]
    }' "$out"/*.time

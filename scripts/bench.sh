#!/usr/bin/env bash
# The performance table of the README, measured on this machine in one run.
#
#   scripts/bench.sh [CASES]        (default 1000000)
#
# It builds in release mode, generates CASES Storskog records with the deterministic generator,
# then measures, median of 5 runs each: the typed-parse floor (serde into a derived struct with
# borrowed strings, nothing else), `readmit eval` end to end (JSON Lines in, JSON Lines decisions
# out, caps allocated, no ledger) on 1 thread and on all cores, and its peak RSS; and the
# start-up of `readmit check` and of a one-case batch. The floor and both runs of `eval` take
# turns, round after round, so that a slow spell of a shared machine falls on all three alike
# and not on one ratio. Per-case costs of each stage come from `cargo bench --bench stages`.
set -euo pipefail
# Times are read with a decimal point whatever the user's locale.
export LC_ALL=C
cd "$(dirname "$0")/.."
count=${1:-1000000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --bin readmit --example gen --example floor
bin=target/release/readmit
target/release/examples/gen "$count" > "$work/cases.jsonl"
head -n 1 "$work/cases.jsonl" > "$work/one.jsonl"
cores=$(nproc)

# One run of a command: its wall time (seconds, from bash's microsecond clock: /usr/bin/time
# counts hundredths, too coarse for start-up and for the ratio of two runs) and peak RSS (KiB),
# appended to the file $1.
run_once() {
  local into=$1 start end
  shift
  start=$EPOCHREALTIME
  /usr/bin/time -f "%M" -o "$work/time" "$@" > /dev/null 2>&1 || true
  end=$EPOCHREALTIME
  # The last line: a failed command's note comes before it.
  printf '%s %s\n' "$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.6f", e - s }')" \
    "$(tail -n 1 "$work/time")" >> "$into"
}

# The median wall time of the runs in a file, and the largest peak RSS.
median() {
  printf '%s %s\n' "$(cut -d' ' -f1 "$1" | sort -n | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }')" \
    "$(cut -d' ' -f2 "$1" | sort -n | tail -n 1)"
}

for _ in 1 2 3 4 5; do
  run_once "$work/floor" target/release/examples/floor "$work/cases.jsonl"
  run_once "$work/one" "$bin" eval policies/storskog --cases "$work/cases.jsonl" -q --threads 1 --format jsonl
  run_once "$work/all" "$bin" eval policies/storskog --cases "$work/cases.jsonl" -q --threads "$cores" --format jsonl
  run_once "$work/check" "$bin" check policies/storskog
  run_once "$work/single" "$bin" eval policies/storskog --cases "$work/one.jsonl" -q
  # What starting /usr/bin/time costs (about 1 ms), taken off the start-up times.
  run_once "$work/harness" true
done
read -r floor _ < <(median "$work/floor")
read -r one one_rss < <(median "$work/one")
read -r all all_rss < <(median "$work/all")
read -r check _ < <(median "$work/check")
read -r single _ < <(median "$work/single")
read -r harness _ < <(median "$work/harness")

row() { # name seconds
  awk -v n="$1" -v t="$2" -v c="$count" 'BEGIN { printf "| %-52s | %10.0f | %8.0f |\n", n, c / t, t * 1e9 / c }'
}
echo
echo "$count Storskog cases, $(nproc) cores, median of 5 runs (taking turns)"
echo
echo "| what                                                 |    cases/s |  ns/case |"
echo "|------------------------------------------------------|-----------:|---------:|"
row "serde_json into a typed struct (borrowed), nothing else" "$floor"
row "readmit eval, JSONL in and out, 1 thread" "$one"
row "readmit eval, JSONL in and out, $cores threads" "$all"
echo
awk -v a="$one" -v f="$floor" -v b="$all" -v n="$cores" 'BEGIN {
  printf "end to end, 1 thread, vs the typed-parse floor: %.2fx\n", a / f
  printf "%s threads vs 1 thread: %.2fx faster\n", n, a / b }'
echo "peak RSS: $((one_rss / 1024)) MiB (1 thread), $((all_rss / 1024)) MiB ($cores threads)"
awk -v c="$check" -v s="$single" -v h="$harness" 'BEGIN {
  printf "readmit check policies/storskog: %.1f ms; a one-case batch: %.1f ms\n", (c - h) * 1000, (s - h) * 1000 }'

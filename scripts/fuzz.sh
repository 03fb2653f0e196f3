#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for a bounded time.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [--update-corpus]
#
# SECONDS_PER_TARGET defaults to 60; FUZZ_TARGETS="a b" runs only those. Each target starts from its committed
# inputs (fuzz/seeds/<target>, fuzz/corpus/<target>, fuzz/regressions/<target>)
# copied into a scratch corpus under fuzz/target/, so a run leaves the
# committed corpora untouched; with --update-corpus the grown scratch corpus is
# minimized (cargo fuzz cmin, edge coverage only) and replaces
# fuzz/corpus/<target>.
#
# Installs cargo-fuzz if missing and needs the nightly toolchain. Exits
# non-zero if any target crashed, after printing the crashing input's path
# (fuzz/artifacts/<target>/...); see README "Fuzzing" for turning it into a
# regression test.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

secs=60
update=0
for arg in "$@"; do
  case "$arg" in
    --update-corpus) update=1 ;;
    ''|*[!0-9]*) echo "usage: $0 [SECONDS_PER_TARGET] [--update-corpus]" >&2; exit 2 ;;
    *) secs="$arg" ;;
  esac
done

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

targets="${FUZZ_TARGETS:-$(cargo +nightly fuzz list)}"
cargo +nightly fuzz build

failed=()
for t in $targets; do
  work="target/corpus-work/$t"
  rm -rf "$work"
  mkdir -p "$work"
  for src in seeds corpus regressions; do
    if [ -d "$src/$t" ]; then cp -r "$src/$t"/. "$work"/; fi
  done
  args=(-max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1)
  if [ -f "dicts/$t.dict" ]; then args+=(-dict="dicts/$t.dict"); fi
  echo "== $t: ${secs}s"
  log="target/fuzz-$t.log"
  set +e
  cargo +nightly fuzz run "$t" "$work" -- "${args[@]}" >"$log" 2>&1
  rc=$?
  set -e
  grep -E '^(Done|stat::number_of_executed_units|stat::average_exec_per_sec|SUMMARY)' "$log" || true
  if [ "$rc" -ne 0 ]; then
    failed+=("$t (exit $rc, log fuzz/$log): $(grep -o 'Test unit written to .*' "$log" | head -1)")
    continue
  fi
  if [ "$update" = 1 ]; then
    # Edges only (no hit counters): keeps the committed corpus to a few
    # hundred files per target instead of thousands.
    cargo +nightly fuzz cmin "$t" "$work" -- -use_counters=0 >/dev/null 2>&1
    rm -rf "corpus/$t"
    mkdir -p "corpus/$t"
    seed_sums=$(if [ -d "seeds/$t" ]; then sha1sum "seeds/$t"/* | cut -d' ' -f1; fi)
    for f in "$work"/*; do
      # Seeds stay in seeds/ only.
      sum=$(sha1sum "$f" | cut -d' ' -f1)
      grep -qx "$sum" <<<"$seed_sums" || cp "$f" "corpus/$t/$sum"
    done
    echo "   corpus/$t: $(ls "corpus/$t" | wc -l) files after cmin"
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "CRASHES:" >&2
  printf '  %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "no crash in: $targets" | tr '\n' ' '; echo

#!/usr/bin/env bash
# The date-sensitive tests (pytest marker `clock`) again with the clock moved ahead, once per
# number of days given (default: 2 and 5 years), the runs side by side.
#
# Debian's libfaketime (the `faketime` wrapper) moves the clock for the whole process:
# Python, OpenSSL's certificate checks and moto alike, as time passing would. The suite
# checks at start that the clock did move (tests/conftest.py). libfaketime re-reads its
# settings from the environment every 10 s by default, which races with threads that change
# the environment: its cache is made to outlast the run.
#
# Usage: scripts/clock_tests.sh PYTEST [DAYS...]
set -uo pipefail

pytest=${1:?usage: clock_tests.sh PYTEST [DAYS...]}
shift
[ $# -gt 0 ] || set -- 730 1826

if ! command -v faketime >/dev/null 2>&1; then
  if [ -n "${CI:-}" ]; then
    echo "faketime is missing (apt-get install faketime): CI cannot skip the clock runs" >&2
    exit 1
  fi
  echo "faketime is missing (sudo apt-get install faketime): clock runs skipped"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
shifts=("$@")
pids=()
for days in "${shifts[@]}"; do
  # Temp dirs outside the repository: some tests need a directory git does not track.
  AUDITOR_TEST_CLOCK_DAYS=$days AUDITOR_TEST_CLOCK_FROM=$(date +%s) \
    FAKETIME_CACHE_DURATION=1000000000 \
    faketime -f "+${days}d" "$pytest" -q -m clock -p no:cacheprovider \
    --basetemp="$work/tmp-$days" >"$work/$days.log" 2>&1 &
  pids+=("$!")
done

status=0
for i in "${!pids[@]}"; do
  days=${shifts[$i]}
  if wait "${pids[$i]}"; then code=0; else code=$?; fi
  day=$(faketime -f "+${days}d" date -u +%F)
  echo "date-sensitive tests on $day ($days days ahead): $(tail -n 1 "$work/$days.log")"
  if [ "$code" -ne 0 ]; then
    cat "$work/$days.log"
    status=1
  fi
done
exit "$status"

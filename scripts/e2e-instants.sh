#!/usr/bin/env bash
# Runs the calendar-sensitive browser tests (agendas, bookings, reminders) as if it were chosen instants: every
# `passerelle demo` they start gets PASSERELLE_NOW, and the tests take their dates from the same clock
# (e2e/harness.mjs `clockNow`). Proves the suite passes on any day at any hour, not only on the day it is run.
# Expects a built target/debug/passerelle (scripts/test.sh builds it). SQLite only: the database plays no part in
# what the calendar changes, and the full suite already runs both databases at the real time.
set -euo pipefail
cd "$(dirname "$0")/.."
instants=(
  "2026-12-01T10:00:00+01:00" # a Tuesday after 09:30 (the day the suite used to fail)
  "2027-03-07T23:30:00+01:00" # a Sunday night
  "2027-03-28T01:30:00+01:00" # the spring DST change, half an hour before the jump
  "2026-12-31T16:00:00+01:00" # 31 December (year change, 1 January a holiday)
)
for at in "${instants[@]}"; do
  echo "--> E2E_NOW=$at"
  E2E_NOW="$at" E2E_BACKENDS=sqlite node --test --test-concurrency=1 \
    e2e/msj_admin.test.mjs e2e/msj.test.mjs e2e/messages.test.mjs
done

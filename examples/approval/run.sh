#!/usr/bin/env bash
# The expense-approval example without a browser: the automatic path, and the escalation when
# nobody answers (virtual time makes the day-long timeout pass at once). The approval through
# the page is exercised by tests/approval/test_browser.py.
set -euo pipefail
cd "$(dirname "$0")"
W="${WAYMARK:-waymark}"
case "$W" in /*) ;; *) W="$(cd "$OLDPWD" && pwd)/$W" ;; esac
check() { python3 -c "import json,sys; r=json.loads(sys.argv[1]); assert $2, r" "$1"; echo "ok  $3"; }
check "$("$W" run expense.asl.json --input @small.json --json)" \
  "r['status'] == 'SUCCEEDED' and r['output']['status'] == 'REIMBURSED' and r['output']['approvedBy'] == 'policy'" "auto-approved"
check "$("$W" run expense.asl.json --input @large.json --wait-scale 0 --json 2>/dev/null)" \
  "r['status'] == 'SUCCEEDED' and r['output']['status'] == 'ESCALATED'" "escalated after a day without an answer"

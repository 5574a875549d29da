#!/usr/bin/env bash
# Runs every test case of the order-processing example and checks what comes out.
set -euo pipefail
cd "$(dirname "$0")"
W="${WAYMARK:-waymark}"
case "$W" in /*) ;; *) W="$(cd "$OLDPWD" && pwd)/$W" ;; esac
run() { "$W" run order-processing.asl.json --input @input.json --mock-config mocks.json --wait-scale 0 --json --test-case "$@"; }
expect() { # test case, python expression over the result r
  local out
  out=$(run "$1" || true)
  python3 -c "import json,sys; r=json.loads(sys.argv[1]); assert $2, r" "$out"
  echo "ok  $1"
}
expect HappyPath "r['status'] == 'SUCCEEDED' and r['output'] == {'orderId': 'ord-1001', 'status': 'SHIPPED', 'chargeId': 'ch-9', 'trackingNumber': '1Z999'}"
expect FlakyPayment "r['status'] == 'SUCCEEDED' and r['output']['chargeId'] == 'ch-10'"
expect PaymentDeclined "r['status'] == 'FAILED' and r['error'] == 'PaymentFailed' and r['cause'] == 'Order ord-1001 could not be charged: card expired'"
expect OutOfStock "r['status'] == 'SUCCEEDED' and r['output']['status'] == 'BACKORDERED'"

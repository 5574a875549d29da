#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")"
W="${WAYMARK:-waymark}"
case "$W" in /*) ;; *) W="$(cd "$OLDPWD" && pwd)/$W" ;; esac
out=$("$W" run invoices.asl.json --input @input.json --json)
python3 -c "
import json,sys
r=json.loads(sys.argv[1])
assert r['status']=='SUCCEEDED', r
assert r['output']=={'customer':'ACME','lines':['100 x bolts (EUR)','250 x nuts (EUR)','50 x washers (EUR)'],'amounts':[15,12,5],'count':3}, r['output']
" "$out"
echo "ok  map-items"

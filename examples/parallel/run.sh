#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")"
W="${WAYMARK:-waymark}"
case "$W" in /*) ;; *) W="$(cd "$OLDPWD" && pwd)/$W" ;; esac
out=$("$W" run enrich-profile.asl.json --input @input.json --wait-scale 0 --json)
python3 -c "
import json,sys
r=json.loads(sys.argv[1])
assert r['status']=='SUCCEEDED', r
assert r['output']=={'greeting':'Hello, Ada!','tags':['vip','early'],'tier':'gold'}, r['output']
" "$out"
echo "ok  parallel"

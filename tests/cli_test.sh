#!/usr/bin/env bash
# Runs studio-cli as a user would and checks exit codes, files and messages.
# Usage: cli_test.sh PATH/TO/studio-cli
set -u
CLI="$1"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "PASS: $1"; }
bad() { fail=$((fail + 1)); echo "FAIL: $1"; }
expect_rc() {  # expect_rc NAME WANT CMD...
  local name=$1 want=$2
  shift 2
  "$@" >"$T/out" 2>"$T/err"
  local rc=$?
  if [ "$rc" -eq "$want" ]; then ok "$name"; else bad "$name (exit $rc, wanted $want)"; cat "$T/out" "$T/err"; fi
}
expect_grep() {  # expect_grep NAME PATTERN FILE
  if grep -qE -- "$2" "$3"; then ok "$1"; else bad "$1: '$2' not in $3"; cat "$3"; fi
}

expect_rc "help" 0 "$CLI" --help
expect_grep "help lists subcommands" "synth" "$T/out"
expect_rc "synth" 0 "$CLI" synth --out "$T/shapes" --images 12 --seed 3 --size 128
[ -f "$T/shapes/annotations.json" ] && [ "$(ls "$T/shapes/images" | wc -l)" -eq 12 ] && ok "synth files" || bad "synth files"
expect_rc "synth refuses a non-empty folder" 2 "$CLI" synth --out "$T/shapes" --images 2
expect_grep "synth says why" "not empty" "$T/err"

expect_rc "stats" 0 "$CLI" stats "coco:$T/shapes/annotations.json:$T/shapes/images"
expect_grep "stats counts images" "12" "$T/out"
expect_rc "stats json" 0 "$CLI" stats --coco "$T/shapes/annotations.json" --images "$T/shapes/images" --json
expect_grep "stats json has images" '"images": *12' "$T/out"

expect_rc "check clean set" 0 "$CLI" check "coco:$T/shapes/annotations.json:$T/shapes/images" --json "$T/report.json"
[ -f "$T/report.json" ] && ok "check report written" || bad "check report written"

# Plant a fault: delete one image -> missing_file, exit 1.
cp -r "$T/shapes" "$T/broken"
rm "$T/broken/images/000002.jpg"
expect_rc "check finds errors" 1 "$CLI" check "coco:$T/broken/annotations.json:$T/broken/images" --json "$T/broken.json"
expect_grep "missing_file in report" '"code": *"missing_file"' "$T/broken.json"

expect_rc "convert coco->coco" 0 "$CLI" convert "coco:$T/shapes/annotations.json:$T/shapes/images" --to-coco "$T/round.json"
expect_rc "convert again is refused" 2 "$CLI" convert "coco:$T/shapes/annotations.json:$T/shapes/images" --to-coco "$T/round.json"
expect_rc "round trip is stable" 0 "$CLI" convert "coco:$T/round.json:$T/shapes/images" --to-coco "$T/round2.json"
cmp -s "$T/round.json" "$T/round2.json" && ok "round trip bytes equal" || bad "round trip bytes equal"

printf 'a.jpg 1,2,30,40,0\n' >"$T/list.txt"
expect_rc "convert txt" 0 "$CLI" convert "txt:$T/list.txt:$T" --to-coco "$T/txt.json"

printf '{"images": [{"id": 1, "file_name": "a.jpg", "width": "wide", "height": 2}]}' >"$T/bad.json"
expect_rc "bad json is exit 2" 2 "$CLI" stats "coco:$T/bad.json:$T"
expect_grep "error names file and path" "bad.json.*images\[0\]\.width" "$T/err"
expect_rc "no dataset is exit 2" 2 "$CLI" stats
expect_rc "unknown option is exit 2" 2 "$CLI" stats --bogus

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

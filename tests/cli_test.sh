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

# Evaluation on a hand-made image: one cat found at the top score, one false positive below it -> AP 1.
printf '{"images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 100}],
 "categories": [{"id": 1, "name": "cat"}],
 "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20], "area": 400, "iscrowd": 0}]}\n' >"$T/gt.json"
printf '[{"image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20], "score": 0.9},
 {"image_id": 1, "category_id": 1, "bbox": [60, 60, 10, 10], "score": 0.5}]\n' >"$T/dt.json"
expect_rc "eval bbox" 0 "$CLI" eval --gt "$T/gt.json" --dt "$T/dt.json" --type bbox --json "$T/metrics.json" --threads 1
expect_grep "eval prints the AP line" '^ Average Precision  \(AP\) @\[ IoU=0\.50:0\.95 \| area=   all \| maxDets=100 \] = 1\.000$' "$T/out"
expect_grep "eval prints APm undefined" '^ Average Precision  \(AP\) @\[ IoU=0\.50:0\.95 \| area=medium \| maxDets=100 \] = -1\.000$' "$T/out"
expect_grep "eval prints per-category rows" '^cat +1 +1\.000' "$T/out"
expect_grep "metrics json has the stats" '"bbox":\{"stats":\{"AP":(1\.0|0\.9999)' "$T/metrics.json"
expect_grep "metrics json has the confusion matrix" '"confusion":\{"category_ids":\[1\],"names":\["cat"\],"counts":\[\[1,0\],\[1,0\]\]' "$T/metrics.json"
expect_rc "eval with a dataset token" 0 "$CLI" eval "coco:$T/gt.json:$T" --dt "$T/dt.json"
expect_grep "token eval prints the AP line" 'maxDets=100 \] = 1\.000$' "$T/out"
expect_rc "eval voc metric" 0 "$CLI" eval --gt "$T/gt.json" --dt "$T/dt.json" --metric voc --voc-method 11point
expect_grep "voc mAP printed" '^mAP +1\.0000$' "$T/out"
expect_rc "eval --gt and a dataset is exit 2" 2 "$CLI" eval --gt "$T/gt.json" "coco:$T/gt.json:$T" --dt "$T/dt.json"
printf '[{"image_id": 7, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1}]' >"$T/bad_dt.json"
expect_rc "eval unknown image is exit 2" 2 "$CLI" eval --gt "$T/gt.json" --dt "$T/bad_dt.json"
expect_grep "eval error names the detection" 'bad_dt\.json:1: \[0\]\.image_id: unknown image id 7' "$T/err"
expect_rc "eval segm without masks is exit 2" 2 "$CLI" eval --gt "$T/gt.json" --dt "$T/dt.json" --type segm
expect_grep "segm error names the field" '\[0\]: missing required field "segmentation"' "$T/err"

mkdir -p "$T/runs/exp1/eval"
cp "$T/metrics.json" "$T/runs/exp1/eval/metrics_5.json"
printf 'model:\n  name: ssd_mobilenetv2\ndataset: demo\ntrain:\n  epochs: 3\ndevices: 1\n' >"$T/runs/exp1/config.yaml"
expect_rc "export-table csv" 0 "$CLI" export-table "$T/runs/exp1" "$T/metrics.json" --format csv
expect_grep "csv header" '^name,model,dataset,devices,epochs,images/s,box AP,mask AP,AP50,AP75,APs,APm,APl$' "$T/out"
expect_grep "csv run row" '^exp1,ssd_mobilenetv2,[^,]*gt\.json,1,3,-,100\.0,-,100\.0,100\.0,100\.0,-,-$' "$T/out"
expect_grep "csv file row" '^metrics,-,' "$T/out"
expect_rc "export-table md to a file" 0 "$CLI" export-table "$T/runs/exp1" --format md --out "$T/table.md"
expect_grep "md table" '^\| exp1 \| ssd_mobilenetv2 \|' "$T/table.md"
expect_rc "export-table of nothing is exit 2" 2 "$CLI" export-table "$T/nowhere" --format tex
expect_rc "export-table bad format is exit 2" 2 "$CLI" export-table "$T/metrics.json" --format xlsx

# Training and inference: one epoch (2 iterations) of SOLOv2 on 8 generated images at 64 pixels.
CFG="$(cd "$(dirname "$0")/.." && pwd)/configs/solov2_r18_fpn_shapes_cpu.yaml"
"$CLI" synth --out "$T/tiny" --images 8 --seed 5 --size 128 >/dev/null 2>&1
TINY="coco:$T/tiny/annotations.json:$T/tiny/images"
SMALL=(-o train.epochs=1 -o train.batch_size=4 -o data.workers=1 -o 'data.input.short_side=[64]' -o data.input.long_side=64
       -o 'data.test_input.short_side=[64]' -o data.test_input.long_side=64)
expect_rc "train" 0 "$CLI" train --config "$CFG" --out "$T/runs/tiny" --train-data "$TINY" --val-data "$TINY" --threads 2 "${SMALL[@]}"
for f in config.yaml events.jsonl log.txt checkpoints/last.pt checkpoints/epoch_1.pt checkpoints/best.pt eval/results_1.json eval/metrics_1.json; do
  [ -f "$T/runs/tiny/$f" ] && ok "run folder has $f" || bad "run folder has $f"
done
expect_grep "train events carry images_per_s" '"type":"train".*"images_per_s"' "$T/runs/tiny/events.jsonl"
expect_grep "eval event carries segm AP" '"type":"eval".*"segm":\{"AP"' "$T/runs/tiny/events.jsonl"
expect_grep "progress line" 'epoch 1/1 iter 2/2 .*img/s ETA' "$T/err"
expect_rc "a new run into a used folder is refused" 2 "$CLI" train --config "$CFG" --out "$T/runs/tiny" --train-data "$TINY" "${SMALL[@]}"
expect_grep "refusal says --resume" 'already has checkpoints.*--resume' "$T/err"
expect_rc "resume a finished run" 0 "$CLI" train --config "$CFG" --out "$T/runs/tiny" --train-data "$TINY" --val-data "$TINY" --resume "${SMALL[@]}"
expect_rc "resume without checkpoints is exit 2" 2 "$CLI" train --config "$CFG" --out "$T/runs/none" --train-data "$TINY" --resume "${SMALL[@]}"
expect_rc "infer on a dataset" 0 "$CLI" infer --config "$CFG" --weights "$T/runs/tiny/checkpoints/best.pt" "$TINY" --out "$T/tiny_results.json" --vis "$T/vis" "${SMALL[@]}"
[ "$(ls "$T/vis" | wc -l)" -eq 8 ] && ok "infer drew 8 images" || bad "infer drew 8 images"
expect_rc "infer results evaluate" 0 "$CLI" eval --gt "$T/tiny/annotations.json" --dt "$T/tiny_results.json" --type segm
expect_rc "infer on an image folder" 0 "$CLI" infer --config "$CFG" --weights "$T/runs/tiny/checkpoints/last.pt" --images "$T/tiny/images" --out "$T/folder_results.json" "${SMALL[@]}"
expect_grep "infer counts the images" 'on 8 images' "$T/out"
expect_rc "infer with missing weights is exit 2" 2 "$CLI" infer --config "$CFG" --weights "$T/nope.pt" "$TINY" --out "$T/x.json" "${SMALL[@]}"
expect_grep "names the weights file" 'nope\.pt' "$T/err"

# Weights: a torchvision-named ResNet-18 state dict in torch.save's zip layout (written by a
# stdlib python3 script) maps onto the backbone; --out writes what a recipe's pretrained reads.
D="$(dirname "$0")/data/pth"
if command -v python3 >/dev/null && python3 "$D/make_state.py" resnet18 "$T/r18.pth"; then
  expect_rc "weights import" 0 "$CLI" weights import "$T/r18.pth" --arch resnet18 --out "$T/pre/r18.pt"
  expect_grep "weights import counts matched" '^matched: 100$' "$T/out"
  expect_grep "weights import counts missing" '^missing: 0$' "$T/out"
  expect_grep "weights import drops fc" '^dropped .*: 22$' "$T/out"
  [ -f "$T/pre/r18.pt" ] && ok "weights --out written" || bad "weights --out written"
  expect_rc "weights --out reads back" 0 "$CLI" weights import "$T/pre/r18.pt" --arch resnet18
  expect_grep "weights --out has every key" '^unexpected: 0$' "$T/out"
  expect_rc "weights --out is not overwritten" 2 "$CLI" weights import "$T/r18.pth" --arch resnet18 --out "$T/pre/r18.pt"
  python3 "$D/make_state.py" resnet18 "$T/bad.pth" --drop layer1.0.conv1.weight --extra head.x
  expect_rc "weights import with a missing key is exit 1" 1 "$CLI" weights import "$T/bad.pth" --arch resnet18
  expect_grep "missing key listed" '^  layer1\.0\.conv1\.weight$' "$T/out"
  expect_grep "unexpected key listed" '^  head\.x$' "$T/out"
  expect_rc "weights import wrong arch is exit 1" 1 "$CLI" weights import "$T/r18.pth" --arch resnet50
  expect_grep "wrong arch: shape mismatches" '^  layer1\.0\.conv1\.weight: file \[64, 64, 3, 3\], model \[64, 64, 1, 1\]$' "$T/out"
else
  echo "SKIP: weights import (no python3 to write the input file)"
fi
expect_rc "weights import of a non-pth file is exit 2" 2 "$CLI" weights import "$T/gt.json" --arch resnet18
expect_grep "weights error names the file" 'gt\.json: not a PyTorch state dict file' "$T/err"

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

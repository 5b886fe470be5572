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
# The GUI's --help needs no display, and without one it says so instead of aborting.
GUI="$(dirname "$CLI")/studio"
if [ -x "$GUI" ]; then
  expect_rc "studio --help without a display" 0 env -u DISPLAY -u WAYLAND_DISPLAY -u QT_QPA_PLATFORM "$GUI" --help
  expect_grep "studio --help lists its options" "--dataset" "$T/out"
  expect_rc "studio without a display is exit 2" 2 env -u DISPLAY -u WAYLAND_DISPLAY -u QT_QPA_PLATFORM "$GUI" --demo
  expect_grep "studio without a display says why" "no display to open the window on" "$T/err"
fi
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

# Pascal VOC through the tokens: a VOCdevkit-style root with two images, one object marked
# difficult. VOC's 1-based inclusive corners become COCO boxes: xmin 11..xmax 50 is x 10, w 40.
V="$T/VOC2007"
mkdir -p "$V/Annotations" "$V/ImageSets/Main" "$V/JPEGImages"
voc_object() { printf '<object><name>%s</name><difficult>%s</difficult><bndbox><xmin>%s</xmin><ymin>%s</ymin><xmax>%s</xmax><ymax>%s</ymax></bndbox></object>' "$@"; }
printf '<annotation><filename>000001.jpg</filename><size><width>100</width><height>80</height><depth>3</depth></size>%s</annotation>\n' \
  "$(voc_object cat 0 11 21 50 60)" >"$V/Annotations/000001.xml"
printf '<annotation><filename>000002.jpg</filename><size><width>100</width><height>80</height><depth>3</depth></size>%s%s</annotation>\n' \
  "$(voc_object dog 0 1 1 20 20)" "$(voc_object dog 1 61 41 90 70)" >"$V/Annotations/000002.xml"
printf '000001\n000002\n' >"$V/ImageSets/Main/test.txt"
expect_rc "convert voc" 0 "$CLI" convert "voc:$V:test" --to-coco "$T/voc.json"
expect_grep "voc convert: corners to a COCO box" '"bbox":\[10(\.0)?,20(\.0)?,40(\.0)?,40(\.0)?\]' "$T/voc.json"
expect_grep "voc convert: the difficult flag is kept" '"difficult":(1|true)' "$T/voc.json"
expect_rc "convert voc with a missing split is exit 2" 2 "$CLI" convert "voc:$V:train" --to-coco "$T/voc_train.json"
expect_grep "missing split: names the file" 'ImageSets/Main/train\.txt' "$T/err"
[ ! -e "$T/voc_train.json" ] && ok "missing split: nothing written" || bad "missing split: nothing written"
# Bad input: a class outside the given names and a box outside its image are named by file and
# line (the XML has one line; the TXT list's box is on line 3), and the user's files stay as they were.
printf 'cat\n' >"$T/voc_names.txt"
printf '# boxes\n\na.jpg 10,2,130,8,0\n' >"$T/bad_box.txt"
before=$(cat "$V"/Annotations/*.xml "$T/voc_names.txt" "$T/bad_box.txt" | md5sum)
expect_rc "voc class outside --names is exit 2" 2 "$CLI" check --voc "$V" --split test --names "$T/voc_names.txt" --no-decode
expect_grep "outside class: names the XML file and line" "000002\.xml:1: <object>/<name>: unknown class 'dog' \(the names file .*voc_names\.txt lists cat\)" "$T/err"
cp "$T/shapes/images/000001.jpg" "$T/a.jpg"
expect_rc "txt box outside its image is exit 1" 1 "$CLI" check "txt:$T/bad_box.txt:$T" --no-decode --json "$T/bad_box.json"
expect_grep "outside box: names the list file and line" "bbox_out_of_bounds image=1 ann=1 at .*bad_box\.txt:3: " "$T/out"
expect_grep "outside box: the report has the source" '"source": *".*bad_box\.txt:3"' "$T/bad_box.json"
[ "$(cat "$V"/Annotations/*.xml "$T/voc_names.txt" "$T/bad_box.txt" | md5sum)" = "$before" ] && ok "bad input: files unchanged" || bad "bad input: files unchanged"
# VOC mAP: cat found exactly (AP 1). dog: the top detection (0.9) is on the difficult box, which
# neither counts nor penalises; then a false positive (0.8); then the normal dog (0.7): precision
# 1/2 at recall 1, AP 0.5 by both rules. mAP (1 + 0.5) / 2 = 0.75. Counted as a normal object,
# the difficult box would make the dog's AP 0.83 (area rule) and the mAP 0.92.
printf '[{"image_id": IMG1, "category_id": CAT, "bbox": [10, 20, 40, 40], "score": 0.95},
 {"image_id": IMG2, "category_id": DOG, "bbox": [60, 40, 30, 30], "score": 0.9},
 {"image_id": IMG2, "category_id": DOG, "bbox": [30, 30, 10, 10], "score": 0.8},
 {"image_id": IMG2, "category_id": DOG, "bbox": [0, 0, 20, 20], "score": 0.7}]\n' >"$T/voc_dt.in"
# The ids the VOC reader gave: images in split order, categories in VOC's class order (cat 8, dog 12).
id_of() { grep -oE "\{\"id\":[0-9]+,\"$1\":\"$2\"" "$T/voc.json" | grep -oE '[0-9]+' | head -1; }
sed -e "s/IMG1/$(id_of file_name '[^"]*000001\.jpg')/; s/IMG2/$(id_of file_name '[^"]*000002\.jpg')/g" \
    -e "s/CAT/$(id_of name cat)/; s/DOG/$(id_of name dog)/g" "$T/voc_dt.in" >"$T/voc_dt.json"
for method in area 11point; do
  expect_rc "eval voc:ROOT:SPLIT ($method)" 0 "$CLI" eval "voc:$V:test" --dt "$T/voc_dt.json" --voc-method "$method"
  expect_grep "voc $method: mAP 0.75" '^mAP +0\.7500$' "$T/out"
  expect_grep "voc $method: dog, 1 counted object, AP 0.5" '^dog +1 +3 +0\.5000$' "$T/out"
done

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

# Segm with a crowd region, end to end (files -> readers -> RLE -> matching -> summary). A 20x20
# image: the left half (columns 0-9) is a crowd region (uncompressed RLE), a 6x6 square object
# (polygon, area 36). The top detection (0.9) lies inside the crowd (an 8x16 box, IoU with the
# crowd region = intersection / detection area = 1): ignored, not a false positive. The second
# (0.8) is the square's own mask. AP = 1 at every IoU; counted as a false positive it would be
# 0.5. The RLE strings were written by pycocotools' mask.encode.
printf '{"images": [{"id": 1, "file_name": "a.jpg", "width": 20, "height": 20}],
 "categories": [{"id": 1, "name": "cat"}],
 "annotations": [
  {"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 1, "bbox": [0, 0, 10, 20], "area": 200,
   "segmentation": {"size": [20, 20], "counts": [0, 200, 200]}},
  {"id": 2, "image_id": 1, "category_id": 1, "iscrowd": 0, "bbox": [12, 2, 6, 6], "area": 36,
   "segmentation": [[12, 2, 18, 2, 18, 8, 12, 8]]}]}\n' >"$T/crowd_gt.json"
printf '[{"image_id": 1, "category_id": 1, "score": 0.9, "segmentation": {"size": [20, 20], "counts": "f0`040000000000000j6"}},
 {"image_id": 1, "category_id": 1, "score": 0.8, "segmentation": {"size": [20, 20], "counts": "b76>000000000V1"}}]\n' >"$T/crowd_dt.json"
expect_rc "eval segm with a crowd region" 0 "$CLI" eval --gt "$T/crowd_gt.json" --dt "$T/crowd_dt.json" --type segm
expect_grep "crowd: the detection inside it is ignored (AP 1)" '^ Average Precision  \(AP\) @\[ IoU=0\.50:0\.95 \| area=   all \| maxDets=100 \] = 1\.000$' "$T/out"
expect_grep "crowd: the object is found (AR 1)" '^ Average Recall     \(AR\) @\[ IoU=0\.50:0\.95 \| area=   all \| maxDets=100 \] = 1\.000$' "$T/out"
expect_grep "crowd: the object is small (APs 1)" '^ Average Precision  \(AP\) @\[ IoU=0\.50:0\.95 \| area= small \| maxDets=100 \] = 1\.000$' "$T/out"
# The same detections with the crowd flag cleared: the left half is an object the top detection
# overlaps with IoU 128 / 200 = 0.64, a true positive at IoU 0.50..0.60 only: at 0.75 a false
# positive ranked first, precision 0.5 up to recall 0.5, AP75 = 51 x 0.5 / 101 (pycocotools: 0.252).
sed 's/"iscrowd": 1/"iscrowd": 0/' "$T/crowd_gt.json" >"$T/nocrowd_gt.json"
expect_rc "eval segm without the crowd flag" 0 "$CLI" eval --gt "$T/nocrowd_gt.json" --dt "$T/crowd_dt.json" --type segm
expect_grep "no crowd: AP50 is 1" '^ Average Precision  \(AP\) @\[ IoU=0\.50      \| area=   all \| maxDets=100 \] = 1\.000$' "$T/out"
expect_grep "no crowd: AP75 is lower" '^ Average Precision  \(AP\) @\[ IoU=0\.75      \| area=   all \| maxDets=100 \] = 0\.252$' "$T/out"

mkdir -p "$T/runs/exp1/eval"
cp "$T/metrics.json" "$T/runs/exp1/eval/metrics_5.json"
printf 'model:\n  name: ssd_mobilenetv2\ndataset: demo\ntrain:\n  epochs: 3\ndevices: 1\n' >"$T/runs/exp1/config.yaml"
expect_rc "export-table csv" 0 "$CLI" export-table "$T/runs/exp1" "$T/metrics.json" --format csv
expect_grep "csv header" '^name,model,dataset,devices,epochs,images/s,box AP,mask AP,box AP50,box AP75,box APs,box APm,box APl$' "$T/out"
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
       -o 'data.test_input.short_side=[64]' -o data.test_input.long_side=64
       -o model.test.score_thr=0 -o model.test.update_thr=0)  # the 2-step model's detections are kept, to be compared
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
expect_rc "infer on a dataset" 0 "$CLI" infer --config "$CFG" --weights "$T/runs/tiny/checkpoints/best.pt" "$TINY" --out "$T/tiny_results.json" --vis "$T/vis" --batch-size 4 "${SMALL[@]}"
[ "$(ls "$T/vis" | wc -l)" -eq 8 ] && ok "infer drew 8 images" || bad "infer drew 8 images"
expect_rc "infer results evaluate" 0 "$CLI" eval --gt "$T/tiny/annotations.json" --dt "$T/tiny_results.json" --type segm \
  --json "$T/infer_metrics.json"
# best.pt is epoch 1's weights, which the trainer evaluated on the same 8 images in batches of 4:
# infer (batches of 4) writes the detections of the run's results_1.json (a 2-step model scores
# AP 0, so the detections themselves are compared), and eval gives metrics_1.json's 12 numbers.
if python3 - "$T/runs/tiny/eval/metrics_1.json" "$T/infer_metrics.json" "$T/runs/tiny/eval/results_1.json" \
     "$T/tiny_results.json" >"$T/cmp" 2>&1 <<'PY'
import json, sys
a, b = (json.load(open(p))["segm"]["stats"] for p in sys.argv[1:3])
bad = [k for k in a if abs(a[k] - b[k]) > 1e-9 or not (a[k] == -1 or 0 <= a[k] <= 1)]
key = lambda d: (d["image_id"], d["category_id"], round(d["score"], 6), d["segmentation"]["counts"])
ra, rb = (sorted(map(key, json.load(open(p)))) for p in sys.argv[3:5])
print("%d and %d detections, AP %.4f and %.4f; numbers that differ: %s" % (len(ra), len(rb), a["AP"], b["AP"], bad))
sys.exit(1 if bad or len(a) != 12 or ra != rb or not ra else 0)
PY
then ok "infer + eval give the trainer's segm numbers ($(cat "$T/cmp"))"; else bad "infer + eval vs the trainer's metrics: $(cat "$T/cmp")"; fi
expect_rc "infer on an image folder" 0 "$CLI" infer --config "$CFG" --weights "$T/runs/tiny/checkpoints/last.pt" --images "$T/tiny/images" --out "$T/folder_results.json" "${SMALL[@]}"
expect_grep "infer counts the images" 'on 8 images' "$T/out"
expect_rc "infer with missing weights is exit 2" 2 "$CLI" infer --config "$CFG" --weights "$T/nope.pt" "$TINY" --out "$T/x.json" "${SMALL[@]}"
expect_grep "names the weights file" 'nope\.pt' "$T/err"

# Weights: a torchvision-named ResNet-18 state dict in torch.save's zip layout (written by a
# stdlib python3 script) maps onto the backbone; --out writes what a recipe's pretrained reads.
D="$(dirname "$0")/data/pth"
# python3 is a test dependency (installer/install-deps.sh): without it this block fails.
if python3 "$D/make_state.py" resnet18 "$T/r18.pth"; then
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
  # A state dict saved from a DataParallel model: every key under "module.".
  python3 "$D/make_state.py" resnet18 "$T/dp.pth" --prefix module.
  expect_rc "weights import of a DataParallel state dict" 0 "$CLI" weights import "$T/dp.pth" --arch resnet18 \
    --out "$T/pre/dp.pt"
  expect_grep "module. prefix: every key matched" '^matched: 100$' "$T/out"
  expect_grep "module. prefix: none missing" '^missing: 0$' "$T/out"
  cmp -s "$T/pre/r18.pt" "$T/pre/dp.pt" && ok "module. prefix: the same weights as without it" \
    || bad "module. prefix: the imported weights differ from the plain state dict's"
  # A backbone's file given as a whole Mask R-CNN: refused, naming the key it lacks; nothing written.
  expect_rc "weights import of a ResNet file as Mask R-CNN is exit 2" 2 "$CLI" weights import "$T/r18.pth" \
    --arch maskrcnn_resnet50_fpn --out "$T/pre/m.ckpt"
  expect_grep "not a Mask R-CNN: names the box predictor key" 'roi_heads\.box_predictor\.cls_score\.weight is missing' "$T/err"
  [ ! -e "$T/pre/m.ckpt" ] && ok "refused Mask R-CNN import writes nothing" || bad "refused Mask R-CNN import wrote m.ckpt"
  # qfgaohao's SSD-MobileNetV2-Lite (keys and shapes of its 21-output VOC model): every weight
  # matches (478 tensors less 74 BatchNorm counters), the checkpoint is written; a ResNet file is
  # refused naming the head key it lacks, and nothing is written.
  python3 "$D/make_state.py" mb2_ssd_lite "$T/ssd.pth"
  expect_rc "weights import mb2_ssd_lite" 0 "$CLI" weights import "$T/ssd.pth" --arch mb2_ssd_lite --out "$T/pre/ssd.ckpt"
  expect_grep "mb2_ssd_lite: VOC's 20 classes" '20 classes \+ background' "$T/out"
  expect_grep "mb2_ssd_lite: every weight matched" '^matched: 404$' "$T/out"
  expect_grep "mb2_ssd_lite: none missing" '^missing: 0$' "$T/out"
  [ -f "$T/pre/ssd.ckpt" ] && ok "mb2_ssd_lite checkpoint written" || bad "mb2_ssd_lite checkpoint not written"
  expect_rc "weights import of a ResNet file as mb2_ssd_lite is exit 2" 2 "$CLI" weights import "$T/r18.pth" \
    --arch mb2_ssd_lite --out "$T/pre/s2.ckpt"
  expect_grep "not an SSD: names the head key" 'classification_headers\.5\.weight is missing' "$T/err"
  [ ! -e "$T/pre/s2.ckpt" ] && ok "refused SSD import writes nothing" || bad "refused SSD import wrote s2.ckpt"
else
  bad "weights import: python3 could not write the input file (python3 is a test dependency)"
fi
expect_rc "weights import of a non-pth file is exit 2" 2 "$CLI" weights import "$T/gt.json" --arch resnet18
expect_grep "weights error names the file" 'gt\.json: not a PyTorch state dict file' "$T/err"

# MindSpore's ssd_resnet50_fpn (.ckpt, the reference's names and shapes, 3 classes + background, no
# "network." prefix; written by a numpy script: Debian's python3-numpy, which python3-torchvision
# brings): every weight matches and the checkpoint is written; another model's .ckpt and a .pth are
# refused, naming the tensor or the format, and nothing is written.
MSPY=python3
[ -x /usr/bin/python3 ] && MSPY=/usr/bin/python3
if "$MSPY" "$(dirname "$0")/mindspore/write_ssd_r50fpn_ckpt.py" "$T/ms" ssd_r50fpn_infer.ckpt other_model.ckpt >/dev/null; then
  expect_rc "weights import ssd_resnet50_fpn" 0 "$CLI" weights import "$T/ms/ssd_r50fpn_infer.ckpt" \
    --arch ssd_resnet50_fpn --out "$T/pre/r50fpn.ckpt"
  expect_grep "ssd_resnet50_fpn: classes from the head" '3 classes \+ background' "$T/out"
  expect_grep "ssd_resnet50_fpn: every weight matched" '^matched: 476$' "$T/out"
  expect_grep "ssd_resnet50_fpn: none missing" '^missing: 0$' "$T/out"
  [ -f "$T/pre/r50fpn.ckpt" ] && ok "ssd_resnet50_fpn checkpoint written" || bad "ssd_resnet50_fpn checkpoint not written"
  expect_rc "weights import of another model's .ckpt as ssd_resnet50_fpn is exit 2" 2 "$CLI" weights import \
    "$T/ms/other_model.ckpt" --arch ssd_resnet50_fpn --out "$T/pre/r2.ckpt"
  expect_grep "not ssd_resnet50_fpn: names the tensor" "tensor 'network\.backbone\.conv1\.weight' is not a parameter" "$T/err"
  [ ! -e "$T/pre/r2.ckpt" ] && ok "refused ssd_resnet50_fpn import writes nothing" || bad "refused ssd_resnet50_fpn import wrote r2.ckpt"
  if [ -f "$T/r18.pth" ]; then
    expect_rc "weights import of a .pth as ssd_resnet50_fpn is exit 2" 2 "$CLI" weights import "$T/r18.pth" \
      --arch ssd_resnet50_fpn
    expect_grep "a .pth as ssd_resnet50_fpn: says it wants a MindSpore .ckpt" 'a PyTorch state dict file; --arch ssd_resnet50_fpn imports MindSpore checkpoints' "$T/err"
  fi
  rm -rf "$T/ms" "$T/pre/r50fpn.ckpt"  # 260 MB
else
  bad "weights import ssd_resnet50_fpn: $MSPY (with numpy) could not write the .ckpt files"
fi

# The structure a recipe builds: torchvision's Mask R-CNN R50-FPN, 81 outputs for COCO's 80 classes
# (torchvision's 91-output model has 44,401,393; 10 classes fewer remove 10 x (1024 + 1) scores,
# 40 x (1024 + 1) deltas and 10 x (256 + 1) mask logits); its anchors for a 480x640 image resized
# to 800x1066 and padded to 800x1088: 3 per cell of 200x272, 100x136, 50x68, 25x34 and 13x17.
MRCNN="$(cd "$(dirname "$0")/.." && pwd)/configs/mask_rcnn_r50_fpn_1x_coco.yaml"
expect_rc "model --config mask_rcnn" 0 "$CLI" model --config "$MRCNN" --anchors "$T/anchors.txt" --image-size 480x640
expect_grep "model: parameter count" '44,347,573 parameters' "$T/out"
expect_grep "model: roi_heads listed" '^roi_heads ' "$T/out"
[ "$(wc -l < "$T/anchors.txt")" -eq 217413 ] && ok "model --anchors: 217413 anchors" \
  || bad "model --anchors: $(wc -l < "$T/anchors.txt") lines, wanted 217413"
expect_grep "model --anchors: P2's first anchor" '^-23 -11 23 11$' "$T/anchors.txt"
# SSD-MobileNetV2-Lite's recipe: the reference's 3,388,228 parameters for VOC, and its 3000 priors
# in pixels of the 300x300 input, the first the 60-pixel square around (8, 8).
SSDR="$(cd "$(dirname "$0")/.." && pwd)/configs/ssd_mobilenetv2_lite_voc.yaml"
expect_rc "model --config ssd_mobilenetv2_lite" 0 "$CLI" model --config "$SSDR" --anchors "$T/priors.txt"
expect_grep "model: SSD parameter count" '3,388,228 parameters' "$T/out"
[ "$(wc -l < "$T/priors.txt")" -eq 3000 ] && ok "model --anchors: 3000 SSD priors" \
  || bad "model --anchors: $(wc -l < "$T/priors.txt") SSD priors, wanted 3000"
expect_grep "model --anchors: the first SSD prior" '^-22(\.0*[0-9]*)? -22(\.0*[0-9]*)? 38 38$' "$T/priors.txt"
# SSD-ResNet50-FPN's COCO recipe: MindSpore's 33,294,654 parameters (the sum over the reference's
# parameter shapes, tests/mindspore/write_ssd_r50fpn_ckpt.py) and its 51,150 grid anchors, the first
# the 32-pixel square around (4, 4), the last 512 wide and 1024 high around (576, 576).
R50FPN="$(cd "$(dirname "$0")/.." && pwd)/configs/ssd_resnet50_fpn_coco.yaml"
expect_rc "model --config ssd_resnet50_fpn" 0 "$CLI" model --config "$R50FPN" --anchors "$T/grid.txt"
expect_grep "model: SSD-ResNet50-FPN parameter count" '33,294,654 parameters' "$T/out"
[ "$(wc -l < "$T/grid.txt")" -eq 51150 ] && ok "model --anchors: 51150 grid anchors" \
  || bad "model --anchors: $(wc -l < "$T/grid.txt") grid anchors, wanted 51150"
expect_grep "model --anchors: the first grid anchor" '^-12 -12 20 20$' "$T/grid.txt"
[ "$(tail -n 1 "$T/grid.txt")" = "320 64 832 1088" ] && ok "model --anchors: the last grid anchor" \
  || bad "model --anchors: the last grid anchor is $(tail -n 1 "$T/grid.txt")"
expect_rc "model --anchors of an anchor-free model is exit 2" 2 "$CLI" model --config "$CFG" --anchors "$T/a2.txt"
expect_grep "anchor-free named" 'anchor-free' "$T/err"
expect_rc "model --image-size must be HxW" 2 "$CLI" model --config "$MRCNN" --anchors "$T/a3.txt" --image-size 480
expect_grep "bad --image-size named" 'HEIGHTxWIDTH' "$T/err"

# Data-parallel training (issue 5): `train --nproc 2` launches two CPU workers (Gloo) and must
# follow the loss of one process with twice the batch; a worker killed with -9 ends the job with
# a message naming its rank and --resume (with another number of processes) completes with each
# iteration in events.jsonl exactly once; SIGTERM stops cleanly; a save killed half-way leaves
# the previous last.pt. 16 images of 64 pixels, 4 steps an epoch (2 x 2 or 1 x 4 images).
"$CLI" synth --out "$T/dp" --images 16 --seed 7 --size 64 >/dev/null 2>&1
DPSET="coco:$T/dp/annotations.json:$T/dp/images"
DP=(--train-data "$DPSET" --val-data "$DPSET" -o data.workers=1 -o 'data.input.short_side=[64]' -o data.input.long_side=64
    -o 'data.test_input.short_side=[64]' -o data.test_input.long_side=64 -o train.log_interval=1 -o model.backbone.norm=gn
    -o train.amp=false)  # float: the loss comparisons below are to 1e-4
train_iters() { grep '"type":"train"' "$1" | sed -E 's/.*"iter":([0-9]+).*/\1/'; }
train_losses() { grep '"type":"train"' "$1" | sed -E 's/.*[{,]"loss":([-+0-9.eE]+).*/\1/'; }
# Train iterations are 1..N, each once (no lost or repeated iteration).
expect_iters_once() {  # expect_iters_once NAME EVENTS N
  local got want
  got=$(train_iters "$2" | tr '\n' ' ')
  want=$(seq 1 "$3" | tr '\n' ' ')
  if [ "$got" = "$want" ]; then ok "$1"; else bad "$1: iterations '$got', wanted '$want'"; fi
}
# Waits (up to 120 s) for a line matching PATTERN in FILE while process PID lives.
wait_for_line() {  # wait_for_line PATTERN FILE PID
  for _ in $(seq 1 1200); do
    grep -qE -- "$1" "$2" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
# The worker of the launcher PID whose environment has RANK=R.
worker_pid() {  # worker_pid LAUNCHER_PID R
  local p
  for p in $(pgrep -P "$1"); do
    tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "RANK=$2" && { echo "$p"; return 0; }
  done
  return 1
}

expect_rc "devices" 0 "$CLI" devices
expect_grep "devices lists the cpu" '^cpu +[0-9]+ cores?$' "$T/out"
expect_rc "devices --json" 0 "$CLI" devices --json
expect_grep "devices json has the cpu" '"devices":\[\{"type":"cpu","name":"cpu","cores":[0-9]+\}' "$T/out"

expect_rc "train --nproc 2" 0 "$CLI" train --config "$CFG" --out "$T/runs/dp2" --nproc 2 --threads 1 -o train.epochs=1 \
  -o train.batch_size=2 "${DP[@]}"
expect_grep "the launcher starts 2 workers" 'launcher: 2 workers on node 0 of 1 \(ranks 0\.\.1 of 2\)' "$T/err"
expect_grep "only rank 0 prints progress" 'epoch 1/1 iter 4/4 ' "$T/err"
[ "$(grep -c 'epoch 1/1 iter 4/4 ' "$T/err")" -eq 1 ] && ok "one progress line per iteration" || bad "one progress line per iteration"
expect_grep "start event has world_size 2" '"type":"start".*"world_size":2' "$T/runs/dp2/events.jsonl"
expect_iters_once "nproc 2: each iteration once" "$T/runs/dp2/events.jsonl" 4
expect_grep "nproc 2 evaluates" '"type":"eval".*"segm":\{"AP"' "$T/runs/dp2/events.jsonl"
expect_rc "train 1 process x batch 4" 0 "$CLI" train --config "$CFG" --out "$T/runs/dp1" --threads 1 -o train.epochs=1 \
  -o train.batch_size=4 "${DP[@]}"
# Same seed: 2 x 2 images follow 1 x 4 images over the first 3 iterations (relative 1e-4; measured
# here: 1e-7).
paste <(train_losses "$T/runs/dp2/events.jsonl" | head -3) <(train_losses "$T/runs/dp1/events.jsonl" | head -3) >"$T/losses"
if [ "$(wc -l <"$T/losses")" -eq 3 ] &&
   awk '{ d = $1 - $2; if (d < 0) d = -d; m = ($2 < 0 ? -$2 : $2); if (d > 1e-4 * m + 1e-6) bad = 1 } END { exit bad }' "$T/losses"; then
  ok "2 x batch 2 losses match 1 x batch 4"
else
  bad "2 x batch 2 losses match 1 x batch 4 (nproc 2 | nproc 1):"; cat "$T/losses"
fi

# kill -9 of rank 1 in epoch 2 of 3: the launcher ends the job and names the rank.
"$CLI" train --config "$CFG" --out "$T/runs/kill" --nproc 2 --threads 1 -o train.epochs=3 -o train.batch_size=2 "${DP[@]}" \
  >"$T/kill.out" 2>"$T/kill.err" &
LPID=$!
if wait_for_line '"type":"train".*"epoch":2' "$T/runs/kill/events.jsonl" "$LPID" && W1=$(worker_pid "$LPID" 1); then
  kill -9 "$W1"
  SECONDS=0
  wait "$LPID"
  rc=$?
  [ "$rc" -ne 0 ] && ok "a killed worker fails the job (exit $rc)" || bad "a killed worker fails the job (exit 0)"
  [ "$SECONDS" -lt 60 ] && ok "the job ends within 60 s of the kill (${SECONDS}s)" || bad "the job ends within 60 s (${SECONDS}s)"
  expect_grep "the launcher names the killed rank" "launcher: rank 1 \(pid $W1\) was killed by signal 9 \(SIGKILL\)" "$T/kill.err"
  expect_rc "resume with 1 process after the kill" 0 "$CLI" train --config "$CFG" --out "$T/runs/kill" --resume --nproc 1 \
    --threads 1 -o train.epochs=3 -o train.batch_size=2 "${DP[@]}"
  expect_grep "the resumed run finishes" '^finished: ' "$T/out"
  expect_grep "a resume event is written" '"type":"resume"' "$T/runs/kill/events.jsonl"
  n=$(train_iters "$T/runs/kill/events.jsonl" | tail -1)
  expect_iters_once "after kill + resume: each iteration once" "$T/runs/kill/events.jsonl" "${n:-0}"
  expect_grep "the last iteration is in epoch 3" "\"type\":\"train\".*\"epoch\":3,\"iter\":${n:-0}," "$T/runs/kill/events.jsonl"
else
  bad "kill -9 of a worker: the run did not reach epoch 2 or rank 1 was not found"; cat "$T/kill.err"
  kill "$LPID" 2>/dev/null; wait "$LPID" 2>/dev/null
fi

# A rank that stalls (SIGSTOP: alive to the kernel, silent to the others): rank 0, waiting for it
# in a collective, names it with its last iteration after --stall-timeout (heartbeats through the
# c10d store), well before the collectives' 60 s timeout, and the launcher ends the job without
# calling rank 1's end a fault of its own.
"$CLI" train --config "$CFG" --out "$T/runs/stall" --nproc 2 --threads 1 -o train.epochs=3 -o train.batch_size=2 \
  --stall-timeout 3 "${DP[@]}" >"$T/stall.out" 2>"$T/stall.err" &
LPID=$!
if wait_for_line '"type":"train".*"iter":2,' "$T/runs/stall/events.jsonl" "$LPID" && W1=$(worker_pid "$LPID" 1); then
  kill -STOP "$W1"
  SECONDS=0
  wait "$LPID"
  rc=$?
  [ "$rc" -ne 0 ] && ok "a stalled worker fails the job (exit $rc)" || bad "a stalled worker fails the job (exit 0)"
  [ "$SECONDS" -lt 30 ] && ok "the job ends within 30 s of the stall (${SECONDS}s)" \
    || bad "the job ends within 30 s of the stall (${SECONDS}s)"
  expect_grep "rank 0 names the stalled rank and its iteration" \
    'rank 0: .*rank 1 stalled: no heartbeat for 3 s .*its last heartbeat was in iteration [0-9]+' "$T/stall.err"
  expect_grep "the error event says so" '"type":"error".*rank 1 stalled' "$T/runs/stall/events.jsonl"
  expect_grep "the launcher: rank 0 failed" "launcher: rank 0 \(pid [0-9]+\) exited with code" "$T/stall.err"
  expect_grep "the launcher: rank 1 was ended by it" "launcher: rank 1 \(pid $W1\) (was ended by the launcher|ended \(exit code [0-9]+\) after the launcher stopped it)" "$T/stall.err"
  kill -CONT "$W1" 2>/dev/null
else
  bad "stalled worker: the run did not reach iteration 2 or rank 1 was not found"; cat "$T/stall.err"
  kill "$LPID" 2>/dev/null; wait "$LPID" 2>/dev/null
fi
expect_rc "--stall-timeout takes seconds" 2 "$CLI" train --config "$CFG" --out "$T/runs/bad" --stall-timeout abc "${DP[@]}"
expect_grep "--stall-timeout says what it expects" 'train.stall_timeout.*expected' "$T/err"

# SIGTERM (the GUI's Stop) to the launcher mid-epoch: both workers stop at the same iteration,
# last.pt written, "stopped at iteration", exit 0.
"$CLI" train --config "$CFG" --out "$T/runs/fault" --nproc 2 --threads 1 -o train.epochs=2 -o train.batch_size=2 "${DP[@]}" \
  >"$T/term.out" 2>"$T/term.err" &
PID=$!
if wait_for_line '"type":"train".*"iter":2,' "$T/runs/fault/events.jsonl" "$PID"; then
  kill -TERM "$PID"
  wait "$PID"
  rc=$?
  [ "$rc" -eq 0 ] && ok "SIGTERM stops with exit 0" || { bad "SIGTERM stops with exit 0 (exit $rc)"; cat "$T/term.err"; }
  expect_grep "SIGTERM: stopped at iteration" 'stopped at iteration [0-9]+; continue with --resume' "$T/term.err"
  [ -f "$T/runs/fault/checkpoints/last.pt" ] && ok "SIGTERM wrote last.pt" || bad "SIGTERM wrote last.pt"
else
  bad "SIGTERM: the run did not reach iteration 2"; cat "$T/term.err"
  kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null
fi
# A save killed half-way (checkpoint.h's test hook), on 2 processes: the job fails naming rank 0,
# last.pt is still the one SIGTERM wrote, and --resume (1 process x 4 images) completes from it.
cp "$T/runs/fault/checkpoints/last.pt" "$T/good_last.pt" 2>/dev/null
expect_rc "a save killed half-way fails the job" 137 env STUDIO_FAULT_KILL_DURING_SAVE=1 "$CLI" train --config "$CFG" \
  --out "$T/runs/fault" --resume --nproc 2 --threads 1 -o train.epochs=2 -o train.batch_size=2 "${DP[@]}"
expect_grep "the launcher names rank 0" 'launcher: rank 0 \(pid [0-9]+\) was killed by signal 9 \(SIGKILL\)' "$T/err"
cmp -s "$T/good_last.pt" "$T/runs/fault/checkpoints/last.pt" && ok "last.pt is the previous checkpoint" \
  || bad "last.pt is the previous checkpoint"
# The kill came inside the real write: its temporary file is there, holding half of a checkpoint.
part=$(ls -A "$T/runs/fault/checkpoints" | grep -E '^\.last\.pt\.tmp[0-9]+$' | head -1)
if [ -n "$part" ]; then
  psize=$(stat -c %s "$T/runs/fault/checkpoints/$part")
  gsize=$(stat -c %s "$T/good_last.pt")
  [ "$psize" -gt 0 ] && [ $((psize * 4)) -gt "$gsize" ] && [ $((psize * 4)) -lt $((gsize * 3)) ] &&
    ok "the killed save left half a checkpoint in its temporary file ($psize of ~$gsize bytes)" ||
    bad "the killed save's temporary file holds $psize bytes, wanted about half of $gsize"
else
  bad "the killed save left no temporary file (was it killed inside the write?)"; ls -la "$T/runs/fault/checkpoints"
fi
expect_rc "resume after the killed save" 0 "$CLI" train --config "$CFG" --out "$T/runs/fault" --resume --threads 1 \
  -o train.epochs=2 -o train.batch_size=4 "${DP[@]}"
expect_grep "the resumed run finishes" '^finished: ' "$T/out"
expect_grep "resume removes the interrupted save" "resume: removed $part, left by a save that was interrupted" "$T/runs/fault/log.txt"
[ -z "$(ls -A "$T/runs/fault/checkpoints" | grep -E '\.tmp')" ] && ok "no temporary file is left after the resume" \
  || bad "temporary files left after the resume: $(ls -A "$T/runs/fault/checkpoints")"
expect_iters_once "after stop, killed save and resume: each iteration once" "$T/runs/fault/events.jsonl" 8

# The SSD shapes recipes as shipped (their data paths, relative to configs/, name out/ beside it):
# shapes written as a VOC folder and as a TXT list, one short epoch each, scored by VOC07 mAP.
REPO="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$T/ssd/configs"
cp "$REPO"/configs/ssd_mobilenetv2_lite_{voc,shapes_cpu,shapes_txt_cpu}.yaml "$T/ssd/configs/"
for f in voc txt; do
  expect_rc "synth --format $f" 0 "$CLI" synth --format $f --out "$T/ssd/out/shapes300-$f-train" --images 4 --seed 1 --size 96
  expect_grep "synth --format $f names how to read it" "read it as (--voc|txt:)" "$T/out"
  expect_rc "synth --format $f val" 0 "$CLI" synth --format $f --out "$T/ssd/out/shapes300-$f-val" --images 2 --seed 2 \
    --size 96 --split test
done
[ -f "$T/ssd/out/shapes300-voc-train/Annotations/000001.xml" ] && [ -f "$T/ssd/out/shapes300-voc-train/ImageSets/Main/trainval.txt" ] \
  && ok "synth --format voc writes a VOC folder" || bad "synth --format voc writes a VOC folder"
expect_rc "check the TXT shapes" 0 "$CLI" check "txt:$T/ssd/out/shapes300-txt-train/trainval.txt:$T/ssd/out/shapes300-txt-train/images:$T/ssd/out/shapes300-txt-train/names.txt"
for r in shapes_cpu shapes_txt_cpu; do
  expect_rc "SSD recipe $r trains" 0 "$CLI" train --config "$T/ssd/configs/ssd_mobilenetv2_lite_$r.yaml" --out "$T/ssd/run_$r" \
    --threads 1 -o train.epochs=1 -o train.batch_size=2 -o train.eval_interval=1 -o data.workers=0
  expect_grep "SSD recipe $r is scored by VOC07 mAP" '"type": *"eval".*"voc": *\{"mAP"' "$T/ssd/run_$r/events.jsonl"
done

# SSD-ResNet50-FPN's shapes recipe as shipped: MindSpore's augmentation and schedule, one short
# epoch, scored by COCO box AP.
cp "$REPO"/configs/ssd_resnet50_fpn_{coco,shapes_cpu}.yaml "$T/ssd/configs/"
expect_rc "synth shapes128" 0 "$CLI" synth --out "$T/ssd/out/shapes128-train" --images 4 --seed 1 --size 128
expect_rc "synth shapes128 val" 0 "$CLI" synth --out "$T/ssd/out/shapes128-val" --images 2 --seed 2 --size 128
expect_rc "SSD-ResNet50-FPN shapes recipe trains" 0 "$CLI" train --config "$T/ssd/configs/ssd_resnet50_fpn_shapes_cpu.yaml" \
  --out "$T/ssd/run_r50fpn" --threads 1 -o train.epochs=1 -o train.batch_size=2 -o train.eval_interval=1 -o data.workers=0
expect_grep "SSD-ResNet50-FPN logs its focal and box terms" '"loss_cls":.*"loss_bbox":' "$T/ssd/run_r50fpn/events.jsonl"
expect_grep "SSD-ResNet50-FPN is scored by COCO box AP" '"type": *"eval".*"bbox": *\{' "$T/ssd/run_r50fpn/events.jsonl"

# An error on the workers (a train.amp value the Trainer refuses; the launcher only parses the YAML)
# is printed with each rank.
expect_rc "a worker error fails the job" 2 "$CLI" train --config "$CFG" --out "$T/runs/amp" --nproc 2 --threads 1 \
  --device cpu -o train.epochs=1 -o train.batch_size=2 "${DP[@]}" -o train.amp=maybe
expect_grep "the error names its rank" "^error: rank [01]: .*train.amp.*'maybe' is not one of: false, true, auto" "$T/err"
expect_grep "the launcher names the failed rank" 'launcher: rank [01] \(pid [0-9]+\) exited with code 2' "$T/err"

expect_rc "--nproc 0 is exit 2" 2 "$CLI" train --config "$CFG" --out "$T/runs/bad" --nproc 0 "${DP[@]}"
expect_grep "--nproc 0 says why" '--nproc 0: expected at least 1' "$T/err"
expect_rc "--node-rank outside --nnodes is exit 2" 2 "$CLI" train --config "$CFG" --out "$T/runs/bad" --nproc 2 --nnodes 2 \
  --node-rank 2 --master-port 29999 "${DP[@]}"
expect_grep "--node-rank says why" '--node-rank 2: expected 0\.\.1' "$T/err"
expect_rc "--nproc inside a worker is exit 2" 2 env RANK=0 WORLD_SIZE=2 "$CLI" train --config "$CFG" --out "$T/runs/bad" \
  --nproc 2 "${DP[@]}"
expect_grep "--nproc inside a worker says why" 'RANK is set' "$T/err"

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

#!/usr/bin/env bash
# Every mistake a `spikeglue run` user can make gives exactly one line on stderr that names the
# problem (the flag, file:line, path or step), and a non-zero exit: never a crash, never silence.
# Also: --help lists every flag with its default, and a refused output_dir is left untouched.
set -uo pipefail
BUILD=$1 SRC=$2
SG=$BUILD/spikeglue
[ -x "$SG" ] || { echo "no $SG"; exit 1; }
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
export HF_HUB_CACHE=$W/hub # an empty model cache: nothing is found there by accident
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

$SG synth --out "$W/data" --train_rows 64 --dev_rows 32 > /dev/null || { echo "FAIL synth"; exit 1; }
BASE=(--model_name_or_path builtin:tiny --task_name sst2 --data_dir "$W/data" --max_seq_length 64)

# expect_error(name, regex, args...): non-zero exit below 128 (no crash), one stderr line matching regex
expect_error() {
  local name=$1 pattern=$2; shift 2
  "$SG" run "$@" > "$W/out" 2> "$W/err"
  local rc=$? lines msg
  lines=$(grep -c . "$W/err")
  msg=$(cat "$W/err")
  if [ $rc -ne 0 ] && [ $rc -lt 128 ] && [ "$lines" = 1 ] && grep -Eq -- "$pattern" "$W/err"; then
    ok "$name (exit $rc): $msg"
  else
    bad "$name (exit $rc, $lines stderr lines, expected /$pattern/): $msg"
  fi
}

# ---- flags
# (a prefix such as --learning_rat selects --learning_rate, as argparse's allow_abbrev: a typo must not be one)
expect_error unknown_flag "unknown flag --learnig_rate \(did you mean --learning_rate\?\)" \
  "${BASE[@]}" --do_train --output_dir "$W/o" --learnig_rate 1e-3
expect_error bad_number "--learning_rate: expected a number, not 'abc'" "${BASE[@]}" --do_train --output_dir "$W/o" --learning_rate abc
expect_error missing_value "--output_dir needs a value" "${BASE[@]}" --do_train --output_dir
expect_error bad_strategy "--eval_strategy: expected no, steps or epoch, not 'sometimes'" \
  "${BASE[@]}" --do_train --output_dir "$W/o" --eval_strategy sometimes
expect_error no_output_dir "--output_dir is required" "${BASE[@]}" --do_train
expect_error nothing_to_do "nothing to do" "${BASE[@]}" --output_dir "$W/o"
expect_error seq_length "--max_seq_length 2 out of range" "${BASE[@]}" --do_eval --output_dir "$W/o" --max_seq_length 2

# ---- --help: every flag, each with its default
"$SG" run --help > "$W/help" 2>&1
rc=$?
if [ $rc = 0 ] && grep -Eq -- "--learning_rate +.*\(default: 5e-05\)" "$W/help" && grep -Eq -- "--num_train_epochs +.*\(default: 3\)" "$W/help" \
   && grep -Eq -- "--per_device_train_batch_size +.*\(default: 8\)" "$W/help" && grep -Eq -- "--output_dir +.*\(default: none\)" "$W/help"; then
  ok "--help lists the flags with their defaults"
else
  bad "--help (exit $rc) lacks flags or defaults"
fi
flags=$(grep -cE "^  --" "$W/help")
defaults=$(grep -cE "^  --.*\(default: [^)]*\)$" "$W/help")
[ "$flags" -ge 40 ] && [ "$flags" = "$defaults" ] && ok "--help: $flags flags, each with a default" || bad "--help: $flags flags, $defaults with a default"

# ---- output directory: a non-empty one is refused and left alone
mkdir -p "$W/full"; echo keep > "$W/full/notes.txt"
expect_error refused_overwrite "full: output directory exists and is not empty \(use --overwrite_output_dir" \
  "${BASE[@]}" --do_train --output_dir "$W/full"
[ "$(ls "$W/full")" = notes.txt ] && [ "$(cat "$W/full/notes.txt")" = keep ] && ok "the refused output_dir is untouched" || bad "the refused output_dir was changed"

# ---- task and data
expect_error unknown_task "unknown GLUE task 'sst3' \(valid: cola, sst2" \
  --model_name_or_path builtin:tiny --task_name sst3 --data_dir "$W/data" --do_train --output_dir "$W/o"
expect_error missing_data_dir "nodata.*not found" \
  --model_name_or_path builtin:tiny --task_name sst2 --data_dir "$W/nodata" --do_train --output_dir "$W/o"
expect_error missing_task_folder "data/RTE: task folder not found" \
  --model_name_or_path builtin:tiny --task_name rte --data_dir "$W/data" --do_eval --output_dir "$W/o"
mkdir -p "$W/badtsv/SST-2"; printf 'sentence\tlabel\ngood film\t1\n' > "$W/badtsv/SST-2/train.tsv"
printf 'sentence\nbad film\n' > "$W/badtsv/SST-2/dev.tsv"
expect_error header_lacks_label "badtsv/SST-2/dev.tsv:1: header lacks column 'label'" \
  --model_name_or_path builtin:tiny --task_name sst2 --data_dir "$W/badtsv" --do_eval --output_dir "$W/o"

[ ! -e "$W/o" ] && ok "no output_dir is created for a run refused before it starts" || bad "a refused run created $W/o"

# ---- a checkpoint whose trainer_state.json is damaged: one line naming the file and key
"$SG" run "${BASE[@]}" --do_train --max_steps 2 --save_steps 2 --save_strategy steps --output_dir "$W/ck" > /dev/null 2>&1 \
  || bad "making a checkpoint to damage"
ST=$W/ck/checkpoint-2/trainer_state.json
cp "$ST" "$W/state.orig"
python3 -c 'import json,sys; p=sys.argv[1]; d=json.load(open(p)); del d["spikeglue"]["logged_steps"]; json.dump(d, open(p,"w"))' "$ST"
expect_error state_missing_key "checkpoint-2/trainer_state.json: key 'spikeglue.logged_steps' is missing" \
  "${BASE[@]}" --do_train --max_steps 4 --output_dir "$W/ck" --resume_from_checkpoint "$W/ck/checkpoint-2"
python3 -c 'import json,sys; p=sys.argv[1]; d=json.load(open(p)); d["spikeglue"]["lsq_init_calls"]="x"; json.dump(d, open(p,"w"))' "$ST"
expect_error state_wrong_type "trainer_state.json: key 'spikeglue.logged_steps'|trainer_state.json: key 'spikeglue.lsq_init_calls'" \
  "${BASE[@]}" --do_train --max_steps 4 --output_dir "$W/ck" --resume_from_checkpoint "$W/ck/checkpoint-2"
printf '{"global_step": 2, "log_his' > "$ST"
expect_error state_truncated "checkpoint-2/trainer_state.json: not valid JSON" \
  "${BASE[@]}" --do_train --max_steps 4 --output_dir "$W/ck" --resume_from_checkpoint "$W/ck/checkpoint-2"

# ---- a custom task's labels keep their names in id2label and in the predictions
{ echo "sentence1,label"; for i in $(seq 1 40); do echo "a rather long sentence number $i,extraordinarily_long_label_name_$((i % 3))_for_this_task"; done; } > "$W/custom.csv"
if "$SG" run --model_name_or_path builtin:tiny --train_file "$W/custom.csv" --validation_file "$W/custom.csv" --test_file "$W/custom.csv" \
     --do_train --do_predict --max_steps 2 --max_seq_length 32 --output_dir "$W/custom" > "$W/out" 2> "$W/err"; then
  n=$(grep -c "extraordinarily_long_label_name_" "$W/custom/predict_results_custom.txt")
  labels=$(python3 -c 'import json,sys; print(",".join(sorted(json.load(open(sys.argv[1]))["id2label"].values())))' "$W/custom/config.json")
  [ "$n" = 40 ] && [ "$labels" = "extraordinarily_long_label_name_0_for_this_task,extraordinarily_long_label_name_1_for_this_task,extraordinarily_long_label_name_2_for_this_task" ] \
    && ok "custom labels: 40 predictions named, id2label $labels" || bad "custom labels: $n named predictions, id2label $labels"
else
  bad "custom task run failed: $(cat "$W/err")"
fi

# ---- transform config
printf 'quantization_config:\n  by: regex\n  classifier:\n    config:\n      name: lsqinteger\n      level: [32\n' > "$W/syntax.yaml"
expect_error transform_syntax "syntax.yaml:[0-9]+: YAML syntax error" "${BASE[@]}" --do_eval --output_dir "$W/o" --transform_config "$W/syntax.yaml"
printf 'quantization_config:\n  by: regex\n  classifier:\n    config:\n      name: lsqinteger\n      level: many\n' > "$W/level.yaml"
expect_error transform_level "level.yaml:6: key 'level': expected an integer, got 'many'" \
  "${BASE[@]}" --do_eval --output_dir "$W/o" --transform_config "$W/level.yaml"
expect_error transform_missing "absent.yaml" "${BASE[@]}" --do_eval --output_dir "$W/o" --transform_config "$W/absent.yaml"

# ---- models
expect_error missing_model_dir "nomodel: no such directory" \
  --model_name_or_path "$W/nomodel" --task_name sst2 --data_dir "$W/data" --do_eval --output_dir "$W/o"
expect_error missing_hub_model "model nobody/nomodel not found.*spikeglue fetch model nobody/nomodel" \
  --model_name_or_path nobody/nomodel --task_name sst2 --data_dir "$W/data" --do_eval --output_dir "$W/o"
expect_error unknown_builtin "unknown model size 'huge'" \
  --model_name_or_path builtin:huge --task_name sst2 --data_dir "$W/data" --do_eval --output_dir "$W/o"
expect_error missing_weights_path "noweights/model.safetensors" "${BASE[@]}" --do_eval --output_dir "$W/o" \
  --transform_config "$SRC/configs/transform_cfg.yaml" --model_weights_path "$W/noweights"
expect_error missing_checkpoint "nockpt/model.safetensors" "${BASE[@]}" --do_train --output_dir "$W/o" \
  --resume_from_checkpoint "$W/nockpt"

# ---- divergence: the step is named
expect_error nan_loss_lr "diverged at step [0-9]+.*(nan|inf)" "${BASE[@]}" --do_train --learning_rate 1e30 --max_steps 10 \
  --output_dir "$W/nan1"
"$SG" init-model --size tiny --num-labels 2 --seed 1 --out "$W/nanmodel" > /dev/null || { echo "FAIL init-model"; exit 1; }
python3 - "$W/nanmodel/model.safetensors" <<'PY' || { echo "FAIL crafting a NaN checkpoint"; exit 1; }
import json, struct, sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n])
t = h["roberta.encoder.layer.0.output.dense.weight"]; assert t["dtype"] == "F32"
off = 8 + n + t["data_offsets"][0]; b[off:off + 4] = struct.pack("<f", float("nan")); open(p, "wb").write(b)
PY
expect_error nan_weights_train "diverged at step 1.*nan" \
  --model_name_or_path "$W/nanmodel" --task_name sst2 --data_dir "$W/data" --do_train --max_steps 5 --output_dir "$W/nan2"
expect_error nan_weights_eval "nan" \
  --model_name_or_path "$W/nanmodel" --task_name sst2 --data_dir "$W/data" --do_eval --output_dir "$W/nan3"

[ $fail = 0 ] && echo "all run_errors checks passed" || echo "some run_errors checks FAILED"
exit $fail

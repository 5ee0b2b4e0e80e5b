#!/usr/bin/env bash
# spikeglue pretrain (issue #18) on real GLUE sentences (../shared/glue's train splits) with
# builtin:tiny and the built-in byte tokenizer, one thread (the tiny model only waits on a second):
#  - from the random init, 100 steps lower the held-out MLM loss by >= 1.5 nats (measured on this
#    machine: 5.57-5.63 -> 3.04-3.10 over seeds 1-3, i.e. 2.5 +- 0.05);
#  - continued from that output (its lm_head loaded), 400 more steps lower it by >= 0.1 more
#    (measured: 3.05 -> 2.78-2.82, i.e. 0.23-0.27);
#    eval_accuracy (run_mlm.py's: argmax = label over labelled tokens) rises by >= 0.05 (measured
#    0 -> 0.15);
#  - HF's outputs: config.json names RobertaForMaskedLM, model.safetensors holds lm_head.* but no
#    tied decoder, eval_results.json's perplexity = exp(eval_loss), train_results.json,
#    trainer_state.json, checkpoint-N/;
#  - resuming from checkpoint-50 ends on the same weights as the uninterrupted run (the masks are
#    a function of the step, not of the process);
#  - the output fine-tunes with spikeglue run (a new classifier, lm_head.* ignored);
#  - a GELU checkpoint pretrained with --hidden_act relu is saved with "hidden_act": "relu".
set -uo pipefail
BUILD=$1 SRC=$2
SG=$BUILD/spikeglue
SHARED=$(cd "$SRC/.." && pwd)/shared
for t in CoLA MRPC RTE STS-B; do
  [ -f "$SHARED/glue/$t/train.tsv" ] || { echo "skip: $SHARED/glue/$t/train.tsv is absent (the shared GLUE data are needed)"; exit 77; }
done
command -v python3 > /dev/null || { echo "skip: python3 is needed to parse the JSON outputs"; exit 77; }
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
export OMP_NUM_THREADS=1
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

# four small tasks' train splits (32k sentences); MNLI-sized ones would only slow the test
mkdir -p "$W/glue"
for t in CoLA MRPC RTE STS-B; do ln -s "$SHARED/glue/$t" "$W/glue/$t"; done
COMMON=(--glue_dir "$W/glue" --max_seq_length 32 --max_train_samples 8000 --max_eval_samples 256
        --per_device_eval_batch_size 32 --per_device_train_batch_size 16 --learning_rate 2e-3 --warmup_steps 10
        --logging_steps 50 --seed 1)

"$SG" pretrain --model_name_or_path builtin:tiny "${COMMON[@]}" --do_eval --output_dir "$W/init" > "$W/init.log" 2>&1 \
  || { cat "$W/init.log"; bad "eval of the random init"; }
"$SG" pretrain --model_name_or_path builtin:tiny "${COMMON[@]}" --do_train --do_eval --max_steps 100 --save_steps 50 \
  --output_dir "$W/a" > "$W/a.log" 2>&1 || { cat "$W/a.log"; bad "pretraining builtin:tiny"; }
L0=$(json "$W/init/eval_results.json" 'd["eval_loss"]')
LA=$(json "$W/a/eval_results.json" 'd["eval_loss"]')
echo "held-out MLM loss: random init $L0, after 100 steps $LA"
python3 -c "import sys; sys.exit(0 if $L0 - $LA >= 1.5 else 1)" && ok "100 steps lower the held-out loss by >= 1.5 ($L0 -> $LA)" \
  || bad "100 steps lowered the held-out loss from $L0 to $LA only"

# the before-training figures a train + eval run reports (all_results.json) are the random init's own
I0=$(json "$W/a/all_results.json" 'd["init_eval_loss"]')
python3 -c "import sys; sys.exit(0 if abs($I0 - $L0) <= 1e-6 * abs($L0) else 1)" && ok "all_results.json: init_eval_loss = the init's eval_loss ($I0)" \
  || bad "init_eval_loss $I0, but the random init evaluates to $L0"

A0=$(json "$W/init/eval_results.json" 'd["eval_accuracy"]')
AA=$(json "$W/a/eval_results.json" 'd["eval_accuracy"]')
python3 -c "import sys; sys.exit(0 if $AA - $A0 >= 0.05 else 1)" && ok "eval_accuracy (labelled tokens predicted) rises: $A0 -> $AA" \
  || bad "eval_accuracy went from $A0 to $AA only"

# HF's outputs
[ "$(json "$W/a/config.json" 'd["architectures"][0]')" = RobertaForMaskedLM ] && ok "config.json: RobertaForMaskedLM" || bad "config.json architectures"
if grep -q 'lm_head.dense.weight' "$W/a/model.safetensors" && grep -q 'lm_head.layer_norm.weight' "$W/a/model.safetensors" &&
   ! grep -q 'lm_head.decoder' "$W/a/model.safetensors"; then ok "model.safetensors: lm_head.*, no tied decoder"; else bad "model.safetensors tensors"; fi
json "$W/a/eval_results.json" 'abs(d["perplexity"] - __import__("math").exp(d["eval_loss"])) < 1e-9 * d["perplexity"] and d["eval_samples"] == 256' | grep -q True \
  && ok "eval_results.json: perplexity = exp(eval_loss), eval_samples" || bad "eval_results.json: $(cat "$W/a/eval_results.json")"
json "$W/a/train_results.json" 'all(k in d for k in ("train_loss", "train_runtime", "train_samples", "epoch"))' | grep -q True \
  && ok "train_results.json keys" || bad "train_results.json: $(cat "$W/a/train_results.json")"
json "$W/a/trainer_state.json" 'd["global_step"] == 100 and any("loss" in e for e in d["log_history"])' | grep -q True \
  && ok "trainer_state.json" || bad "trainer_state.json"
[ -f "$W/a/checkpoint-50/model.safetensors" ] && [ -f "$W/a/checkpoint-50/optimizer.safetensors" ] && ok "checkpoint-50/" || bad "no checkpoint-50/"
grep -q "loss" "$W/a.log" && ok "progress lines with the loss" || bad "no loss in the log"

# resume: the masks depend on the step only, so the resumed run ends where the whole run did
"$SG" pretrain --model_name_or_path builtin:tiny "${COMMON[@]}" --do_train --max_steps 100 --save_steps 50 \
  --resume_from_checkpoint "$W/a/checkpoint-50" --output_dir "$W/a2" > "$W/a2.log" 2>&1 || { cat "$W/a2.log"; bad "resume"; }
cmp -s "$W/a/model.safetensors" "$W/a2/model.safetensors" && ok "resumed from checkpoint-50: the same final weights" \
  || bad "the resumed run's weights differ from the uninterrupted run's"

# continued pretraining of the output: its lm_head is loaded, and the loss goes on down
"$SG" pretrain --model_name_or_path "$W/a" "${COMMON[@]}" --do_train --do_eval --max_steps 400 --save_strategy no \
  --output_dir "$W/b" > "$W/b.log" 2>&1 || { cat "$W/b.log"; bad "continued pretraining"; }
grep -q "no lm_head" "$W/b.log" && bad "the lm_head of $W/a was not loaded"
LB=$(json "$W/b/eval_results.json" 'd["eval_loss"]')
echo "held-out MLM loss: continued 400 steps $LB"
python3 -c "import sys; sys.exit(0 if $LA - $LB >= 0.1 else 1)" && ok "continued pretraining lowers it by >= 0.1 more ($LA -> $LB)" \
  || bad "continued pretraining went from $LA to $LB only"

# the output fine-tunes with spikeglue run
"$SG" run --model_name_or_path "$W/b" --task_name rte --data_dir "$SHARED/glue" --do_train --do_eval --max_steps 4 \
  --max_seq_length 64 --max_train_samples 64 --max_eval_samples 32 --save_strategy no --output_dir "$W/ft" > "$W/ft.log" 2>&1 \
  || { cat "$W/ft.log"; bad "spikeglue run from the pretrained output"; }
grep -q "has no classifier" "$W/ft.log" && [ "$(json "$W/ft/config.json" 'd["architectures"][0]')" = RobertaForSequenceClassification ] \
  && ok "fine-tuned with spikeglue run (new classifier)" || bad "fine-tuning: $(tail -3 "$W/ft.log")"

# ReLU-fication: a GELU checkpoint trained with --hidden_act relu is saved as relu
"$SG" init-model --size tiny --hidden_act gelu --seed 3 --out "$W/gelu" > /dev/null || bad "init-model gelu"
"$SG" pretrain --model_name_or_path "$W/gelu" "${COMMON[@]}" --hidden_act relu --do_train --max_steps 3 --save_strategy no \
  --output_dir "$W/relu" > "$W/relu.log" 2>&1 || { cat "$W/relu.log"; bad "pretraining with --hidden_act relu"; }
[ "$(json "$W/relu/config.json" 'd["hidden_act"]')" = relu ] && grep -q "gelu becomes relu" "$W/relu.log" \
  && ok "--hidden_act relu: saved with \"hidden_act\": \"relu\"" || bad "--hidden_act relu: $(json "$W/relu/config.json" 'd["hidden_act"]')"

# refused with one line naming the flag
"$SG" pretrain --model_name_or_path builtin:tiny --glue_dir "$W/glue" --do_train --mlm_probability 0 --output_dir "$W/x" 2> "$W/err" > /dev/null
[ $? = 2 ] && grep -q -- "--mlm_probability" "$W/err" && ok "--mlm_probability 0 refused" || bad "--mlm_probability 0: $(cat "$W/err")"
"$SG" pretrain --model_name_or_path builtin:tiny --glue_dir "$W/glue" --do_train --task_name rte --output_dir "$W/x" 2> "$W/err" > /dev/null
[ $? = 2 ] && grep -q -- "task_name" "$W/err" && ok "--task_name is run's, refused" || bad "--task_name: $(cat "$W/err")"
exit $fail

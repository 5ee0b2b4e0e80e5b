#!/usr/bin/env bash
# Every kind of broken checkpoint gives exactly one error line naming the problem, and a
# non-zero exit: never a crash, never silence.
set -uo pipefail
BUILD=$1
SG=$BUILD/spikeglue
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
fail=0
$SG init-model --size tiny --num-labels 2 --seed 1 --out "$W/good" > /dev/null || { echo "init-model failed"; exit 1; }
$SG model-info "$W/good" > /dev/null || { echo "model-info refuses a good checkpoint"; exit 1; }
ST=$W/good/model.safetensors
HLEN=$(python3 -c "import struct,sys; print(struct.unpack('<Q', open(sys.argv[1],'rb').read(8))[0])" "$ST")

variant() { rm -rf "$W/$1"; cp -r "$W/good" "$W/$1"; }
expect_error() { # name, regex the single error line must match
  local name=$1 pattern=$2
  local out; out=$($SG model-info "$W/$name" 2>&1 >/dev/null); local rc=$?
  local lines; lines=$(printf '%s\n' "$out" | grep -c .)
  if [ $rc -ne 0 ] && [ $rc -lt 128 ] && [ "$lines" = 1 ] && printf '%s' "$out" | grep -Eq "$pattern"; then
    echo "ok   $name: $out"
  else
    echo "FAIL $name (exit $rc, $lines lines): $out"; fail=1
  fi
}

variant truncated; head -c 5000 "$ST" > "$W/truncated/model.safetensors"
expect_error truncated "model.safetensors"
variant header_len; python3 - "$W/header_len/model.safetensors" <<'PY'
import struct, sys
p = sys.argv[1]; b = bytearray(open(p, 'rb').read()); b[0:8] = struct.pack('<Q', len(b) * 2); open(p, 'wb').write(b)
PY
expect_error header_len "model.safetensors.*header"
variant overlap; python3 - "$W/overlap/model.safetensors" <<'PY'
import json, struct, sys
p = sys.argv[1]; b = open(p, 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8+n])
names = [k for k in h if k != '__metadata__']; a, c = h[names[3]], h[names[4]]
c['data_offsets'] = [a['data_offsets'][0], a['data_offsets'][0] + (c['data_offsets'][1] - c['data_offsets'][0])]
s = json.dumps(h).encode(); s += b' ' * (-len(s) % 8)
open(p, 'wb').write(struct.pack('<Q', len(s)) + s + b[8+n:])
PY
expect_error overlap "model.safetensors.*(overlap|gap|hole)"
variant missing; python3 - "$W/missing/model.safetensors" <<'PY'
import json, struct, sys
p = sys.argv[1]; b = open(p, 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8+n]); data = b[8+n:]
name = 'roberta.encoder.layer.1.output.dense.weight'; out = {'__metadata__': h.pop('__metadata__')}; blob = b''
for k, v in sorted(h.items(), key=lambda kv: kv[1]['data_offsets'][0]):
    if k == name: continue
    s, e = v['data_offsets']; v['data_offsets'] = [len(blob), len(blob) + e - s]; blob += data[s:e]; out[k] = v
s = json.dumps(out).encode(); s += b' ' * (-len(s) % 8)
open(p, 'wb').write(struct.pack('<Q', len(s)) + s + blob)
PY
expect_error missing "roberta.encoder.layer.1.output.dense.weight.*missing"
variant shape; python3 - "$W/shape/config.json" <<'PY'
import json, sys
p = sys.argv[1]; c = json.load(open(p)); c['intermediate_size'] = 128; json.dump(c, open(p, 'w'))
PY
expect_error shape "intermediate.dense.weight.*shape"
variant badjson; printf '{"model_type": "roberta", "hidden_size": 64,,}' > "$W/badjson/config.json"
expect_error badjson "config.json:1"
variant nojson; rm "$W/nojson/config.json"
expect_error nojson "config.json.*(No such file|cannot open)"
variant gelu_key; python3 - "$W/gelu_key/config.json" <<'PY'
import json, sys
p = sys.argv[1]; c = json.load(open(p)); c['hidden_act'] = 'swish'; json.dump(c, open(p, 'w'))
PY
expect_error gelu_key "hidden_act"
expect_error does_not_exist "does_not_exist.*not found"
echo "header length of the good file: $HLEN"
[ $fail = 0 ] && echo "9 passed, 0 failed" || echo "some checks failed"
exit $fail

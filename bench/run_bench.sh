#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Measures ckptconv against `cp` of the same bytes on this machine and prints Markdown tables for
# docs/performance.md. Needs a Release build (default ./build) and bash 5 (EPOCHREALTIME).
#   bench/run_bench.sh [BUILD_DIR] [WORK_DIR]
# RUNS (default 5) is how many times each command runs; the median is reported. The machine this
# was written on is a virtual one whose write speed varies 2-4x from one minute to the next, so
# every run of a command alternates with a `cp` of the same input (spreading both over the same
# minutes), and "speed vs cp" is the cp row's median over the command's median, the cp row being
# measured the same way. (A cp run right after deleting a large output is itself slow: ratios
# against those interleaved cp runs came out at 2-3 for cp against cp, so they are not used.)
# WORK_DIR on tmpfs (/dev/shm) keeps disk writeback out of the numbers. SECTIONS (default
# "containers gpt2 llama mixtral") picks the tables; "lora" adds the LoRA merge rows (1.1B LLaMA,
# rank-64 adapters on all seven projections of every layer).
set -euo pipefail
runs=${RUNS:-5}
sections=" ${SECTIONS:-containers gpt2 llama mixtral} "
build=${1:-build}
work=${2:-$(mktemp -d /tmp/ckptconv-bench.XXXXXX)}
exe="$build/bin/ckptconv"
gen="$build/bin/ckptconv_bench_gen"
[ -n "${EPOCHREALTIME:-}" ] || { echo "needs bash 5 (EPOCHREALTIME)" >&2; exit 1; }
export CKPT_PLUGIN_DEFAULT_DIR="$build/lib/ckptconv/plugins"
mkdir -p "$work"

# Runs "$@" once and prints its wall time in seconds. Nothing else runs meanwhile: a sampler
# polling /proc would take CPU from a command that keeps both cores busy (and not from cp).
run_timed() {
    local t0=$EPOCHREALTIME
    "$@" >/dev/null 2>"$work/err.txt" || { cat "$work/err.txt" >&2; exit 1; }
    awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.3f", b - a}'
}

# Runs "$@" once, sampling /proc every 20 ms: prints "peak_rss_kib peak_private_kib".
# Peak RSS (VmHWM) includes pages of the read-only input mappings, which are shared page cache the
# kernel can drop at any time; peak private memory (RssAnon) is what the process really allocates.
run_sampled() {
    local pid hwm=0 anon=0 v
    "$@" >/dev/null 2>"$work/err.txt" &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        v=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || true); [ -n "$v" ] && [ "$v" -gt "$hwm" ] && hwm=$v
        v=$(awk '/^RssAnon/ {print $2}' "/proc/$pid/status" 2>/dev/null || true); [ -n "$v" ] && [ "$v" -gt "$anon" ] && anon=$v
        sleep 0.02
    done
    wait "$pid" || { cat "$work/err.txt" >&2; exit 1; }
    echo "$hwm $anon"
}

# Runs "$@" $runs times, each right after `cp $cp_src`, then once more sampled for memory; $1 is
# the output path, removed before each run. Prints "seconds peak_rss_kib peak_private_kib": the
# median time.
measure() {
    local out=$1; shift
    local times=() s
    for _ in $(seq "$runs"); do
        rm -rf "$work/copy"; sync
        run_timed cp "$cp_src" "$work/copy" >/dev/null
        rm -rf "$work/copy" "$out"; sync
        times+=("$(run_timed "$@")")
    done
    rm -rf "$out"; sync
    s=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
    echo "$s $(run_sampled "$@")"
    rm -rf "$out" "$work/copy"
}

header() { echo; echo "| $1 | seconds | MiB/s | speed vs cp | peak RSS MiB | peak private MiB |"; echo "|---|---|---|---|---|---|"; }
row() { # label bytes seconds rss-kib private-kib cp-seconds
    awk -v l="$1" -v b="$2" -v s="$3" -v r="$4" -v p="$5" -v c="$6" 'BEGIN {
        mbps = (s > 0) ? b / s / 1048576 : 0; ratio = (s > 0) ? c / s : 0;
        printf "| %s | %.2f | %.0f | %.2f | %.1f | %.1f |\n", l, s, mbps, ratio, r / 1024, p / 1024 }'
}

# 1. Containers: a ~1 GiB GPT-2-shaped checkpoint (16 layers, hidden 1024).
if [[ $sections == *" containers "* ]]; then
mkdir -p "$work/c"
"$gen" "$work/c/model.safetensors" gpt2 16 1024 >/dev/null
"$exe" repack "$work/c/model.safetensors" "$work/c/pytorch_model.bin" -q >/dev/null
"$exe" repack "$work/c/model.safetensors" "$work/c/model.mdl" -q >/dev/null
bytes=$(stat -c %s "$work/c/model.safetensors")
cp_src="$work/c/model.safetensors" # every run alternates with a cp of these bytes
header "containers, $((bytes / 1048576)) MiB of F32"
read -r cps r p < <(measure "$work/copy2" cp "$cp_src" "$work/copy2")
row "cp (reference)" "$bytes" "$cps" "$r" "$p" "$cps"
# cp copies inside the kernel (copy_file_range): one copy of every byte. Anything that looks at
# the bytes reads them into memory and writes them back, twice the copying; dd shows that floor.
read -r s r p < <(measure "$work/copy2" dd if="$cp_src" of="$work/copy2" bs=16M status=none)
row "dd bs=16M (read + write, no processing)" "$bytes" "$s" "$r" "$p" "$cps"
for spec in "repack safetensors → .bin|$work/c/model.safetensors|$work/o.bin|" \
            "repack .bin → safetensors|$work/c/pytorch_model.bin|$work/o.safetensors|" \
            "repack safetensors → .mdl (uncompressed)|$work/c/model.safetensors|$work/o.mdl|--uncompressed" \
            "repack safetensors → .mdl (LZ4)|$work/c/model.safetensors|$work/o.mdl|" \
            "repack .mdl (LZ4) → safetensors|$work/c/model.mdl|$work/o.safetensors|" \
            "repack safetensors → safetensors --dtype bfloat16 (F32 cast while streaming)|$work/c/model.safetensors|$work/o.safetensors|--dtype bfloat16"; do
    IFS='|' read -r label in out flag <<<"$spec"
    read -r s r p < <(measure "$out" "$exe" repack "$in" "$out" -q $flag)
    row "$label" "$bytes" "$s" "$r" "$p" "$cps"
done
rm -rf "$work/c"
fi

# 2. Conversions of real-size shapes: GPT-2 124M and a 1.1B LLaMA (TinyLlama shapes, bf16).
convert_rows() { # family layers hidden dtype label
    local d="$work/$1"; mkdir -p "$d"
    "$gen" "$d/model.safetensors" "$1" "$2" "$3" "$4" >/dev/null
    local b; b=$(stat -c %s "$d/model.safetensors")
    cp_src="$d/model.safetensors"
    header "$5, $((b / 1048576)) MiB"
    read -r cps r p < <(measure "$work/copy2" cp "$cp_src" "$work/copy2")
    row "cp (reference)" "$b" "$cps" "$r" "$p" "$cps"
    read -r s r p < <(measure "$d/model_to_cs-2.3.mdl" "$exe" convert "$d/model.safetensors" --model "$1" --src-fmt hf \
        --tgt-fmt cs-2.3 --config "$d/config.json" --no-progress-bar -q --force)
    row "convert hf → cs-2.3 (LZ4 .mdl)" "$b" "$s" "$r" "$p" "$cps"
    "$exe" convert "$d/model.safetensors" --model "$1" --src-fmt hf --tgt-fmt cs-2.3 --config "$d/config.json" -q --force >/dev/null
    read -r s r p < <(measure "$d/model_to_cs-2.3_to_hf" "$exe" convert "$d/model_to_cs-2.3.mdl" --model "$1" \
        --src-fmt cs-2.3 --tgt-fmt hf --config "$d/config_to_cs-2.3.yaml" --export-safetensors --no-progress-bar -q --force)
    row "convert cs-2.3 → hf (safetensors)" "$b" "$s" "$r" "$p" "$cps"
    read -r s r p < <(measure "$d/model_to_cs-2.3_to_hf" "$exe" convert "$d/model_to_cs-2.3.mdl" --model "$1" \
        --src-fmt cs-2.3 --tgt-fmt hf --config "$d/config_to_cs-2.3.yaml" --no-progress-bar -q --force)
    row "convert cs-2.3 → hf (pytorch_model.bin, the default)" "$b" "$s" "$r" "$p" "$cps"
    read -r s r p < <(measure "$d/model_to_cs-2.3_to_cs-2.4.mdl" "$exe" convert "$d/model_to_cs-2.3.mdl" --model "$1" \
        --src-fmt cs-2.3 --tgt-fmt cs-2.4 --config "$d/config_to_cs-2.3.yaml" --no-progress-bar -q --force)
    row "convert cs-2.3 → cs-2.4 (rename only)" "$b" "$s" "$r" "$p" "$cps"
    rm -rf "$d"
}
[[ $sections != *" gpt2 "* ]] || convert_rows gpt2 12 768 f32 "GPT-2 124M (transposes and QKV splits)"
[[ $sections != *" llama "* ]] || convert_rows llama 22 2048 bf16 "LLaMA 1.1B (rotary row permutations)"
# Mixtral-shaped, 2 layers of 8 experts at hidden 2048: each CS expert tensor is 224 MiB made of
# 8 x 28 MiB HF tensors (8x7B: 896 MiB of 8 x 112 MiB); experts are joined (hf → cs) and split
# (cs → hf) one expert's rows at a time, so private memory must stay far below one CS expert tensor.
[[ $sections != *" mixtral "* ]] || convert_rows mixtral 2 2048 bf16 "Mixtral-shaped MoE, 2 layers x 8 experts (expert fusion)"

# 3. LoRA: a PEFT adapter merged into the 1.1B LLaMA (bf16), alone and on the way to cs-2.3.
if [[ $sections == *" lora "* ]]; then
d="$work/lora"; mkdir -p "$d"
"$gen" "$d/model.safetensors" llama 22 2048 bf16 >/dev/null
"$gen" "$d/adapter" llama-lora 22 2048 bf16 64 >/dev/null
b=$(stat -c %s "$d/model.safetensors")
cp_src="$d/model.safetensors"
header "LLaMA 1.1B bf16 + rank-64 LoRA on every projection, $((b / 1048576)) MiB"
read -r cps r p < <(measure "$work/copy2" cp "$cp_src" "$work/copy2")
row "cp (reference)" "$b" "$cps" "$r" "$p" "$cps"
read -r s r p < <(measure "$d/out" "$exe" fold-lora -p "$d/config.json" "$d/model.safetensors" \
    --lora-adapter "$d/adapter" --output-dir "$d/out" --no-progress-bar -q)
row "fold-lora --lora-adapter (merged safetensors)" "$b" "$s" "$r" "$p" "$cps"
read -r s r p < <(measure "$d/model_to_cs-2.3.mdl" "$exe" convert "$d/model.safetensors" --model llama --src-fmt hf \
    --tgt-fmt cs-2.3 --config "$d/config.json" --lora-adapter "$d/adapter" --no-progress-bar -q --force)
row "convert --lora-adapter hf → cs-2.3 (LZ4 .mdl)" "$b" "$s" "$r" "$p" "$cps"
rm -rf "$d"
fi
rm -rf "$work"

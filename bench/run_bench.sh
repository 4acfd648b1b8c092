#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Measures ckptconv against `cp` of the same bytes on this machine and prints Markdown tables for
# docs/performance.md. Needs a Release build (default ./build, with bench/) and GNU time (apt: time).
#   bench/run_bench.sh [BUILD_DIR] [WORK_DIR]
set -euo pipefail
build=${1:-build}
work=${2:-$(mktemp -d /tmp/ckptconv-bench.XXXXXX)}
exe="$build/bin/ckptconv"
gen="$build/bench/ckptconv_bench_gen"
[ -x /usr/bin/time ] || { echo "install GNU time: apt-get install time" >&2; exit 1; }
export CKPT_PLUGIN_DEFAULT_DIR="$build/lib/ckptconv/plugins"
mkdir -p "$work"

# median of three runs of "$@" (after removing $1 = output path): prints "seconds maxrss_kib"
measure() {
    local out=$1; shift
    local runs=()
    for _ in 1 2 3; do
        rm -rf "$out"; sync
        /usr/bin/time -f "%e %M" -o "$work/time.txt" "$@" >/dev/null 2>"$work/err.txt" || { cat "$work/err.txt" >&2; exit 1; }
        runs+=("$(cat "$work/time.txt")")
    done
    rm -rf "$out"
    printf '%s\n' "${runs[@]}" | sort -n | sed -n 2p
}

header() { echo; echo "| $1 | seconds | MiB/s | speed vs cp | peak RSS MiB |"; echo "|---|---|---|---|---|"; }
row() { # label bytes cp-seconds seconds rss-kib
    awk -v l="$1" -v b="$2" -v c="$3" -v s="$4" -v r="$5" 'BEGIN {
        mbps = (s > 0) ? b / s / 1048576 : 0; ratio = (s > 0) ? c / s : 0;
        printf "| %s | %.2f | %.0f | %.2f | %.1f |\n", l, s, mbps, ratio, r / 1024 }'
}
cp_time() { local s; read -r s _ < <(measure "$work/copy" cp "$1" "$work/copy"); echo "$s"; }

# 1. Containers: a ~1 GiB GPT-2-shaped checkpoint (24 layers, hidden 1536).
mkdir -p "$work/c"
"$gen" "$work/c/model.safetensors" gpt2 24 1536 >/dev/null
"$exe" repack "$work/c/model.safetensors" "$work/c/pytorch_model.bin" -q >/dev/null
"$exe" repack "$work/c/model.safetensors" "$work/c/model.mdl" -q >/dev/null
bytes=$(stat -c %s "$work/c/model.safetensors")
cps=$(cp_time "$work/c/model.safetensors")
header "containers, $((bytes / 1048576)) MiB of F32"
row "cp (reference)" "$bytes" "$cps" "$cps" "$(measure "$work/copy" cp "$work/c/model.safetensors" "$work/copy" | cut -d' ' -f2)"
for spec in "repack safetensors → .bin|$work/c/model.safetensors|$work/o.bin|" \
            "repack .bin → safetensors|$work/c/pytorch_model.bin|$work/o.safetensors|" \
            "repack safetensors → .mdl (uncompressed)|$work/c/model.safetensors|$work/o.mdl|--uncompressed" \
            "repack safetensors → .mdl (LZ4)|$work/c/model.safetensors|$work/o.mdl|" \
            "repack .mdl (LZ4) → safetensors|$work/c/model.mdl|$work/o.safetensors|"; do
    IFS='|' read -r label in out flag <<<"$spec"
    read -r s r < <(measure "$out" "$exe" repack "$in" "$out" -q $flag)
    row "$label" "$bytes" "$cps" "$s" "$r"
done
rm -rf "$work/c"

# 2. Conversions of real-size shapes: GPT-2 124M and a 1.1B LLaMA (TinyLlama shapes, bf16).
convert_rows() { # family layers hidden dtype label
    local d="$work/$1"; mkdir -p "$d"
    "$gen" "$d/model.safetensors" "$1" "$2" "$3" "$4" >/dev/null
    local b; b=$(stat -c %s "$d/model.safetensors")
    local c; c=$(cp_time "$d/model.safetensors")
    header "$5, $((b / 1048576)) MiB"
    row "cp (reference)" "$b" "$c" "$c" 0
    read -r s r < <(measure "$d/model_to_cs-2.3.mdl" "$exe" convert "$d/model.safetensors" --model "$1" --src-fmt hf \
        --tgt-fmt cs-2.3 --config "$d/config.json" --no-progress-bar -q)
    row "convert hf → cs-2.3 (LZ4 .mdl)" "$b" "$c" "$s" "$r"
    "$exe" convert "$d/model.safetensors" --model "$1" --src-fmt hf --tgt-fmt cs-2.3 --config "$d/config.json" -q --force >/dev/null
    read -r s r < <(measure "$d/model_to_cs-2.3_to_hf" "$exe" convert "$d/model_to_cs-2.3.mdl" --model "$1" \
        --src-fmt cs-2.3 --tgt-fmt hf --config "$d/config_to_cs-2.3.yaml" --export-safetensors --no-progress-bar -q)
    row "convert cs-2.3 → hf (safetensors)" "$b" "$c" "$s" "$r"
    read -r s r < <(measure "$d/model_to_cs-2.3_to_cs-2.4.mdl" "$exe" convert "$d/model_to_cs-2.3.mdl" --model "$1" \
        --src-fmt cs-2.3 --tgt-fmt cs-2.4 --config "$d/config_to_cs-2.3.yaml" --no-progress-bar -q)
    row "convert cs-2.3 → cs-2.4 (rename only)" "$b" "$c" "$s" "$r"
    rm -rf "$d"
}
convert_rows gpt2 12 768 f32 "GPT-2 124M (transposes and QKV splits)"
convert_rows llama 22 2048 bf16 "LLaMA 1.1B (rotary row permutations)"
rm -rf "$work"

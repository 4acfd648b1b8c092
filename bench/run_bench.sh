#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Measures ckptconv against `cp` of the same bytes on this machine and prints a Markdown table
# for docs/performance.md. Needs a Release build (default: ./build) and GNU time (apt: time).
#   bench/run_bench.sh [BUILD_DIR] [SIZE_MIB] [WORK_DIR]
set -euo pipefail
build=${1:-build}
size=${2:-1024}
work=${3:-$(mktemp -d /tmp/ckptconv-bench.XXXXXX)}
exe="$build/bin/ckptconv"
gen="$build/bench/ckptconv_bench_gen"
[ -x /usr/bin/time ] || { echo "install GNU time: apt-get install time" >&2; exit 1; }
mkdir -p "$work"
export CKPT_PLUGIN_DEFAULT_DIR="$build/lib/ckptconv/plugins"

"$gen" "$work/src.safetensors" "$size" >/dev/null
"$exe" repack "$work/src.safetensors" "$work/src.bin" -q >/dev/null

# median of three runs: prints "seconds maxrss_kib"
measure() {
    local out=$1; shift
    local runs=()
    for _ in 1 2 3; do
        rm -rf "$out"
        sync
        /usr/bin/time -f "%e %M" -o "$work/time.txt" "$@" >/dev/null 2>"$work/err.txt" || { cat "$work/err.txt" >&2; exit 1; }
        runs+=("$(cat "$work/time.txt")")
        rm -rf "$out"
    done
    printf '%s\n' "${runs[@]}" | sort -n | sed -n 2p
}

row() { # label, bytes, cp-seconds, seconds rss
    local label=$1 bytes=$2 cps=$3 s=$4 rss=$5
    awk -v l="$label" -v b="$bytes" -v c="$cps" -v s="$s" -v r="$rss" 'BEGIN {
        mbps = (s > 0) ? b / s / 1048576 : 0; ratio = (s > 0) ? c / s : 0;
        printf "| %s | %.2f | %.0f | %.2f | %.1f |\n", l, s, mbps, ratio, r / 1024 }'
}

bytes=$(stat -c %s "$work/src.safetensors")
read -r cps cprss < <(measure "$work/copy" cp "$work/src.safetensors" "$work/copy")
echo "| operation (${size} MiB, $(nproc) cores) | seconds | MiB/s | speed vs cp | peak RSS MiB |"
echo "|---|---|---|---|---|"
row "cp (reference)" "$bytes" "$cps" "$cps" "$cprss"
read -r s r < <(measure "$work/o.bin" "$exe" repack "$work/src.safetensors" "$work/o.bin" -q)
row "repack safetensors → .bin" "$bytes" "$cps" "$s" "$r"
read -r s r < <(measure "$work/o.safetensors" "$exe" repack "$work/src.bin" "$work/o.safetensors" -q)
row "repack .bin → safetensors" "$bytes" "$cps" "$s" "$r"
if "$exe" repack "$work/src.safetensors" "$work/probe.mdl" -q >/dev/null 2>&1; then
    rm -f "$work/probe.mdl"
    read -r s r < <(measure "$work/o.mdl" "$exe" repack "$work/src.safetensors" "$work/o.mdl" --uncompressed -q)
    row "repack safetensors → .mdl (uncompressed)" "$bytes" "$cps" "$s" "$r"
    read -r s r < <(measure "$work/o.mdl" "$exe" repack "$work/src.safetensors" "$work/o.mdl" -q)
    row "repack safetensors → .mdl (LZ4)" "$bytes" "$cps" "$s" "$r"
    "$exe" repack "$work/src.safetensors" "$work/src.mdl" -q >/dev/null
    read -r s r < <(measure "$work/o.safetensors" "$exe" repack "$work/src.mdl" "$work/o.safetensors" -q)
    row "repack .mdl (LZ4) → safetensors" "$bytes" "$cps" "$s" "$r"
fi
rm -rf "$work"

#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The README's main job: converts the bundled tiny GPT-2 (Hugging Face) to Cerebras cs-2.3 and back,
# then shows that every tensor came back bit for bit. Prints each command before running it.
#   packaging/demo.sh [BUILD_DIR] [OUT_DIR]
set -eu
build=${1:-build}
out=${2:-/tmp/ckptconv-demo}
exe="$build/bin/ckptconv"
hf=tests/data/hf/gpt2/bin
run() { echo "+ $*"; "$@"; }

mkdir -p "$out"
run "$exe" list gpt2 --hide-notes
run "$exe" convert "$hf/pytorch_model.bin" --model gpt2 --src-fmt hf --tgt-fmt cs-2.3 \
    --config "$hf/config.json" --output-dir "$out" --force
run "$exe" convert "$out/pytorch_model_to_cs-2.3.mdl" --model gpt2 --src-fmt cs-2.3 --tgt-fmt hf \
    --config "$out/config_to_cs-2.3.yaml" --force
run "$exe" diff "$hf/pytorch_model.bin" "$out/pytorch_model_to_cs-2.3_to_hf/pytorch_model.bin.index.json"

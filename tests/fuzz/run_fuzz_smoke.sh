#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for a short time, seeded
# with the broken-file corpus. Any crash, leak or sanitizer report fails the test.
# Usage: run_fuzz_smoke.sh SOURCE_DIR BUILD_DIR CLANGXX [SECONDS]
set -euo pipefail
src=$1 build=$2 clangxx=$3 seconds=${4:-${CKPTCONV_FUZZ_SECONDS:-20}}
clang=${clangxx/clang++/clang}

cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCKPTCONV_FUZZ=ON -DCKPTCONV_SANITIZE=ON \
      -DCMAKE_CXX_COMPILER="$clangxx" -DCMAKE_C_COMPILER="$clang" > "$build.configure.log" 2>&1 ||
    { cat "$build.configure.log"; exit 1; }
cmake --build "$build" -j2 > "$build.build.log" 2>&1 || { tail -50 "$build.build.log"; exit 1; }

status=0
count=0
for fuzzer in "$build"/bin/fuzz_*; do
    [ -x "$fuzzer" ] || continue
    count=$((count + 1))
    name=$(basename "$fuzzer")
    corpus=$(mktemp -d)
    # Seeds: every broken file, every tiny real checkpoint and every test config we ship.
    find "$src/tests/data/bad" -type f ! -name '*.md' -exec cp {} "$corpus/" \; 2>/dev/null || true
    find "$src/tests/data/hf/gpt2" -type f -size -400k -exec cp {} "$corpus/" \; 2>/dev/null || true
    find "$src/tests/data/configs" -type f -name '*.yaml' -size -64k -exec cp --backup=numbered {} "$corpus/" \; 2>/dev/null || true
    # Seeds of one target (tests/data/fuzz/<target without fuzz_>), e.g. hf_index for fuzz_hf_index.
    find "$src/tests/data/fuzz/${name#fuzz_}" -type f ! -name '*.md' -exec cp {} "$corpus/" \; 2>/dev/null || true
    echo "== $name: ${seconds}s"
    opts="" limits="-rss_limit_mb=2048"
    # libhdf5 1.10 itself leaks and asks malloc for gigabytes when a corrupt object header claims
    # such a size (it then fails cleanly on the short read). That is not ours: let ASan refuse
    # allocations over 1 GiB with NULL, which HDF5 handles, instead of libFuzzer's malloc hook
    # calling it an out-of-memory crash.
    case "$name" in
    fuzz_mdl*)
        opts="allocator_may_return_null=1:detect_leaks=0:max_allocation_size_mb=1024"
        limits="-rss_limit_mb=0 -malloc_limit_mb=0"
        ;;
    esac
    # shellcheck disable=SC2086
    if ! ASAN_OPTIONS="$opts" "$fuzzer" -max_total_time="$seconds" $limits -max_len=1048576 -print_final_stats=1 \
            "$corpus" > "$build/$name.log" 2>&1; then
        echo "FAILED: $name"; tail -60 "$build/$name.log"; status=1
    else
        grep -E "stat::number_of_executed_units|Done" "$build/$name.log" | tail -2
    fi
    rm -rf "$corpus"
done
expected=$(ls "$src"/tests/fuzz/fuzz_*.cpp | wc -l)
if [ "$count" -ne "$expected" ]; then
    echo "FAILED: $count fuzz targets ran, $expected exist in tests/fuzz"
    exit 1
fi
echo "$count fuzz targets ran"
exit $status

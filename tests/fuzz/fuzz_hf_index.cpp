// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the sharded-checkpoint index reader: any bytes as a
// `model.safetensors.index.json`, beside two real shards, must either give a flat map of tensors
// that the shards hold, each shard inside the directory, or throw InputError; nothing else.
#include "core/error.hpp"
#include "core/log.hpp"
#include "formats/safetensors/hf_index.hpp"
#include "formats/safetensors/safetensors_reader.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;

void write_bytes(const fs::path& p, const std::string& bytes)
{
    std::ofstream(p, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A safetensors file of `count` F32[2] tensors described by the JSON entries given.
std::string shard(const std::string& names_json_entries, size_t count)
{
    std::string json = "{" + names_json_entries + "}";
    std::string out(8, '\0');
    for (int k = 0; k < 8; ++k)
        out[static_cast<size_t>(k)] = static_cast<char>((json.size() >> (8 * k)) & 0xff);
    return out + json + std::string(8 * count, '\0');
}

// The directory the index is written into, with shard 1 holding `a` and `b`, shard 2 holding `c`
// (the layout of the seeds in tests/data/fuzz/hf_index). Made once per process, removed at exit
// (never destroyed before that: the exit handler still needs the path).
const fs::path& fuzz_dir()
{
    static const fs::path* dir = [] {
        auto* d = new fs::path(fs::temp_directory_path() / ("ckptconv-fuzz-hf-index-" + std::to_string(::getpid())));
        fs::create_directories(*d);
        write_bytes(*d / "model-00001-of-00002.safetensors",
                    shard("\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                          "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}",
                          2));
        write_bytes(*d / "model-00002-of-00002.safetensors",
                    shard("\"c\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", 1));
        ckpt::log::set_level(ckpt::log::Level::quiet); // "not in the index" warnings, by the thousand
        return d;
    }();
    static const bool cleanup = std::atexit([] {
        std::error_code ec;
        fs::remove_all(*dir, ec);
    }) == 0;
    (void)cleanup;
    return *dir;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const fs::path index = fuzz_dir() / "model.safetensors.index.json";
    write_bytes(index, std::string(reinterpret_cast<const char*>(data), size));
    try {
        const ckpt::Checkpoint cp = ckpt::read_hf_index(index, ckpt::read_safetensors);
        // Whatever was accepted: a flat map of tensors, each from a shard inside the directory.
        if (!cp.root.is_map())
            std::abort();
        for (const auto& [name, value] : cp.root.entries())
            if (!value.is_tensor())
                std::abort();
        for (size_t i = 1; i < cp.files.size(); ++i)
            if (cp.files[i].parent_path() != fuzz_dir())
                std::abort();
    } catch (const ckpt::InputError&) {
    }
    return 0;
}

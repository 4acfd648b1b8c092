// SPDX-License-Identifier: Apache-2.0
// Broken inputs: every file of the corpus, truncations and byte flips of a real file, must give an
// InputError naming the file, never a crash.
#include "core/error.hpp"
#include "formats/safetensors/hf_index.hpp"
#include "formats/safetensors/safetensors_header.hpp"
#include "formats/safetensors/safetensors_reader.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace fs = std::filesystem;
using namespace ckpt;
using ckpt::test::data_path;

namespace {

std::vector<fs::path> sorted_entries(const fs::path& dir, bool dirs)
{
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir))
        if (dirs ? e.is_directory() : e.path().extension() == ".safetensors")
            out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace

TEST(SafetensorsBadCorpus, EveryFileFailsWithItsName)
{
    const auto files = sorted_entries(data_path("bad/safetensors"), false);
    ASSERT_GE(files.size(), 35u);
    const std::string readme = test::read_file(data_path("bad/safetensors/README.md"));
    for (const auto& p : files) {
        SCOPED_TRACE(p.filename().string());
        EXPECT_NE(readme.find(p.filename().string()), std::string::npos) << "not described in README.md";
        try {
            read_safetensors(p);
            ADD_FAILURE() << "accepted";
        } catch (const InputError& e) {
            EXPECT_NE(std::string(e.what()).find(p.string()), std::string::npos) << e.what();
        }
    }
}

TEST(SafetensorsBadCorpus, ExpectedReasons)
{
    // A few files, checked for the reason given, so a message regression is noticed.
    const std::pair<const char*, const char*> cases[] = {
        {"truncated_length_prefix", "8-byte header length"},
        {"header_length_2pow63", "exceeds the safetensors limit"},
        {"header_length_1e9", "exceeds the safetensors limit"},
        {"header_length_past_eof", "runs past the end of the file"},
        {"header_not_json", "not valid UTF-8 JSON"},
        {"header_invalid_utf8", "not valid UTF-8 JSON"},
        {"header_not_object", "expected an object"},
        {"unknown_dtype", "unsupported dtype \"Q4_K\""},
        {"negative_shape", "shape[0] is -2"},
        {"huge_shape", "more elements than 2^64"},
        {"offsets_out_of_range", "run past the data section"},
        {"offsets_overlap", "overlaps tensor \"a\""},
        {"offsets_gap", "unused bytes before tensor \"b\""},
        {"trailing_bytes", "4 trailing bytes"},
        {"duplicate_keys", "key \"a\" appears twice"},
        {"metadata_non_string", "expected a string"},
        {"offsets_size_mismatch", "needs 12 bytes"},
        {"truncated_data", "run past the data section"},
    };
    for (const auto& [name, reason] : cases) {
        SCOPED_TRACE(name);
        const fs::path p = data_path(std::string("bad/safetensors/") + name + ".safetensors");
        try {
            read_safetensors(p);
            ADD_FAILURE() << "accepted";
        } catch (const InputError& e) {
            EXPECT_NE(std::string(e.what()).find(reason), std::string::npos) << e.what();
        }
    }
}

TEST(SafetensorsBadCorpus, EveryBrokenIndexFailsWithItsName)
{
    const auto cases = sorted_entries(data_path("bad/index"), true);
    ASSERT_GE(cases.size(), 10u);
    const std::string readme = test::read_file(data_path("bad/index/README.md"));
    for (const auto& dir : cases) {
        SCOPED_TRACE(dir.filename().string());
        EXPECT_NE(readme.find(dir.filename().string()), std::string::npos) << "not described in README.md";
        const fs::path index = dir / "model.safetensors.index.json";
        try {
            read_hf_index(index, read_safetensors);
            ADD_FAILURE() << "accepted";
        } catch (const InputError& e) {
            EXPECT_NE(std::string(e.what()).find(index.string()), std::string::npos) << e.what();
        }
    }
}

TEST(SafetensorsBadCorpus, EveryTruncationFails)
{
    const fs::path p = data_path("hf/gpt2/safetensors/model.safetensors");
    const std::string bytes = test::read_file(p);
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i)
        n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<size_t>(i)]);
    std::vector<size_t> lengths;
    for (size_t k = 0; k < 8 + n + 16; ++k)
        lengths.push_back(k);
    for (size_t k = 8 + n + 16; k < bytes.size(); k += 997)
        lengths.push_back(k);
    lengths.push_back(bytes.size() - 1);
    for (size_t k : lengths) {
        const std::string cut = bytes.substr(0, k);
        EXPECT_THROW(detail::parse_safetensors_header(cut, cut.size(), "cut"), InputError) << k;
    }
    EXPECT_NO_THROW(detail::parse_safetensors_header(bytes, bytes.size(), "whole"));
}

TEST(SafetensorsBadCorpus, ByteFlipsNeverCrash)
{
    const std::string bytes = test::read_file(data_path("hf/llama/safetensors/model.safetensors"));
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i)
        n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<size_t>(i)]);
    const std::string head = bytes.substr(0, 8 + n);
    uint32_t x = 7;
    int accepted = 0;
    for (int round = 0; round < 3000; ++round) {
        std::string mutated = head;
        for (int k = 0; k < 1 + round % 3; ++k) {
            x = x * 1664525u + 1013904223u;
            const size_t at = x % mutated.size();
            x = x * 1664525u + 1013904223u;
            mutated[at] = static_cast<char>(x >> 24);
        }
        try {
            detail::parse_safetensors_header(mutated, bytes.size(), "mutated");
            ++accepted;
        } catch (const InputError&) {
        }
    }
    EXPECT_LT(accepted, 3000); // most mutations must be caught
}

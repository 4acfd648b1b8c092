// SPDX-License-Identifier: Apache-2.0
// Unmatched-key handling with the Model Zoo's messages, and streaming outputs to a writer.
#include "engine/executor.hpp"

#include "core/log.hpp"
#include "engine_test_util.hpp"

#include <gtest/gtest.h>

using namespace ckpt;
using namespace ckpt::engine;
using namespace ckpt::engine::testing;

namespace {

const char* kAssertion =
    "Unable to match all keys. If you want to proceed by dropping keys that couldn't matched, rerun with "
    "--drop-unmatched-keys";

Plan plan_with_unmatched()
{
    Plan plan({{"a", iota_f32({2})}, {"b.extra", iota_f32({2})}, {"c", iota_f32({2})}, {"d.extra", iota_f32({1})}});
    plan.drop("a");
    plan.input("c");
    return plan;
}

} // namespace

TEST(Executor, UnmatchedKeysFailWithTheModelZooText)
{
    Plan plan = plan_with_unmatched();
    ::testing::internal::CaptureStderr();
    try {
        validate(plan, false);
        ADD_FAILURE() << "no ConversionError";
    } catch (const ConversionError& e) {
        EXPECT_STREQ(e.what(), kAssertion);
        EXPECT_EQ(e.code(), ExitCode::conversion_failed);
    }
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(err, "WARNING Key not matched: b.extra\nWARNING Key not matched: d.extra\n");
}

TEST(Executor, DropUnmatchedKeysWarnsAndProceeds)
{
    Plan plan = plan_with_unmatched();
    ::testing::internal::CaptureStderr();
    EXPECT_NO_THROW(validate(plan, true));
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(err, "WARNING Key not matched: b.extra\nWARNING Key not matched: d.extra\n"
                   "WARNING proceeding even though some keys weren't matched because of --drop-unmatched-keys\n");
}

TEST(Executor, AllMatchedIsSilent)
{
    Plan plan({{"a", iota_f32({2})}});
    plan.input("a");
    ::testing::internal::CaptureStderr();
    EXPECT_NO_THROW(validate(plan, false));
    EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST(Executor, StreamsMappedTensorsWithoutCopiesAndOthersInChunks)
{
    TensorPtr mapped = iota_f32({10});
    std::vector<const std::byte*> ptrs;
    stream_tensor(*mapped, [&](uint64_t off, const std::byte* data, uint64_t size) {
        EXPECT_EQ(data, mapped->data() + off);
        EXPECT_LE(size, 16u);
        ptrs.push_back(data);
    }, 16);
    EXPECT_EQ(ptrs.size(), 3u);

    Plan plan({{"w", iota_f32({3, 5})}});
    OpRequest t;
    t.kind = OpKind::transpose;
    t.output = "w.T";
    t.inputs = {plan.input("w")};
    plan.add(t);
    OpRequest c;
    c.kind = OpKind::copy;
    c.output = "w.copy";
    c.inputs = {0};
    plan.add(c);
    const std::vector<NamedTensor> outs = plan.outputs();
    EXPECT_EQ(total_bytes(outs), 120u);
    std::vector<std::vector<std::byte>> got(outs.size());
    uint64_t expect_off[2] = {0, 0};
    execute(outs, [&](size_t i, const NamedTensor& nt, uint64_t off, const std::byte* data, uint64_t size) {
        EXPECT_EQ(nt.name, outs[i].name);
        EXPECT_EQ(off, expect_off[i]); // ascending, contiguous
        expect_off[i] += size;
        got[i].insert(got[i].end(), data, data + size);
    }, 7);
    EXPECT_EQ(got[0], read_all(*outs[0].tensor));
    EXPECT_EQ(got[1], read_all(*plan.input_at(0).tensor));
}

TEST(Executor, MatchLinesAreDebugLogs)
{
    Plan plan({{"a", iota_f32({2})}});
    plan.note_match("a", "b");
    const log::Level old = log::level();
    log::set_level(log::Level::debug);
    ::testing::internal::CaptureStderr();
    log_matches(plan);
    const std::string err = ::testing::internal::GetCapturedStderr();
    log::set_level(old);
    EXPECT_EQ(err, "DEBUG Matched a -> b\n");
}

// SPDX-License-Identifier: Apache-2.0
// Literal values format like Python's str() and compare like Python's ==.
#include <ckptconv/cpp/value.hpp>

#include <gtest/gtest.h>

using ckpt::sdk::Value;

TEST(SdkValue, FormatsFloatsLikePythonRepr)
{
    EXPECT_EQ(Value(1e-05).str(), "1e-05");
    EXPECT_EQ(Value(0.02).str(), "0.02");
    EXPECT_EQ(Value(1.0).str(), "1.0");
    EXPECT_EQ(Value(0.0).str(), "0.0");
    EXPECT_EQ(Value(-0.5).str(), "-0.5");
    EXPECT_EQ(Value(10000.0).str(), "10000.0");
    EXPECT_EQ(Value(1e16).str(), "1e+16");
    EXPECT_EQ(Value(1234567890123456.0).str(), "1234567890123456.0");
    EXPECT_EQ(Value(0.0001).str(), "0.0001");
    EXPECT_EQ(Value(0.00012).str(), "0.00012");
    EXPECT_EQ(Value(1.5e-07).str(), "1.5e-07");
    EXPECT_EQ(Value(0.1 + 0.2).str(), "0.30000000000000004");
    EXPECT_EQ(Value(1e22).str(), "1e+22");
    EXPECT_EQ(Value(123.456).str(), "123.456");
}

TEST(SdkValue, FormatsOtherKindsLikePythonStr)
{
    EXPECT_EQ(Value(true).str(), "True");
    EXPECT_EQ(Value(nullptr).str(), "None");
    EXPECT_EQ(Value("gpt2").str(), "gpt2");
    EXPECT_EQ(Value(int64_t{-3}).str(), "-3");
    EXPECT_EQ(Value::list({Value("a"), Value(1), Value(nullptr)}).str(), "['a', 1, None]");
    EXPECT_EQ(Value::map({{"k", Value(1.5)}}).str(), "{'k': 1.5}");
}

TEST(SdkValue, ComparesNumbersAcrossKinds)
{
    EXPECT_EQ(Value(1), Value(1.0));
    EXPECT_EQ(Value(true), Value(1));
    EXPECT_NE(Value("1"), Value(1));
    EXPECT_EQ(Value(nullptr), Value());
    EXPECT_NE(Value(0.0), Value(nullptr));
}

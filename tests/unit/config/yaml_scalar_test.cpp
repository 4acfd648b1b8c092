// SPDX-License-Identifier: Apache-2.0
// PyYAML SafeLoader scalar resolution and construction, against PyYAML 6's own resolver.
#include "config/yaml_scalar.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using ckpt::YamlTag;

namespace {

struct ResolveCase {
    const char* text;
    YamlTag tag; // yaml.resolver.Resolver().resolve(ScalarNode, text, (True, False)) in PyYAML 6
};

const ResolveCase kResolve[] = {
    {"", YamlTag::null},
    {"~", YamlTag::null},
    {"null", YamlTag::null},
    {"Null", YamlTag::null},
    {"NULL", YamlTag::null},
    {"nULL", YamlTag::str},
    {"none", YamlTag::str},
    {"None", YamlTag::str},
    {"true", YamlTag::boolean},
    {"True", YamlTag::boolean},
    {"TRUE", YamlTag::boolean},
    {"tRUE", YamlTag::str},
    {"yes", YamlTag::boolean},
    {"Yes", YamlTag::boolean},
    {"YES", YamlTag::boolean},
    {"yEs", YamlTag::str},
    {"y", YamlTag::str},
    {"Y", YamlTag::str},
    {"n", YamlTag::str},
    {"no", YamlTag::boolean},
    {"No", YamlTag::boolean},
    {"NO", YamlTag::boolean},
    {"on", YamlTag::boolean},
    {"On", YamlTag::boolean},
    {"ON", YamlTag::boolean},
    {"off", YamlTag::boolean},
    {"Off", YamlTag::boolean},
    {"OFF", YamlTag::boolean},
    {"oN", YamlTag::str},
    {"false", YamlTag::boolean},
    {"0", YamlTag::integer},
    {"00", YamlTag::integer},
    {"007", YamlTag::integer},
    {"08", YamlTag::str},
    {"09", YamlTag::str},
    {"0o17", YamlTag::str},
    {"0x1F", YamlTag::integer},
    {"0X1F", YamlTag::str},
    {"0x", YamlTag::str},
    {"0x_", YamlTag::integer},
    {"0b101", YamlTag::integer},
    {"0b", YamlTag::str},
    {"0b2", YamlTag::str},
    {"-0b1", YamlTag::integer},
    {"+0x1f", YamlTag::integer},
    {"1_000", YamlTag::integer},
    {"_1", YamlTag::str},
    {"1_", YamlTag::integer},
    {"-1", YamlTag::integer},
    {"+1", YamlTag::integer},
    {"--1", YamlTag::str},
    {"1:30", YamlTag::integer},
    {"1:60", YamlTag::str},
    {"1:5", YamlTag::integer},
    {"190:20:30", YamlTag::integer},
    {"1:30:", YamlTag::str},
    {"0:30", YamlTag::str},
    {"1.0", YamlTag::floating},
    {"1.", YamlTag::floating},
    {".5", YamlTag::floating},
    {"-.5", YamlTag::str},
    {"+.5", YamlTag::str},
    {"1e5", YamlTag::str},
    {"1e-5", YamlTag::str},
    {"1.0e5", YamlTag::str},
    {"1.0e-5", YamlTag::floating},
    {"1.0E+5", YamlTag::floating},
    {"1.e+5", YamlTag::floating},
    {".5e+3", YamlTag::floating},
    {"1.0e+", YamlTag::str},
    {"1_0.5_", YamlTag::floating},
    {"1:30.5", YamlTag::floating},
    {"1:30.", YamlTag::floating},
    {"-1:30.5", YamlTag::floating},
    {".inf", YamlTag::floating},
    {".Inf", YamlTag::floating},
    {".INF", YamlTag::floating},
    {"-.inf", YamlTag::floating},
    {"+.inf", YamlTag::floating},
    {".iNf", YamlTag::str},
    {"inf", YamlTag::str},
    {"-inf", YamlTag::str},
    {".nan", YamlTag::floating},
    {".NaN", YamlTag::floating},
    {".NAN", YamlTag::floating},
    {"-.nan", YamlTag::str},
    {"nan", YamlTag::str},
    {"NaN", YamlTag::str},
    {"<<", YamlTag::merge},
    {"<", YamlTag::str},
    {"=", YamlTag::value},
    {"==", YamlTag::str},
    {"2024-01-01", YamlTag::timestamp},
    {"2024-1-1", YamlTag::str},
    {"2024-01-1", YamlTag::str},
    {"2001-12-14t21:59:43.10-05:00", YamlTag::timestamp},
    {"2001-12-14 21:59:43.10 -5", YamlTag::timestamp},
    {"2001-12-14 21:59:43.10 Z", YamlTag::timestamp},
    {"2002-12-14T1:02:03", YamlTag::timestamp},
    {"2002-12-14", YamlTag::timestamp},
    {"20020-12-14", YamlTag::str},
    {"2001-12-14 21:59", YamlTag::str},
    {"2001-12-14 21:59:43 +05:3", YamlTag::str},
    {"abc", YamlTag::str},
    {"1.2.3", YamlTag::str},
    {"1,000", YamlTag::str},
    {"0.1.", YamlTag::str},
    {"1e", YamlTag::str},
    {"12e3", YamlTag::str},
    {"3.14", YamlTag::floating},
    {"-3.14", YamlTag::floating},
    {"+", YamlTag::str},
    {"-", YamlTag::str},
    {".", YamlTag::str},
    {"..", YamlTag::str},
    {"1__2", YamlTag::integer},
    {"0_7", YamlTag::integer},
    {"0_8", YamlTag::str},
    {"09.5", YamlTag::floating},
    {"9_9.9_9", YamlTag::floating},
};

const char* tag_name(YamlTag t)
{
    switch (t) {
    case YamlTag::str: return "str";
    case YamlTag::null: return "null";
    case YamlTag::boolean: return "bool";
    case YamlTag::integer: return "int";
    case YamlTag::floating: return "float";
    case YamlTag::timestamp: return "timestamp";
    case YamlTag::merge: return "merge";
    case YamlTag::value: return "value";
    }
    return "?";
}

} // namespace

TEST(YamlScalar, ResolvesLikePyyaml)
{
    for (const ResolveCase& c : kResolve)
        EXPECT_STREQ(tag_name(ckpt::resolve_plain_scalar(c.text)), tag_name(c.tag)) << "scalar `" << c.text << "`";
}

TEST(YamlScalar, ConstructsIntegersLikePyyaml)
{
    // Values from PyYAML 6 safe_load.
    const std::pair<const char*, int64_t> cases[] = {
        {"0", 0},          {"00", 0},           {"007", 7},        {"017", 15},        {"0x1F", 31},
        {"-0x1f", -31},    {"0x_1F", 31},       {"0b101", 5},      {"-0b101", -5},     {"1_000", 1000},
        {"+7", 7},         {"1:30", 90},        {"-1:30:15", -5415}, {"190:20:30", 685230},
        {"9223372036854775807", INT64_MAX}, {"-9223372036854775808", INT64_MIN}, {"0_7", 7},
    };
    for (const auto& [text, expected] : cases) {
        int64_t v = 0;
        ASSERT_TRUE(ckpt::construct_yaml_int(text, v)) << text;
        EXPECT_EQ(v, expected) << text;
    }
    int64_t v = 0;
    EXPECT_FALSE(ckpt::construct_yaml_int("9223372036854775808", v));
    EXPECT_FALSE(ckpt::construct_yaml_int("-9223372036854775809", v));
    EXPECT_FALSE(ckpt::construct_yaml_int("0x_", v)); // PyYAML: int('', 16) raises
    EXPECT_FALSE(ckpt::construct_yaml_int("0x10000000000000000", v));
    EXPECT_FALSE(ckpt::construct_yaml_int("abc", v));
}

TEST(YamlScalar, ConstructsFloatsLikePyyaml)
{
    const std::pair<const char*, double> cases[] = {
        {"1.0", 1.0},     {"1.", 1.0},        {".5", 0.5},         {"-.5e+1", -5.0}, {"1.0e-5", 1e-05},
        {"1_0.5_", 10.5}, {"1:30.5", 90.5},   {"-1:30.5", -90.5},  {"6.", 6.0},      {"1.0E+5", 1e5},
        {"+1.5", 1.5},    {"3.0e+300", 3e300},
    };
    for (const auto& [text, expected] : cases) {
        double d = 0;
        ASSERT_TRUE(ckpt::construct_yaml_float(text, d)) << text;
        EXPECT_EQ(d, expected) << text;
    }
    double d = 0;
    ASSERT_TRUE(ckpt::construct_yaml_float(".inf", d));
    EXPECT_EQ(d, std::numeric_limits<double>::infinity());
    ASSERT_TRUE(ckpt::construct_yaml_float("-.INF", d));
    EXPECT_EQ(d, -std::numeric_limits<double>::infinity());
    ASSERT_TRUE(ckpt::construct_yaml_float(".NaN", d));
    EXPECT_TRUE(std::isnan(d));
    EXPECT_FALSE(ckpt::construct_yaml_float("abc", d));
}

TEST(YamlScalar, ConstructsBooleans)
{
    for (const char* t : {"yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"}) {
        bool b = false;
        ASSERT_TRUE(ckpt::construct_yaml_bool(t, b)) << t;
        EXPECT_TRUE(b) << t;
    }
    for (const char* t : {"no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"}) {
        bool b = true;
        ASSERT_TRUE(ckpt::construct_yaml_bool(t, b)) << t;
        EXPECT_FALSE(b) << t;
    }
    bool b = false;
    EXPECT_FALSE(ckpt::construct_yaml_bool("y", b));
}

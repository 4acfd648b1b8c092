// SPDX-License-Identifier: Apache-2.0
// JSON parsing and string spelling helpers for the safetensors and index readers and writers.
#include "formats/safetensors/json_text.hpp"

#include "core/text.hpp"

#include <rapidjson/error/en.h>

#include <fmt/format.h>

#include <cstdint>

namespace ckpt::detail {

bool parse_json_strict(std::string_view text, rapidjson::Document& doc, std::string& error)
{
    // RapidJSON stops at a NUL byte as if the text ended there, which would let anything hide
    // after it. A raw NUL is never valid JSON (inside strings it must be escaped), so refuse it.
    if (const size_t nul = text.find('\0'); nul != std::string_view::npos) {
        error = fmt::format("NUL byte at byte {}", nul);
        return false;
    }
    constexpr unsigned kFlags = rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag;
    doc.Parse<kFlags>(text.data(), text.size());
    if (!doc.HasParseError())
        return true;
    error = fmt::format("{} at byte {}", rapidjson::GetParseError_En(doc.GetParseError()),
                        doc.GetErrorOffset());
    return false;
}

std::string_view json_kind(const rapidjson::Value& v)
{
    switch (v.GetType()) {
    case rapidjson::kNullType: return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType: return "boolean";
    case rapidjson::kObjectType: return "object";
    case rapidjson::kArrayType: return "array";
    case rapidjson::kStringType: return "string";
    case rapidjson::kNumberType: return "number";
    }
    return "value";
}

std::string json_a_kind(const rapidjson::Value& v)
{
    const std::string_view k = json_kind(v);
    return fmt::format("{} {}", k == "object" || k == "array" ? "an" : "a", k);
}

std::string json_excerpt(const rapidjson::Value& v)
{
    if (v.IsString()) {
        std::string_view s = json_string(v);
        std::string out;
        append_json_string_python(out, is_valid_utf8(s.substr(0, 60)) ? s.substr(0, 60) : "<binary>");
        if (s.size() > 60)
            out.insert(out.size() - 1, "...");
        return out;
    }
    if (v.IsUint64())
        return fmt::format("{}", v.GetUint64());
    if (v.IsInt64())
        return fmt::format("{}", v.GetInt64());
    if (v.IsDouble()) // keep "2.0" visibly fractional: it is rejected for not being an integer
        return fmt::format("{:#}", v.GetDouble());
    if (v.IsBool())
        return v.GetBool() ? "true" : "false";
    if (v.IsNull())
        return "null";
    return json_a_kind(v);
}

namespace {

constexpr char kHex[] = "0123456789abcdef";

void append_u16_escape(std::string& out, uint32_t unit)
{
    out += "\\u";
    out += kHex[(unit >> 12) & 0xF];
    out += kHex[(unit >> 8) & 0xF];
    out += kHex[(unit >> 4) & 0xF];
    out += kHex[unit & 0xF];
}

/// The short escapes both serde_json and Python use; false for characters without one.
bool append_short_escape(std::string& out, char c)
{
    switch (c) {
    case '"': out += "\\\""; return true;
    case '\\': out += "\\\\"; return true;
    case '\b': out += "\\b"; return true;
    case '\f': out += "\\f"; return true;
    case '\n': out += "\\n"; return true;
    case '\r': out += "\\r"; return true;
    case '\t': out += "\\t"; return true;
    default: return false;
    }
}

} // namespace

bool is_valid_utf8(std::string_view s)
{
    char32_t cp = 0;
    for (size_t i = 0; i < s.size();) {
        const size_t n = decode_utf8_at(s, i, cp);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

void append_json_string_serde(std::string& out, std::string_view s)
{
    out += '"';
    for (char c : s) {
        if (append_short_escape(out, c))
            continue;
        if (static_cast<unsigned char>(c) < 0x20)
            append_u16_escape(out, static_cast<unsigned char>(c));
        else
            out += c;
    }
    out += '"';
}

void append_json_string_python(std::string& out, std::string_view s)
{
    out += '"';
    char32_t cp = 0;
    for (size_t i = 0; i < s.size();) {
        size_t n = decode_utf8_at(s, i, cp);
        if (n == 0) { // callers validate; never loop forever on bad input
            cp = 0xFFFD;
            n = 1;
        }
        const char c = s[i];
        i += n;
        if (cp < 0x80 && append_short_escape(out, c))
            continue;
        if (cp >= 0x20 && cp <= 0x7E) {
            out += c;
        } else if (cp <= 0xFFFF) {
            append_u16_escape(out, cp);
        } else {
            const uint32_t v = cp - 0x10000;
            append_u16_escape(out, 0xD800 + (v >> 10));
            append_u16_escape(out, 0xDC00 + (v & 0x3FF));
        }
    }
    out += '"';
}

} // namespace ckpt::detail

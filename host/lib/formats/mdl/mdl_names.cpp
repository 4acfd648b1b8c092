// SPDX-License-Identifier: Apache-2.0
// Dataset-name quoting, hex text and small float conversions for the `.mdl` container.
#include "formats/mdl/mdl_names.hpp"

#include "core/text.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>

namespace ckpt::detail {

std::string url_quote(std::string_view key)
{
    static const char* kHex = "0123456789ABCDEF";
    std::string out;
    out.reserve(key.size());
    for (const char ch : key) {
        const auto c = static_cast<unsigned char>(ch);
        const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                          c == '.' || c == '-' || c == '~';
        if (safe) {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 15]);
        }
    }
    return out;
}

std::string to_hex(std::string_view bytes)
{
    static const char* kHex = "0123456789abcdef";
    std::string out;
    out.resize(bytes.size() * 2);
    for (size_t i = 0; i < bytes.size(); ++i) {
        const auto c = static_cast<unsigned char>(bytes[i]);
        out[2 * i] = kHex[c >> 4];
        out[2 * i + 1] = kHex[c & 15];
    }
    return out;
}

bool from_hex(std::string_view hex, std::string& out)
{
    if (hex.size() % 2)
        return false;
    out.resize(hex.size() / 2);
    for (size_t i = 0; i < out.size(); ++i) {
        const int hi = hex_digit(hex[2 * i]);
        const int lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = static_cast<char>(hi << 4 | lo);
    }
    return true;
}

uint16_t double_to_bf16_bits(double v)
{
    const float f = static_cast<float>(v);
    uint32_t u = 0;
    std::memcpy(&u, &f, 4);
    if (std::isnan(f))
        return static_cast<uint16_t>((u >> 16) | 0x40);
    u += 0x7fff + ((u >> 16) & 1);
    return static_cast<uint16_t>(u >> 16);
}

uint16_t double_to_half_bits(double v)
{
    const float f = static_cast<float>(v);
    uint32_t x = 0;
    std::memcpy(&x, &f, 4);
    const uint32_t sign = (x >> 16) & 0x8000;
    const uint32_t absx = x & 0x7fffffff;
    if (absx > 0x7f800000)
        return static_cast<uint16_t>(sign | 0x7e00); // NaN
    if (absx >= 0x477ff000)
        return static_cast<uint16_t>(sign | 0x7c00); // overflow to inf (incl. rounding up)
    if (absx < 0x38800000) {                         // subnormal or zero in half
        const float a = std::fabs(f);
        const float scaled = a * 16777216.0f; // 2^24: units of the smallest half subnormal
        const auto m = static_cast<uint32_t>(std::nearbyint(scaled));
        return static_cast<uint16_t>(sign | m);
    }
    const uint32_t exp = ((absx >> 23) - 112) << 10;
    uint32_t mant = absx & 0x7fffff;
    uint32_t h = exp | (mant >> 13);
    const uint32_t rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
        ++h;
    return static_cast<uint16_t>(sign | h);
}

} // namespace ckpt::detail

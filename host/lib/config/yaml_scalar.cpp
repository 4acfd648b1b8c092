// SPDX-License-Identifier: Apache-2.0
// YAML 1.1 scalar resolution as PyYAML's SafeLoader does it (hand-written matchers for the
// resolver's regular expressions: std::regex would be slow and recursive on long scalars).
#include "config/yaml_scalar.hpp"

#include "config/python_float.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace ckpt {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// A cursor over the text; each matcher consumes on success only where noted.
struct Cursor {
    std::string_view s;
    size_t i = 0;
    bool done() const { return i == s.size(); }
    char peek() const { return i < s.size() ? s[i] : '\0'; }
    bool eat(char c)
    {
        if (i < s.size() && s[i] == c) {
            ++i;
            return true;
        }
        return false;
    }
    template <class Pred> size_t eat_while(Pred p)
    {
        size_t n = 0;
        while (i < s.size() && p(s[i])) {
            ++i;
            ++n;
        }
        return n;
    }
    void eat_sign()
    {
        if (peek() == '-' || peek() == '+')
            ++i;
    }
};

// (?::[0-5]?[0-9])+ — one or more base-60 groups.
bool sexagesimal_groups(Cursor& c)
{
    size_t groups = 0;
    while (c.peek() == ':') {
        size_t save = c.i;
        ++c.i;
        // [0-5]?[0-9]: two digits with the first in 0-5, or one digit.
        if (c.i + 1 < c.s.size() && c.s[c.i] >= '0' && c.s[c.i] <= '5' && is_digit(c.s[c.i + 1]))
            c.i += 2;
        else if (is_digit(c.peek()))
            c.i += 1;
        else {
            c.i = save;
            break;
        }
        ++groups;
    }
    return groups > 0;
}

bool matches_bool(std::string_view t)
{
    static const char* const kWords[] = {"yes", "Yes", "YES", "no",  "No",  "NO",  "true", "True", "TRUE",
                                         "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF"};
    for (const char* w : kWords)
        if (t == w)
            return true;
    return false;
}

bool matches_null(std::string_view t) { return t.empty() || t == "~" || t == "null" || t == "Null" || t == "NULL"; }

bool matches_int(std::string_view t)
{
    // [-+]?0b[0-1_]+
    {
        Cursor c{t};
        c.eat_sign();
        if (c.eat('0') && c.eat('b') && c.eat_while([](char ch) { return ch == '0' || ch == '1' || ch == '_'; }) > 0 &&
            c.done())
            return true;
    }
    // [-+]?0[0-7_]+
    {
        Cursor c{t};
        c.eat_sign();
        if (c.eat('0') && c.eat_while([](char ch) { return (ch >= '0' && ch <= '7') || ch == '_'; }) > 0 && c.done())
            return true;
    }
    // [-+]?(?:0|[1-9][0-9_]*)
    {
        Cursor c{t};
        c.eat_sign();
        if (c.eat('0') && c.done())
            return true;
        c = Cursor{t};
        c.eat_sign();
        if (c.peek() >= '1' && c.peek() <= '9') {
            ++c.i;
            c.eat_while([](char ch) { return is_digit(ch) || ch == '_'; });
            if (c.done())
                return true;
        }
    }
    // [-+]?0x[0-9a-fA-F_]+
    {
        Cursor c{t};
        c.eat_sign();
        if (c.eat('0') && c.eat('x') && c.eat_while([](char ch) { return is_hex(ch) || ch == '_'; }) > 0 && c.done())
            return true;
    }
    // [-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+
    {
        Cursor c{t};
        c.eat_sign();
        if (c.peek() >= '1' && c.peek() <= '9') {
            ++c.i;
            c.eat_while([](char ch) { return is_digit(ch) || ch == '_'; });
            if (sexagesimal_groups(c) && c.done())
                return true;
        }
    }
    return false;
}

// (?:[eE][-+][0-9]+)? — optional; the sign is required when the exponent is present.
bool optional_exponent(Cursor& c)
{
    if (c.peek() != 'e' && c.peek() != 'E')
        return true;
    size_t save = c.i;
    ++c.i;
    if ((c.peek() == '-' || c.peek() == '+')) {
        ++c.i;
        if (c.eat_while(is_digit) > 0)
            return true;
    }
    c.i = save;
    return true; // the optional group did not match; the caller's done() check decides
}

bool matches_float(std::string_view t)
{
    // [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
    {
        Cursor c{t};
        c.eat_sign();
        if (is_digit(c.peek())) {
            ++c.i;
            c.eat_while([](char ch) { return is_digit(ch) || ch == '_'; });
            if (c.eat('.')) {
                c.eat_while([](char ch) { return is_digit(ch) || ch == '_'; });
                optional_exponent(c);
                if (c.done())
                    return true;
            }
        }
    }
    // \.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
    {
        Cursor c{t};
        if (c.eat('.') && is_digit(c.peek())) {
            c.eat_while([](char ch) { return is_digit(ch) || ch == '_'; });
            optional_exponent(c);
            if (c.done())
                return true;
        }
    }
    // [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    {
        Cursor c{t};
        c.eat_sign();
        if (is_digit(c.peek())) {
            ++c.i;
            c.eat_while([](char ch) { return is_digit(ch) || ch == '_'; });
            if (sexagesimal_groups(c) && c.eat('.')) {
                c.eat_while([](char ch) { return is_digit(ch) || ch == '_'; });
                if (c.done())
                    return true;
            }
        }
    }
    // [-+]?\.(?:inf|Inf|INF) and \.(?:nan|NaN|NAN)
    {
        std::string_view u = t;
        if (!u.empty() && (u.front() == '-' || u.front() == '+'))
            u.remove_prefix(1);
        if (u == ".inf" || u == ".Inf" || u == ".INF")
            return true;
        if (t == ".nan" || t == ".NaN" || t == ".NAN")
            return true;
    }
    return false;
}

bool matches_timestamp(std::string_view t)
{
    // Date only: [0-9]{4}-[0-9]{2}-[0-9]{2}.
    if (t.size() == 10 && is_digit(t[0]) && is_digit(t[1]) && is_digit(t[2]) && is_digit(t[3]) && t[4] == '-' &&
        is_digit(t[5]) && is_digit(t[6]) && t[7] == '-' && is_digit(t[8]) && is_digit(t[9]))
        return true;
    // Date and time: one- or two-digit month, day and hour, then :MM:SS[.fraction][zone].
    Cursor c{t};
    if (c.eat_while(is_digit) != 4 || !c.eat('-'))
        return false;
    size_t n = c.eat_while(is_digit);
    if (n < 1 || n > 2 || !c.eat('-'))
        return false;
    n = c.eat_while(is_digit);
    if (n < 1 || n > 2)
        return false;
    if (!(c.eat('T') || c.eat('t'))) {
        if (c.eat_while([](char ch) { return ch == ' ' || ch == '\t'; }) == 0)
            return false;
    }
    n = c.eat_while(is_digit);
    if (n < 1 || n > 2 || !c.eat(':') || c.eat_while(is_digit) != 2 || !c.eat(':') || c.eat_while(is_digit) != 2)
        return false;
    if (c.eat('.'))
        c.eat_while(is_digit);
    if (c.done())
        return true;
    c.eat_while([](char ch) { return ch == ' ' || ch == '\t'; });
    if (c.eat('Z'))
        return c.done();
    if (!(c.eat('-') || c.eat('+')))
        return false;
    n = c.eat_while(is_digit);
    if (n < 1 || n > 2)
        return false;
    if (c.eat(':') && c.eat_while(is_digit) != 2)
        return false;
    return c.done();
}

std::string without_underscores(std::string_view t)
{
    std::string s;
    for (char ch : t)
        if (ch != '_')
            s.push_back(ch);
    return s;
}

// Unsigned magnitude in `base`; false on overflow of uint64 or an invalid/empty digit string.
bool parse_magnitude(std::string_view digits, unsigned base, uint64_t& out)
{
    if (digits.empty())
        return false;
    uint64_t v = 0;
    for (char ch : digits) {
        unsigned d;
        if (is_digit(ch))
            d = static_cast<unsigned>(ch - '0');
        else if (ch >= 'a' && ch <= 'f')
            d = static_cast<unsigned>(ch - 'a' + 10);
        else if (ch >= 'A' && ch <= 'F')
            d = static_cast<unsigned>(ch - 'A' + 10);
        else
            return false;
        if (d >= base)
            return false;
        if (v > (std::numeric_limits<uint64_t>::max() - d) / base)
            return false;
        v = v * base + d;
    }
    out = v;
    return true;
}

bool signed_result(bool negative, uint64_t magnitude, int64_t& out)
{
    constexpr uint64_t kMaxPos = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    if (negative) {
        if (magnitude > kMaxPos + 1)
            return false;
        out = magnitude == kMaxPos + 1 ? std::numeric_limits<int64_t>::min() : -static_cast<int64_t>(magnitude);
    } else {
        if (magnitude > kMaxPos)
            return false;
        out = static_cast<int64_t>(magnitude);
    }
    return true;
}

std::vector<std::string_view> split_colons(std::string_view s)
{
    std::vector<std::string_view> parts;
    size_t start = 0;
    for (;;) {
        size_t p = s.find(':', start);
        parts.push_back(s.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
        if (p == std::string_view::npos)
            break;
        start = p + 1;
    }
    return parts;
}

} // namespace

YamlTag resolve_plain_scalar(std::string_view t)
{
    // PyYAML tries the resolvers registered for the first character, in registration order:
    // bool, float, int, merge, null, timestamp, value. The patterns do not overlap.
    if (matches_bool(t))
        return YamlTag::boolean;
    if (matches_float(t))
        return YamlTag::floating;
    if (matches_int(t))
        return YamlTag::integer;
    if (t == "<<")
        return YamlTag::merge;
    if (matches_null(t))
        return YamlTag::null;
    if (matches_timestamp(t))
        return YamlTag::timestamp;
    if (t == "=")
        return YamlTag::value;
    return YamlTag::str;
}

bool construct_yaml_bool(std::string_view t, bool& out)
{
    std::string lower;
    for (char ch : t)
        lower.push_back(static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch));
    if (lower == "yes" || lower == "true" || lower == "on") {
        out = true;
        return true;
    }
    if (lower == "no" || lower == "false" || lower == "off") {
        out = false;
        return true;
    }
    return false;
}

bool construct_yaml_int(std::string_view t, int64_t& out)
{
    std::string v = without_underscores(t);
    bool negative = false;
    if (!v.empty() && (v[0] == '-' || v[0] == '+')) {
        negative = v[0] == '-';
        v.erase(0, 1);
    }
    if (v.empty())
        return false;
    uint64_t magnitude = 0;
    if (v == "0") {
        out = 0;
        return true;
    }
    if (v.rfind("0b", 0) == 0) {
        if (!parse_magnitude(std::string_view(v).substr(2), 2, magnitude))
            return false;
    } else if (v.rfind("0x", 0) == 0) {
        if (!parse_magnitude(std::string_view(v).substr(2), 16, magnitude))
            return false;
    } else if (v[0] == '0') {
        if (!parse_magnitude(v, 8, magnitude))
            return false;
    } else if (v.find(':') != std::string::npos) {
        // Base 60: the most significant group first.
        uint64_t value = 0;
        for (std::string_view part : split_colons(v)) {
            uint64_t d = 0;
            if (!parse_magnitude(part, 10, d))
                return false;
            if (value > (std::numeric_limits<uint64_t>::max() - d) / 60)
                return false;
            value = value * 60 + d;
        }
        magnitude = value;
    } else {
        if (!parse_magnitude(v, 10, magnitude))
            return false;
    }
    return signed_result(negative, magnitude, out);
}

bool construct_yaml_float(std::string_view t, double& out)
{
    std::string v = without_underscores(t);
    for (char& ch : v)
        if (ch >= 'A' && ch <= 'Z')
            ch = static_cast<char>(ch - 'A' + 'a');
    double sign = 1.0;
    if (!v.empty() && (v[0] == '-' || v[0] == '+')) {
        if (v[0] == '-')
            sign = -1.0;
        v.erase(0, 1);
    }
    if (v == ".inf") {
        out = sign * std::numeric_limits<double>::infinity();
        return true;
    }
    if (v == ".nan") {
        // PyYAML returns its NaN constant whatever the sign.
        out = std::numeric_limits<double>::quiet_NaN();
        return true;
    }
    if (v.find(':') != std::string::npos) {
        double value = 0.0;
        double base = 1.0;
        std::vector<std::string_view> parts = split_colons(v);
        for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
            double d = 0;
            if (!parse_decimal_float(*it, d))
                return false;
            value += d * base;
            base *= 60;
        }
        out = sign * value;
        return true;
    }
    double d = 0;
    if (!parse_decimal_float(v, d))
        return false;
    out = sign * d;
    return true;
}

} // namespace ckpt

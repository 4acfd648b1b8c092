// SPDX-License-Identifier: Apache-2.0
// Python's float text rules: repr() for writing configs exactly as json/PyYAML do, and float() for reading.
#include "config/python_float.hpp"

#include <charconv>
#include <clocale>
#include <cstdlib>
#include <locale.h>
#include <cmath>
#include <limits>
#include <system_error>

namespace ckpt {

std::string python_float_repr(double v)
{
    if (std::isnan(v))
        return "nan";
    if (std::isinf(v))
        return v < 0 ? "-inf" : "inf";

    // to_chars in scientific form is the shortest round-trip digit string (the same digits
    // Python's repr picks); only the layout differs, and that is redone below.
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
    std::string_view sci(buf, static_cast<size_t>(res.ptr - buf));
    bool negative = false;
    if (!sci.empty() && sci.front() == '-') {
        negative = true;
        sci.remove_prefix(1);
    }
    const size_t epos = sci.find('e');
    std::string digits;
    for (char c : sci.substr(0, epos))
        if (c != '.')
            digits.push_back(c);
    int exp10 = 0;
    std::string_view exp_text = sci.substr(epos + 1);
    const bool exp_negative = !exp_text.empty() && exp_text.front() == '-';
    if (!exp_text.empty() && (exp_text.front() == '-' || exp_text.front() == '+'))
        exp_text.remove_prefix(1);
    std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exp10);
    if (exp_negative)
        exp10 = -exp10;
    while (digits.size() > 1 && digits.back() == '0')
        digits.pop_back();

    // Python: value = 0.DIGITS * 10**decpt; scientific when decpt <= -4 or decpt > 16.
    const int decpt = exp10 + 1;
    const int ndigits = static_cast<int>(digits.size());
    std::string out;
    if (negative)
        out.push_back('-');
    if (decpt <= -4 || decpt > 16) {
        out.push_back(digits[0]);
        if (ndigits > 1) {
            out.push_back('.');
            out.append(digits, 1, std::string::npos);
        }
        const int e = decpt - 1;
        out.push_back('e');
        out.push_back(e < 0 ? '-' : '+');
        const int ae = e < 0 ? -e : e;
        if (ae < 10)
            out.push_back('0');
        out += std::to_string(ae);
    } else if (decpt <= 0) {
        out += "0.";
        out.append(static_cast<size_t>(-decpt), '0');
        out += digits;
    } else if (decpt >= ndigits) {
        out += digits;
        out.append(static_cast<size_t>(decpt - ndigits), '0');
        out += ".0";
    } else {
        out.append(digits, 0, static_cast<size_t>(decpt));
        out.push_back('.');
        out.append(digits, static_cast<size_t>(decpt), std::string::npos);
    }
    return out;
}

std::string pyyaml_float_text(double v)
{
    if (std::isnan(v))
        return ".nan";
    if (std::isinf(v))
        return v < 0 ? "-.inf" : ".inf";
    std::string text = python_float_repr(v);
    // `1e-05` is not a YAML 1.1 float (its regex wants a dot), so PyYAML writes `1.0e-05`.
    const size_t e = text.find('e');
    if (e != std::string::npos && text.find('.') == std::string::npos)
        text.insert(e, ".0");
    return text;
}

bool parse_decimal_float(std::string_view text, double& out)
{
    // Validate the lexeme ourselves: from_chars also accepts "inf", "nan" and hex forms.
    size_t i = 0;
    size_t int_digits = 0;
    size_t frac_digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        ++i;
        ++int_digits;
    }
    if (i < text.size() && text[i] == '.') {
        ++i;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            ++i;
            ++frac_digits;
        }
    }
    if (int_digits + frac_digits == 0)
        return false;
    if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
        ++i;
        if (i < text.size() && (text[i] == '+' || text[i] == '-'))
            ++i;
        size_t exp_digits = 0;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            ++i;
            ++exp_digits;
        }
        if (exp_digits == 0)
            return false;
    }
    if (i != text.size())
        return false;
    double value = 0;
    auto res = std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::general);
    if (res.ec == std::errc::result_out_of_range) {
        // Python rounds like strtod: overflow is infinity, underflow zero. strtod_l in the C
        // locale gives exactly that (the text is already validated and NUL-free).
        static locale_t c_locale = newlocale(LC_ALL_MASK, "C", nullptr);
        const std::string copy(text);
        value = c_locale ? strtod_l(copy.c_str(), nullptr, c_locale) : std::strtod(copy.c_str(), nullptr);
    } else if (res.ec != std::errc() || res.ptr != text.data() + text.size()) {
        return false;
    }
    out = value;
    return true;
}

} // namespace ckpt

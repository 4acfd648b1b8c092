// SPDX-License-Identifier: Apache-2.0
// Quoted YAML scalars re-read from the source text with PyYAML's folding and escape rules.
#include "config/yaml_quoted_scalar.hpp"

#include "config/config_text.hpp"

namespace ckpt::detail {
namespace {

class Scanner {
public:
    Scanner(std::string_view text, size_t pos) : m_s(text), m_i(pos) {}

    bool skip_properties()
    {
        for (;;) {
            if (m_i >= m_s.size())
                return false;
            const char c = m_s[m_i];
            if (c == '&' || c == '!') {
                while (m_i < m_s.size() && !is_blank(m_s[m_i]) && m_s[m_i] != '\n' && m_s[m_i] != '\r')
                    ++m_i;
            } else if (is_blank(c) || c == '\n' || c == '\r') {
                ++m_i;
            } else if (c == '#') {
                while (m_i < m_s.size() && m_s[m_i] != '\n' && m_s[m_i] != '\r')
                    ++m_i;
            } else {
                return true;
            }
        }
    }

    bool scan(std::string& out)
    {
        if (m_i >= m_s.size() || (m_s[m_i] != '\'' && m_s[m_i] != '"'))
            return false;
        const bool dbl = m_s[m_i] == '"';
        const char quote = m_s[m_i];
        ++m_i;
        out.clear();
        if (!non_spaces(dbl, out))
            return false;
        while (peek() != quote) {
            if (!spaces(out) || !non_spaces(dbl, out))
                return false;
        }
        ++m_i;
        return true;
    }

private:
    std::string_view m_s;
    size_t m_i;

    static bool is_blank(char c) { return c == ' ' || c == '\t'; }
    char peek(size_t k = 0) const { return m_i + k < m_s.size() ? m_s[m_i + k] : '\0'; }

    // Length of the line break at the cursor (\r\n, \r, \n, U+0085, U+2028, U+2029), or 0.
    size_t break_length() const
    {
        const char c = peek();
        if (c == '\r')
            return peek(1) == '\n' ? 2 : 1;
        if (c == '\n')
            return 1;
        if (c == '\xC2' && peek(1) == '\x85')
            return 2;
        if (c == '\xE2' && peek(1) == '\x80' && (peek(2) == '\xA8' || peek(2) == '\xA9'))
            return 3;
        return 0;
    }

    // PyYAML's scan_line_break: \r\n, \r, \n and U+0085 become "\n"; U+2028/9 stay themselves.
    std::string line_break()
    {
        const size_t n = break_length();
        std::string r = n == 3 ? std::string(m_s.substr(m_i, 3)) : std::string("\n");
        m_i += n;
        return r;
    }

    bool non_spaces(bool dbl, std::string& out)
    {
        for (;;) {
            const size_t start = m_i;
            while (m_i < m_s.size()) {
                const char c = m_s[m_i];
                if (c == '\'' || c == '"' || c == '\\' || c == '\0' || is_blank(c) || break_length() != 0)
                    break;
                ++m_i;
            }
            out.append(m_s.substr(start, m_i - start));
            if (m_i >= m_s.size())
                return true; // the caller sees the missing quote
            const char c = m_s[m_i];
            if (!dbl && c == '\'' && peek(1) == '\'') {
                out.push_back('\'');
                m_i += 2;
            } else if ((dbl && c == '\'') || (!dbl && (c == '"' || c == '\\'))) {
                out.push_back(c);
                ++m_i;
            } else if (dbl && c == '\\') {
                ++m_i;
                if (!escape(out))
                    return false;
            } else {
                return true;
            }
        }
    }

    bool escape(std::string& out)
    {
        const char c = peek();
        const char* simple = nullptr;
        switch (c) {
        case '0':
            out.push_back('\0');
            ++m_i;
            return true;
        case 'a': simple = "\x07"; break;
        case 'b': simple = "\x08"; break;
        case 't':
        case '\t': simple = "\t"; break;
        case 'n': simple = "\n"; break;
        case 'v': simple = "\x0B"; break;
        case 'f': simple = "\x0C"; break;
        case 'r': simple = "\r"; break;
        case 'e': simple = "\x1B"; break;
        case ' ': simple = " "; break;
        case '"': simple = "\""; break;
        case '\\': simple = "\\"; break;
        case '/': simple = "/"; break;
        case 'N': simple = "\xC2\x85"; break;
        case '_': simple = "\xC2\xA0"; break;
        case 'L': simple = "\xE2\x80\xA8"; break;
        case 'P': simple = "\xE2\x80\xA9"; break;
        default: break;
        }
        if (simple) {
            out += simple;
            ++m_i;
            return true;
        }
        size_t digits = c == 'x' ? 2 : c == 'u' ? 4 : c == 'U' ? 8 : 0;
        if (digits) {
            ++m_i;
            uint32_t cp = 0;
            for (size_t k = 0; k < digits; ++k) {
                const char h = peek();
                uint32_t d;
                if (h >= '0' && h <= '9')
                    d = static_cast<uint32_t>(h - '0');
                else if (h >= 'a' && h <= 'f')
                    d = static_cast<uint32_t>(h - 'a' + 10);
                else if (h >= 'A' && h <= 'F')
                    d = static_cast<uint32_t>(h - 'A' + 10);
                else
                    return false;
                cp = cp * 16 + d;
                ++m_i;
            }
            if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                return false;
            append_utf8(out, cp);
            return true;
        }
        if (break_length() != 0) {
            line_break(); // an escaped line break joins the lines without a space
            std::string breaks;
            if (!scan_breaks(breaks))
                return false;
            out += breaks;
            return true;
        }
        return false;
    }

    bool spaces(std::string& out)
    {
        const size_t start = m_i;
        while (is_blank(peek()) && m_i < m_s.size())
            ++m_i;
        const std::string_view whitespace = m_s.substr(start, m_i - start);
        if (m_i >= m_s.size())
            return false; // unexpected end of stream
        if (break_length() != 0) {
            const std::string first = line_break();
            std::string breaks;
            if (!scan_breaks(breaks))
                return false;
            if (first != "\n")
                out += first;
            else if (breaks.empty())
                out.push_back(' ');
            out += breaks;
        } else {
            out.append(whitespace);
        }
        return true;
    }

    bool scan_breaks(std::string& out)
    {
        for (;;) {
            const std::string_view three = m_s.substr(m_i, 3);
            if ((three == "---" || three == "...")) {
                const char after = peek(3);
                if (after == '\0' || is_blank(after) || after == '\r' || after == '\n')
                    return false; // a document marker inside a quoted scalar
            }
            while (m_i < m_s.size() && is_blank(m_s[m_i]))
                ++m_i;
            if (break_length() == 0)
                return true;
            out += line_break();
        }
    }
};

} // namespace

bool scan_quoted_scalar(std::string_view text, size_t pos, std::string& out)
{
    if (pos >= text.size())
        return false;
    Scanner s(text, pos);
    return s.skip_properties() && s.scan(out);
}

} // namespace ckpt::detail

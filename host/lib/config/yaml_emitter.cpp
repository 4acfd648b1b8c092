// SPDX-License-Identifier: Apache-2.0
// YAML writer reproducing PyYAML's emitter byte for byte for config trees: the same indentation
// state, scalar analysis, style choice and line folding (yaml/emitter.py is the behaviour spec).
#include "config/config_text.hpp"
#include "config/python_float.hpp"
#include "config/yaml_config.hpp"
#include "config/yaml_scalar.hpp"
#include "core/error.hpp"

#include <optional>

namespace ckpt {
namespace {

constexpr size_t kBestWidth = 80;
constexpr char32_t kNone = 0xFFFFFFFF; // "no character" past the end of a scalar

bool is_break(char32_t c) { return c == '\n' || c == 0x85 || c == 0x2028 || c == 0x2029; }
bool is_blank_or_end(char32_t c) { return c == 0 || c == ' ' || c == '\t' || c == '\r' || is_break(c); }

struct Scalar {
    std::u32string text;
    bool implicit_plain = true;  // reads back as the same type when written plain
    bool implicit_quoted = true; // reads back as the same type when quoted (strings only)
};

struct Analysis {
    bool empty = false;
    bool multiline = false;
    bool allow_flow_plain = true;
    bool allow_block_plain = true;
    bool allow_single_quoted = true;
    bool allow_double_quoted = true;
};

// PyYAML's analyze_scalar with allow_unicode=False.
Analysis analyze(const std::u32string& s)
{
    Analysis a;
    if (s.empty()) {
        a.empty = true;
        a.allow_flow_plain = false;
        return a;
    }
    bool block_indicators = false;
    bool flow_indicators = false;
    bool line_breaks = false;
    bool special_characters = false;
    bool leading_space = false;
    bool leading_break = false;
    bool trailing_space = false;
    bool trailing_break = false;
    bool break_space = false;
    bool space_break = false;

    auto starts_with = [&](const char* p) {
        for (size_t i = 0; p[i]; ++i)
            if (i >= s.size() || s[i] != static_cast<char32_t>(p[i]))
                return false;
        return true;
    };
    if (starts_with("---") || starts_with("...")) {
        block_indicators = true;
        flow_indicators = true;
    }
    bool preceded_by_whitespace = true;
    bool followed_by_whitespace = s.size() == 1 || is_blank_or_end(s[1]);
    bool previous_space = false;
    bool previous_break = false;
    auto in = [](char32_t c, const char* set) {
        for (size_t i = 0; set[i]; ++i)
            if (c == static_cast<char32_t>(static_cast<unsigned char>(set[i])))
                return true;
        return false;
    };

    for (size_t index = 0; index < s.size(); ++index) {
        const char32_t ch = s[index];
        if (index == 0) {
            if (in(ch, "#,[]{}&*!|>'\"%@`")) {
                flow_indicators = true;
                block_indicators = true;
            }
            if (ch == '?' || ch == ':') {
                flow_indicators = true;
                if (followed_by_whitespace)
                    block_indicators = true;
            }
            if (ch == '-' && followed_by_whitespace) {
                flow_indicators = true;
                block_indicators = true;
            }
        } else {
            if (in(ch, ",?[]{}"))
                flow_indicators = true;
            if (ch == ':') {
                flow_indicators = true;
                if (followed_by_whitespace)
                    block_indicators = true;
            }
            if (ch == '#' && preceded_by_whitespace) {
                flow_indicators = true;
                block_indicators = true;
            }
        }
        if (is_break(ch))
            line_breaks = true;
        if (!(ch == '\n' || (ch >= 0x20 && ch <= 0x7E))) {
            // Printable non-ASCII would be allowed with allow_unicode; without it, everything
            // outside printable ASCII needs double quotes and escapes.
            special_characters = true;
        }
        if (ch == ' ') {
            if (index == 0)
                leading_space = true;
            if (index == s.size() - 1)
                trailing_space = true;
            if (previous_break)
                break_space = true;
            previous_space = true;
            previous_break = false;
        } else if (is_break(ch)) {
            if (index == 0)
                leading_break = true;
            if (index == s.size() - 1)
                trailing_break = true;
            if (previous_space)
                space_break = true;
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = is_blank_or_end(ch);
        followed_by_whitespace = index + 2 >= s.size() || is_blank_or_end(s[index + 2]);
    }

    if (leading_space || leading_break || trailing_space || trailing_break)
        a.allow_flow_plain = a.allow_block_plain = false;
    if (break_space)
        a.allow_flow_plain = a.allow_block_plain = a.allow_single_quoted = false;
    if (space_break || special_characters)
        a.allow_flow_plain = a.allow_block_plain = a.allow_single_quoted = false;
    if (line_breaks)
        a.allow_flow_plain = a.allow_block_plain = false;
    if (flow_indicators)
        a.allow_flow_plain = false;
    if (block_indicators)
        a.allow_block_plain = false;
    a.multiline = line_breaks;
    return a;
}

std::u32string ascii(const std::string& s) { return std::u32string(s.begin(), s.end()); }

class Emitter {
public:
    Emitter(const YamlStyle& style)
        : m_best_indent(style.indent > 1 && style.indent < 10 ? style.indent : 2), m_sort(style.sort_keys)
    {
    }

    std::string out;

    void document(const Node& root)
    {
        node(root, true, false, false, false, "");
        write_indent(); // document end
        if (m_open_ended) {
            write_indicator("...", true);
            write_indent();
        }
    }

private:
    const int m_best_indent;
    const bool m_sort;
    std::vector<std::optional<int>> m_indents;
    std::optional<int> m_indent;
    int m_flow_level = 0;
    bool m_root_context = false;
    bool m_sequence_context = false;
    bool m_mapping_context = false;
    bool m_simple_key_context = false;
    size_t m_column = 0;
    bool m_whitespace = true;
    bool m_indention = true;
    bool m_open_ended = false;

    static std::string child_path(const std::string& path, const std::string& key)
    {
        return path.empty() ? key : path + "." + key;
    }

    Scalar represent(const Node& n, const std::string& path) const
    {
        Scalar s;
        switch (n.kind()) {
        case Node::Kind::null: s.text = ascii("null"); break;
        case Node::Kind::boolean: s.text = ascii(n.as_bool() ? "true" : "false"); break;
        case Node::Kind::integer: s.text = ascii(std::to_string(n.as_int())); break;
        case Node::Kind::floating: s.text = ascii(pyyaml_float_text(n.as_float())); break;
        case Node::Kind::string: {
            const std::string& v = n.as_string();
            if (!detail::decode_utf8(v, s.text))
                throw_input("config key `{}`: string is not valid UTF-8 (byte {}), cannot be written to YAML",
                            path.empty() ? "<root>" : path, detail::find_invalid_utf8(v));
            s.implicit_plain = resolve_plain_scalar(v) == YamlTag::str;
            return s;
        }
        default:
            throw_input("config key `{}`: a {} value cannot be written to YAML", path.empty() ? "<root>" : path,
                        Node::kind_name(n.kind()));
        }
        s.implicit_quoted = false;
        return s;
    }

    void increase_indent(bool flow, bool indentless = false)
    {
        m_indents.push_back(m_indent);
        if (!m_indent)
            m_indent = flow ? m_best_indent : 0;
        else if (!indentless)
            *m_indent += m_best_indent;
    }
    void pop_indent()
    {
        m_indent = m_indents.back();
        m_indents.pop_back();
    }

    void node(const Node& n, bool root, bool sequence, bool mapping, bool simple_key, const std::string& path)
    {
        m_root_context = root;
        m_sequence_context = sequence;
        m_mapping_context = mapping;
        m_simple_key_context = simple_key;
        if (n.is_sequence()) {
            const auto& items = n.items();
            if (items.empty()) {
                flow_empty("[", "]");
                return;
            }
            const bool indentless = m_mapping_context && !m_indention;
            increase_indent(false, indentless);
            for (size_t i = 0; i < items.size(); ++i) {
                write_indent();
                write_indicator("-", true, false, true);
                node(items[i], false, true, false, false, fmt::format("{}[{}]", path, i));
            }
            pop_indent();
            return;
        }
        if (n.is_map()) {
            const auto& entries = n.entries();
            if (entries.empty()) {
                flow_empty("{", "}");
                return;
            }
            std::vector<const Node::Entry*> order;
            if (!(m_sort && detail::python_sort_entries(entries, order))) {
                order.clear();
                for (const auto& e : entries)
                    order.push_back(&e);
            }
            increase_indent(false);
            for (const Node::Entry* e : order) {
                if (e->first.is_map() || e->first.is_sequence())
                    throw_input("config key `{}`: a {} key cannot be written to a YAML config",
                                path.empty() ? "<root>" : path, Node::kind_name(e->first.kind()));
                const std::string key_name = Node::key_text(e->first);
                Scalar key = represent(e->first, child_path(path, key_name));
                const Analysis ka = analyze(key.text);
                write_indent();
                // check_simple_key: short, single-line and non-empty keys go inline.
                if (key.text.size() < 128 && !ka.empty && !ka.multiline) {
                    m_root_context = false;
                    m_sequence_context = false;
                    m_mapping_context = true;
                    m_simple_key_context = true;
                    scalar(key, ka);
                    write_indicator(":", false);
                } else {
                    write_indicator("?", true, false, true);
                    m_root_context = false;
                    m_sequence_context = false;
                    m_mapping_context = true;
                    m_simple_key_context = false;
                    scalar(key, ka);
                    write_indent();
                    write_indicator(":", true, false, true);
                }
                node(e->second, false, false, true, false, child_path(path, key_name));
            }
            pop_indent();
            return;
        }
        Scalar s = represent(n, path);
        scalar(s, analyze(s.text));
    }

    void flow_empty(const char* open, const char* close)
    {
        write_indicator(open, true, true);
        ++m_flow_level;
        increase_indent(true);
        pop_indent();
        --m_flow_level;
        write_indicator(close, false);
    }

    // expect_scalar + process_scalar.
    void scalar(const Scalar& s, const Analysis& a)
    {
        increase_indent(true);
        char style = '"';
        if (s.implicit_plain && !(m_simple_key_context && (a.empty || a.multiline)) &&
            (m_flow_level ? a.allow_flow_plain : a.allow_block_plain))
            style = '\0';
        else if (a.allow_single_quoted && !(m_simple_key_context && a.multiline))
            style = '\'';
        if (style != '\0' && !s.implicit_quoted) {
            // PyYAML would add a tag here; our non-string scalars are always plain-safe.
            throw_input("internal: scalar `{}` cannot be written plain", to_utf8(s.text));
        }
        const bool split = !m_simple_key_context;
        if (style == '"')
            write_double_quoted(s.text, split);
        else if (style == '\'')
            write_single_quoted(s.text, split);
        else
            write_plain(s.text, split);
        pop_indent();
    }

    static std::string to_utf8(const std::u32string& s)
    {
        std::string r;
        for (char32_t c : s)
            detail::append_utf8(r, c);
        return r;
    }

    void write_text(const std::u32string& s, size_t start, size_t end)
    {
        for (size_t i = start; i < end; ++i)
            detail::append_utf8(out, s[i]);
        m_column += end - start;
    }

    void write_indicator(const char* indicator, bool need_whitespace, bool whitespace = false,
                         bool indention = false)
    {
        if (!(m_whitespace || !need_whitespace)) {
            out.push_back(' ');
            ++m_column;
        }
        out += indicator;
        m_column += std::char_traits<char>::length(indicator);
        m_whitespace = whitespace;
        m_indention = m_indention && indention;
        m_open_ended = false;
    }

    void write_indent()
    {
        const size_t indent = m_indent ? static_cast<size_t>(*m_indent) : 0;
        if (!m_indention || m_column > indent || (m_column == indent && !m_whitespace))
            write_line_break();
        if (m_column < indent) {
            m_whitespace = true;
            out.append(indent - m_column, ' ');
            m_column = indent;
        }
    }

    void write_line_break(char32_t br = '\n')
    {
        m_whitespace = true;
        m_indention = true;
        m_column = 0;
        detail::append_utf8(out, br);
    }

    void write_breaks(const std::u32string& text, size_t start, size_t end)
    {
        if (text[start] == '\n')
            write_line_break();
        for (size_t i = start; i < end; ++i)
            write_line_break(text[i]);
    }

    void write_plain(const std::u32string& text, bool split)
    {
        if (m_root_context)
            m_open_ended = true;
        if (text.empty())
            return;
        if (!m_whitespace) {
            out.push_back(' ');
            ++m_column;
        }
        m_whitespace = false;
        m_indention = false;
        bool spaces = false;
        bool breaks = false;
        size_t start = 0;
        for (size_t end = 0; end <= text.size(); ++end) {
            const char32_t ch = end < text.size() ? text[end] : kNone;
            if (spaces) {
                if (ch != ' ') {
                    if (start + 1 == end && m_column > kBestWidth && split) {
                        write_indent();
                        m_whitespace = false;
                        m_indention = false;
                    } else {
                        write_text(text, start, end);
                    }
                    start = end;
                }
            } else if (breaks) {
                if (ch == kNone || !is_break(ch)) {
                    write_breaks(text, start, end);
                    write_indent();
                    m_whitespace = false;
                    m_indention = false;
                    start = end;
                }
            } else if (ch == kNone || ch == ' ' || is_break(ch)) {
                write_text(text, start, end);
                start = end;
            }
            if (ch != kNone) {
                spaces = ch == ' ';
                breaks = is_break(ch);
            }
        }
    }

    void write_single_quoted(const std::u32string& text, bool split)
    {
        write_indicator("'", true);
        bool spaces = false;
        bool breaks = false;
        size_t start = 0;
        for (size_t end = 0; end <= text.size(); ++end) {
            const char32_t ch = end < text.size() ? text[end] : kNone;
            if (spaces) {
                if (ch == kNone || ch != ' ') {
                    if (start + 1 == end && m_column > kBestWidth && split && start != 0 && end != text.size())
                        write_indent();
                    else
                        write_text(text, start, end);
                    start = end;
                }
            } else if (breaks) {
                if (ch == kNone || !is_break(ch)) {
                    write_breaks(text, start, end);
                    write_indent();
                    start = end;
                }
            } else if (ch == kNone || ch == ' ' || is_break(ch) || ch == '\'') {
                if (start < end) {
                    write_text(text, start, end);
                    start = end;
                }
            }
            if (ch == '\'') {
                out += "''";
                m_column += 2;
                start = end + 1;
            }
            if (ch != kNone) {
                spaces = ch == ' ';
                breaks = is_break(ch);
            }
        }
        write_indicator("'", false);
    }

    static const char* escape_for(char32_t ch)
    {
        switch (ch) {
        case 0x00: return "0";
        case 0x07: return "a";
        case 0x08: return "b";
        case 0x09: return "t";
        case 0x0A: return "n";
        case 0x0B: return "v";
        case 0x0C: return "f";
        case 0x0D: return "r";
        case 0x1B: return "e";
        case '"': return "\"";
        case '\\': return "\\";
        case 0x85: return "N";
        case 0xA0: return "_";
        case 0x2028: return "L";
        case 0x2029: return "P";
        default: return nullptr;
        }
    }

    void write_double_quoted(const std::u32string& text, bool split)
    {
        write_indicator("\"", true);
        size_t start = 0;
        for (size_t end = 0; end <= text.size(); ++end) {
            const char32_t ch = end < text.size() ? text[end] : kNone;
            if (ch == kNone || ch == '"' || ch == '\\' || ch == 0x85 || ch == 0x2028 || ch == 0x2029 ||
                ch == 0xFEFF || !(ch >= 0x20 && ch <= 0x7E)) {
                if (start < end) {
                    write_text(text, start, end);
                    start = end;
                }
                if (ch != kNone) {
                    std::string data;
                    if (const char* e = escape_for(ch))
                        data = std::string("\\") + e;
                    else if (ch <= 0xFF)
                        data = fmt::format("\\x{:02X}", static_cast<unsigned>(ch));
                    else if (ch <= 0xFFFF)
                        data = fmt::format("\\u{:04X}", static_cast<unsigned>(ch));
                    else
                        data = fmt::format("\\U{:08X}", static_cast<unsigned>(ch));
                    out += data;
                    m_column += data.size();
                    start = end + 1;
                }
            }
            if (end > 0 && end + 1 < text.size() && (ch == ' ' || start >= end) &&
                // Signed on purpose: right after an escape `start` is end + 1, as in PyYAML.
                static_cast<long long>(m_column) + static_cast<long long>(end) - static_cast<long long>(start) >
                    static_cast<long long>(kBestWidth) &&
                split) {
                if (start < end) {
                    write_text(text, start, end);
                    start = end;
                }
                out.push_back('\\');
                ++m_column;
                write_indent();
                m_whitespace = false;
                m_indention = false;
                if (text[start] == ' ') {
                    out.push_back('\\');
                    ++m_column;
                }
            }
        }
        write_indicator("\"", false);
    }
};

} // namespace

std::string format_yaml_config(const Node& config, const YamlStyle& style)
{
    Emitter e(style);
    e.document(config);
    return std::move(e.out);
}

std::string format_yaml_config_unsorted(const Node& config) { return format_yaml_config(config, kUnsortedYaml); }

} // namespace ckpt

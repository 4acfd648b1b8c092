// SPDX-License-Identifier: Apache-2.0
// JSON configs: RapidJSON SAX into an ordered Node tree, and a writer reproducing json.dumps.
#include "config/json_config.hpp"

#include "config/config_text.hpp"
#include "config/python_float.hpp"
#include "core/atomic_output.hpp"
#include "core/error.hpp"

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <charconv>
#include <cmath>
#include <unordered_set>

namespace ckpt {
namespace {

struct Frame {
    Node node;
    std::string key;                     // pending key of a map frame
    std::unordered_set<std::string> keys; // seen keys of a map frame (duplicates are refused)
};

// Builds Nodes from SAX events with an explicit stack (no recursion on deep input).
class Builder : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, Builder> {
public:
    Node root;
    bool have_root = false;
    std::string error; // set when a handler refuses the input

    bool Null() { return add(Node()); }
    bool Bool(bool b) { return add(Node(b)); }
    bool Int(int) { return number_event(); }
    bool Uint(unsigned) { return number_event(); }
    bool Int64(int64_t) { return number_event(); }
    bool Uint64(uint64_t) { return number_event(); }
    bool Double(double) { return number_event(); }
    bool RawNumber(const char* s, rapidjson::SizeType len, bool)
    {
        const std::string_view text(s, len);
        // Python's json: a number with a fraction or exponent is a float, otherwise an int.
        if (text == "NaN")
            return add(Node(std::numeric_limits<double>::quiet_NaN()));
        if (text == "Infinity")
            return add(Node(std::numeric_limits<double>::infinity()));
        if (text == "-Infinity")
            return add(Node(-std::numeric_limits<double>::infinity()));
        if (text.find_first_of("IN") != std::string_view::npos) {
            error = fmt::format("`{}` is not a JSON number (Python accepts only NaN, Infinity, -Infinity){}", text,
                                where());
            return false;
        }
        if (text.find_first_of(".eE") == std::string_view::npos) {
            int64_t v = 0;
            auto res = std::from_chars(text.data(), text.data() + text.size(), v);
            if (res.ec != std::errc() || res.ptr != text.data() + text.size()) {
                error = fmt::format("integer {} does not fit in 64 bits{}", text, where());
                return false;
            }
            return add(Node(v));
        }
        const bool negative = !text.empty() && text.front() == '-';
        double d = 0;
        if (!parse_decimal_float(negative ? text.substr(1) : text, d)) {
            error = fmt::format("cannot read number `{}`{}", text, where());
            return false;
        }
        return add(Node(negative ? -d : d));
    }
    bool String(const char* s, rapidjson::SizeType len, bool)
    {
        std::string value(s, len);
        // RapidJSON lets a lone low-surrogate escape (\udc00) through as invalid UTF-8.
        if (detail::find_invalid_utf8(value) != std::string::npos) {
            error = fmt::format("string with an unpaired UTF-16 surrogate escape{}", where());
            return false;
        }
        return add(Node(std::move(value)));
    }
    bool StartObject() { return open(Node::map()); }
    bool Key(const char* s, rapidjson::SizeType len, bool)
    {
        Frame& f = m_stack.back();
        std::string key(s, len);
        if (detail::find_invalid_utf8(key) != std::string::npos) {
            error = fmt::format("key with an unpaired UTF-16 surrogate escape{}", where(false));
            return false;
        }
        if (!f.keys.insert(key).second) {
            f.key = key;
            error = fmt::format("duplicate key \"{}\"{}", key, where(true));
            return false;
        }
        f.key = std::move(key);
        return true;
    }
    bool EndObject(rapidjson::SizeType) { return close(); }
    bool StartArray() { return open(Node::list()); }
    bool EndArray(rapidjson::SizeType) { return close(); }

private:
    std::vector<Frame> m_stack;

    bool number_event()
    {
        // Unreachable with kParseNumbersAsStringsFlag; refuse rather than guess a kind.
        error = "internal: number without its text";
        return false;
    }

    // " under key a.b[2]" for messages; `at_key` includes the pending key of the innermost map.
    std::string where(bool at_key = true) const
    {
        std::string path;
        for (size_t i = 0; i < m_stack.size(); ++i) {
            const Frame& f = m_stack[i];
            const bool innermost = i + 1 == m_stack.size();
            if (f.node.is_map()) {
                if (innermost && !at_key)
                    break;
                if (!path.empty())
                    path.push_back('.');
                path += f.key;
            } else {
                path += fmt::format("[{}]", f.node.size());
            }
        }
        return path.empty() ? std::string() : fmt::format(" (key `{}`)", path);
    }

    bool open(Node container)
    {
        if (m_stack.empty() && !container.is_map()) {
            error = "the top level is a list; a config must be a JSON object";
            return false;
        }
        if (m_stack.size() >= detail::kMaxConfigDepth) {
            error = fmt::format("nesting deeper than {} levels{}", detail::kMaxConfigDepth, where());
            return false;
        }
        m_stack.push_back(Frame{std::move(container), {}, {}});
        return true;
    }

    bool close()
    {
        Node done = std::move(m_stack.back().node);
        m_stack.pop_back();
        return add(std::move(done));
    }

    bool add(Node v)
    {
        if (m_stack.empty()) {
            if (!v.is_map()) {
                error = fmt::format("the top level is a {}; a config must be a JSON object",
                                    Node::kind_name(v.kind()));
                return false;
            }
            root = std::move(v);
            have_root = true;
            return true;
        }
        Frame& f = m_stack.back();
        if (f.node.is_map())
            f.node.append(Node(f.key), std::move(v));
        else
            f.node.push_back(std::move(v));
        return true;
    }
};

void line_column(std::string_view text, size_t offset, size_t& line, size_t& column)
{
    line = 1;
    size_t line_start = 0;
    offset = std::min(offset, text.size());
    for (size_t i = 0; i < offset; ++i) {
        if (text[i] == '\n') {
            ++line;
            line_start = i + 1;
        }
    }
    column = offset - line_start + 1;
}

} // namespace

Node parse_json_config(std::string_view text, const std::string& name)
{
    size_t skip = 0;
    if (text.substr(0, 3) == "\xEF\xBB\xBF")
        skip = 3;
    const std::string_view body = text.substr(skip);
    if (body.find_first_not_of(" \t\r\n") == std::string_view::npos)
        throw_input("{}: config is empty, expected a JSON object", name);

    rapidjson::MemoryStream stream(body.data(), body.size());
    rapidjson::Reader reader;
    Builder builder;
    constexpr unsigned kFlags = rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag |
                                rapidjson::kParseNanAndInfFlag | rapidjson::kParseValidateEncodingFlag;
    rapidjson::ParseResult ok = reader.Parse<kFlags>(stream, builder);
    if (!ok) {
        size_t line = 0;
        size_t column = 0;
        line_column(text, skip + ok.Offset(), line, column);
        if (!builder.error.empty())
            throw_input("{}: line {}, column {}: {}", name, line, column, builder.error);
        throw_input("{}: invalid JSON at line {}, column {}: {}", name, line, column,
                    rapidjson::GetParseError_En(ok.Code()));
    }
    if (!builder.have_root)
        throw_input("{}: expected a JSON object, found nothing", name);
    return std::move(builder.root);
}

Node read_json_config(const std::filesystem::path& path)
{
    return parse_json_config(detail::read_config_text(path), path.string());
}

namespace {

class JsonWriter {
public:
    JsonWriter(const JsonStyle& style) : m_style(style) {}
    std::string out;

    void value(const Node& n, int level, const std::string& path)
    {
        switch (n.kind()) {
        case Node::Kind::null: out += "null"; return;
        case Node::Kind::boolean: out += n.as_bool() ? "true" : "false"; return;
        case Node::Kind::integer: out += std::to_string(n.as_int()); return;
        case Node::Kind::floating: out += float_text(n.as_float()); return;
        case Node::Kind::string: string(n.as_string(), path); return;
        case Node::Kind::list:
        case Node::Kind::tuple: {
            const auto& items = n.items();
            if (items.empty()) {
                out += "[]";
                return;
            }
            out.push_back('[');
            for (size_t i = 0; i < items.size(); ++i) {
                if (i)
                    out.push_back(',');
                newline(level + 1);
                value(items[i], level + 1, fmt::format("{}[{}]", path, i));
            }
            newline(level);
            out.push_back(']');
            return;
        }
        case Node::Kind::map: {
            const auto& entries = n.entries();
            if (entries.empty()) {
                out += "{}";
                return;
            }
            std::vector<const Node::Entry*> order;
            if (!(m_style.sort_keys && detail::python_sort_entries(entries, order))) {
                order.clear();
                for (const auto& e : entries)
                    order.push_back(&e);
            }
            out.push_back('{');
            bool first = true;
            for (const Node::Entry* e : order) {
                if (!first)
                    out.push_back(',');
                first = false;
                newline(level + 1);
                const std::string key = key_text(e->first, path);
                string(key, path);
                out += ": ";
                value(e->second, level + 1, path.empty() ? key : path + "." + key);
            }
            newline(level);
            out.push_back('}');
            return;
        }
        default:
            throw_input("config key `{}`: a {} value cannot be written to JSON", path.empty() ? "<root>" : path,
                        Node::kind_name(n.kind()));
        }
    }

private:
    const JsonStyle& m_style;

    void newline(int level)
    {
        out.push_back('\n');
        out.append(static_cast<size_t>(m_style.indent) * static_cast<size_t>(level), ' ');
    }

    static std::string float_text(double d)
    {
        if (std::isnan(d))
            return "NaN";
        if (std::isinf(d))
            return d < 0 ? "-Infinity" : "Infinity";
        return python_float_repr(d);
    }

    // Python converts these key types to strings; anything else is a TypeError there.
    static std::string key_text(const Node& k, const std::string& path)
    {
        switch (k.kind()) {
        case Node::Kind::string: return k.as_string();
        case Node::Kind::integer: return std::to_string(k.as_int());
        case Node::Kind::floating: return float_text(k.as_float());
        case Node::Kind::boolean: return k.as_bool() ? "true" : "false";
        case Node::Kind::null: return "null";
        default:
            throw_input("config key `{}`: a {} cannot be a JSON key", path.empty() ? "<root>" : path,
                        Node::kind_name(k.kind()));
        }
    }

    void string(const std::string& s, const std::string& path)
    {
        static const char kHex[] = "0123456789abcdef";
        auto u_escape = [this](unsigned v) {
            out += "\\u";
            out.push_back(kHex[(v >> 12) & 0xF]);
            out.push_back(kHex[(v >> 8) & 0xF]);
            out.push_back(kHex[(v >> 4) & 0xF]);
            out.push_back(kHex[v & 0xF]);
        };
        std::u32string cps;
        if (!detail::decode_utf8(s, cps))
            throw_input("config key `{}`: string is not valid UTF-8 (byte {}), cannot be written to JSON",
                        path.empty() ? "<root>" : path, detail::find_invalid_utf8(s));
        out.push_back('"');
        for (char32_t c : cps) {
            switch (c) {
            case '"': out += "\\\""; continue;
            case '\\': out += "\\\\"; continue;
            case '\n': out += "\\n"; continue;
            case '\r': out += "\\r"; continue;
            case '\t': out += "\\t"; continue;
            case '\b': out += "\\b"; continue;
            case '\f': out += "\\f"; continue;
            default: break;
            }
            if (c >= 0x20 && c < 0x7F) {
                out.push_back(static_cast<char>(c));
            } else if (c < 0x10000) {
                u_escape(static_cast<unsigned>(c));
            } else {
                const unsigned v = static_cast<unsigned>(c) - 0x10000;
                u_escape(0xD800 | (v >> 10));
                u_escape(0xDC00 | (v & 0x3FF));
            }
        }
        out.push_back('"');
    }
};

} // namespace

std::string format_json_config(const Node& config, const JsonStyle& style)
{
    JsonWriter w(style);
    w.value(config, 0, "");
    if (style.trailing_newline)
        w.out.push_back('\n');
    return std::move(w.out);
}

void write_json_config(const std::filesystem::path& path, const Node& config, const JsonStyle& style)
{
    const std::string text = format_json_config(config, style);
    FileWriter f(path);
    f.write(text);
    f.close();
}

} // namespace ckpt

// SPDX-License-Identifier: Apache-2.0
// YAML config reader: yaml-cpp's event parser, with scalars resolved and mappings built the way
// PyYAML's SafeLoader does (so a config means here what it means to the Model Zoo).
#include "config/yaml_config.hpp"

#include "config/config_text.hpp"
#include "config/yaml_quoted_scalar.hpp"
#include "config/yaml_scalar.hpp"
#include "core/atomic_output.hpp"
#include "core/error.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <cmath>
#include <map>
#include <sstream>
#include <unordered_map>

namespace ckpt {
namespace {

constexpr const char* kTagPrefix = "tag:yaml.org,2002:";

struct Pair {
    Node key;
    Node value;
    bool merge = false; // a `<<` key: its value is merged into the mapping
};

struct Frame {
    Node node; // list or map (maps are built from `pairs` at the end)
    YAML::anchor_t anchor = 0;
    YAML::Mark mark;
    size_t count = 1; // values in this subtree, for the alias expansion limit
    std::vector<Pair> pairs;
    bool have_key = false;
    Pair pending;
    YAML::Mark key_mark;
};

// Python dict semantics for the finished mapping: a repeated key keeps its first position and
// takes the last value; 1, 1.0 and true are the same key; NaN keys never compare equal.
class MapAssembler {
public:
    explicit MapAssembler(Node& map) : m_map(map) {}
    void put(Node key, Node value)
    {
        auto& entries = m_map.entries();
        size_t* slot = nullptr;
        switch (key.kind()) {
        case Node::Kind::string: slot = &m_strings[key.as_string()]; break;
        case Node::Kind::null: slot = &m_null; break;
        case Node::Kind::boolean:
        case Node::Kind::integer:
        case Node::Kind::floating: {
            const long double v = key.kind() == Node::Kind::floating ? static_cast<long double>(key.as_float())
                                  : key.kind() == Node::Kind::integer ? static_cast<long double>(key.as_int())
                                                                       : (key.as_bool() ? 1.0L : 0.0L);
            if (!std::isnan(v))
                slot = &m_numbers[v];
            break;
        }
        default: break;
        }
        if (slot && *slot != 0) {
            entries[*slot - 1].second = std::move(value);
            return;
        }
        entries.emplace_back(std::move(key), std::move(value));
        if (slot)
            *slot = entries.size(); // 1-based so that 0 means "absent"
    }

private:
    Node& m_map;
    std::unordered_map<std::string, size_t> m_strings;
    std::map<long double, size_t> m_numbers;
    size_t m_null = 0;
};

class Builder : public YAML::EventHandler {
public:
    Builder(const std::string& name, std::string_view text) : m_name(name), m_text(text) {}

    Node root;
    bool have_root = false;
    int documents = 0;

    void OnDocumentStart(const YAML::Mark& mark) override
    {
        if (++documents > 1)
            fail(mark, "a second YAML document starts here; a config file holds exactly one");
    }
    void OnDocumentEnd() override {}

    void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { complete(Node(), anchor, 1, mark, false); }

    void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override
    {
        auto it = m_anchors.find(anchor);
        if (it == m_anchors.end())
            fail(mark, "alias to an anchor that is still being defined (a recursive structure cannot be a config)");
        const size_t copied = it->second.second;
        if (copied > detail::kMaxAliasValues - m_alias_values)
            fail(mark, fmt::format("aliases expand to more than {} values (a \"billion laughs\" file?)",
                                   detail::kMaxAliasValues));
        m_alias_values += copied;
        complete(it->second.first, 0, copied, mark, false);
    }

    void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  const std::string& value) override
    {
        bool merge = false;
        if (tag != "?") {
            // Quoted scalars are re-read from the source (yaml-cpp drops trailing line breaks).
            std::string rescanned;
            if (detail::scan_quoted_scalar(m_text, mark.pos, rescanned)) {
                Node n = construct(mark, tag, rescanned, merge);
                complete(std::move(n), anchor, 1, mark, merge);
                return;
            }
        }
        Node n = construct(mark, tag, repair_escapes(mark, value), merge);
        complete(std::move(n), anchor, 1, mark, merge);
    }

    void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                         YAML::EmitterStyle::value) override
    {
        check_collection_tag(mark, tag, "seq");
        open(Node::list(), anchor, mark);
    }
    void OnSequenceEnd() override { close(); }

    void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                    YAML::EmitterStyle::value) override
    {
        check_collection_tag(mark, tag, "map");
        open(Node::map(), anchor, mark);
    }
    void OnMapEnd() override
    {
        Frame& f = m_stack.back();
        f.node = build_map(f);
        close();
    }

    [[noreturn]] void fail(const YAML::Mark& mark, const std::string& what) const
    {
        throw_input("{}: line {}, column {}: {}", m_name, mark.line + 1, mark.column + 1, what);
    }

private:
    const std::string& m_name;
    std::string_view m_text; // what the parser reads; marks are byte offsets into it
    std::vector<Frame> m_stack;
    std::unordered_map<YAML::anchor_t, std::pair<Node, size_t>> m_anchors;
    size_t m_alias_values = 0;

    // yaml-cpp turns the escapes \N and \_ into the single bytes 0x85 and 0xA0 instead of their
    // UTF-8 encodings. The input was checked to be UTF-8, so such bytes can only come from there.
    std::string repair_escapes(const YAML::Mark& mark, const std::string& value) const
    {
        if (detail::find_invalid_utf8(value) == std::string::npos)
            return value;
        std::string fixed;
        for (size_t i = 0; i < value.size();) {
            const size_t bad = detail::find_invalid_utf8(std::string_view(value).substr(i));
            if (bad == std::string::npos) {
                fixed.append(value, i, std::string::npos);
                break;
            }
            fixed.append(value, i, bad);
            const auto byte = static_cast<unsigned char>(value[i + bad]);
            if (byte != 0x85 && byte != 0xA0)
                fail(mark, "scalar is not valid UTF-8 after unescaping");
            detail::append_utf8(fixed, byte);
            i += bad + 1;
        }
        return fixed;
    }

    Node construct(const YAML::Mark& mark, const std::string& tag, const std::string& value, bool& merge)
    {
        std::string short_tag;
        if (tag.rfind(kTagPrefix, 0) == 0)
            short_tag = tag.substr(std::char_traits<char>::length(kTagPrefix));
        if (tag == "!" || short_tag == "str")
            return Node(value);
        if (tag == "?") {
            switch (resolve_plain_scalar(value)) {
            case YamlTag::str:
            case YamlTag::timestamp: return Node(value);
            case YamlTag::null: return Node();
            case YamlTag::boolean: return typed(mark, "bool", value);
            case YamlTag::integer: return typed(mark, "int", value);
            case YamlTag::floating: return typed(mark, "float", value);
            case YamlTag::merge: merge = true; return Node(value);
            case YamlTag::value:
                // PyYAML turns a `=` key into a string; as a value it has no constructor.
                return Node(value);
            }
        }
        if (short_tag == "merge") {
            merge = true;
            return Node(value);
        }
        if (short_tag == "bool" || short_tag == "int" || short_tag == "float")
            return typed(mark, short_tag, value);
        if (short_tag == "null")
            return Node();
        if (short_tag == "timestamp")
            return Node(value);
        fail(mark, fmt::format("unsupported tag `{}` on scalar `{}` (a config holds only strings, numbers, "
                               "booleans, null, lists and mappings)",
                               tag, value));
    }

    Node typed(const YAML::Mark& mark, const std::string& type, const std::string& value)
    {
        if (type == "bool") {
            bool b = false;
            if (!construct_yaml_bool(value, b))
                fail(mark, fmt::format("`{}` is not a boolean", value));
            return Node(b);
        }
        if (type == "int") {
            int64_t i = 0;
            if (!construct_yaml_int(value, i))
                fail(mark, fmt::format("`{}` is not an integer that fits in 64 bits", value));
            return Node(i);
        }
        double d = 0;
        if (!construct_yaml_float(value, d))
            fail(mark, fmt::format("`{}` is not a float", value));
        return Node(d);
    }

    void check_collection_tag(const YAML::Mark& mark, const std::string& tag, const char* kind)
    {
        if (tag == "?" || tag == "!" || tag.empty() || tag == std::string(kTagPrefix) + kind)
            return;
        fail(mark, fmt::format("unsupported tag `{}` (a config holds only strings, numbers, booleans, null, "
                               "lists and mappings)",
                               tag));
    }

    void open(Node container, YAML::anchor_t anchor, const YAML::Mark& mark)
    {
        if (m_stack.size() >= detail::kMaxConfigDepth)
            fail(mark, fmt::format("nesting deeper than {} levels", detail::kMaxConfigDepth));
        Frame f;
        f.node = std::move(container);
        f.anchor = anchor;
        f.mark = mark;
        m_stack.push_back(std::move(f));
    }

    void close()
    {
        Frame f = std::move(m_stack.back());
        m_stack.pop_back();
        add(std::move(f.node), f.anchor, f.count, f.mark, false);
    }

    void complete(Node v, YAML::anchor_t anchor, size_t count, const YAML::Mark& mark, bool merge)
    {
        add(std::move(v), anchor, count, mark, merge);
    }

    // `count`: values in the subtree, which an alias to it would copy.
    void add(Node v, YAML::anchor_t anchor, size_t count, const YAML::Mark& mark, bool merge)
    {
        if (anchor)
            m_anchors[anchor] = {v, count};
        if (m_stack.empty()) {
            root = std::move(v);
            have_root = true;
            return;
        }
        Frame& f = m_stack.back();
        f.count += count;
        if (f.node.is_sequence()) {
            if (merge)
                fail(mark, "`<<` (merge) can only be a mapping key");
            f.node.push_back(std::move(v));
            return;
        }
        if (!f.have_key) {
            if (v.is_map() || v.is_sequence())
                fail(mark, "a mapping key is a list or mapping; config keys must be scalars");
            f.pending = Pair{std::move(v), Node(), merge};
            f.have_key = true;
            f.key_mark = mark;
            return;
        }
        f.pending.value = std::move(v);
        f.pairs.push_back(std::move(f.pending));
        f.have_key = false;
    }

    // PyYAML's flatten_mapping: merged entries come first (a later `<<` list item loses to an
    // earlier one), then the mapping's own entries, which override them.
    Node build_map(Frame& f)
    {
        std::vector<Pair> ordered;
        std::vector<Pair> own;
        for (Pair& p : f.pairs) {
            if (!p.merge) {
                own.push_back(std::move(p));
                continue;
            }
            auto take = [&](const Node& m) {
                if (!m.is_map())
                    fail(f.mark, fmt::format("`<<` (merge) expects a mapping or a list of mappings, found a {}",
                                             Node::kind_name(m.kind())));
                for (const auto& e : m.entries())
                    ordered.push_back(Pair{e.first, e.second, false});
            };
            if (p.value.is_sequence()) {
                const auto& items = p.value.items();
                for (auto it = items.rbegin(); it != items.rend(); ++it)
                    take(*it);
            } else {
                take(p.value);
            }
        }
        for (Pair& p : own)
            ordered.push_back(std::move(p));
        Node map = Node::map();
        MapAssembler assembler(map);
        for (Pair& p : ordered)
            assembler.put(std::move(p.key), std::move(p.value));
        return map;
    }
};

// PyYAML's Reader refuses non-printable characters before parsing; so do we, which also turns
// binary files into a clear message instead of a parser error deep inside.
void check_printable(std::string_view text, const std::string& name)
{
    std::u32string cps;
    if (!detail::decode_utf8(text, cps)) {
        const size_t at = detail::find_invalid_utf8(text);
        throw_input("{}: not a YAML config: invalid UTF-8 at byte {} (binary file?)", name, at);
    }
    size_t line = 1;
    size_t column = 1;
    for (char32_t c : cps) {
        const bool ok = c == 0x09 || c == 0x0A || c == 0x0D || (c >= 0x20 && c <= 0x7E) || c == 0x85 ||
                        (c >= 0xA0 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
        if (!ok)
            throw_input("{}: line {}, column {}: control character U+{:04X} is not allowed in YAML (binary file?)",
                        name, line, column, static_cast<unsigned>(c));
        if (c == '\n') {
            ++line;
            column = 1;
        } else {
            ++column;
        }
    }
}

} // namespace

Node parse_yaml_config(std::string_view text, const std::string& name)
{
    if (text.substr(0, 3) == "\xEF\xBB\xBF")
        text.remove_prefix(3);
    check_printable(text, name);
    std::istringstream in{std::string(text)};
    Builder builder(name, text);
    try {
        YAML::Parser parser(in);
        while (parser.HandleNextDocument(builder)) {
        }
    } catch (const YAML::Exception& e) {
        if (e.mark.is_null())
            throw_input("{}: invalid YAML: {}", name, e.msg);
        throw_input("{}: invalid YAML at line {}, column {}: {}", name, e.mark.line + 1, e.mark.column + 1, e.msg);
    }
    if (!builder.have_root)
        throw_input("{}: config is empty, expected a YAML mapping", name);
    if (!builder.root.is_map())
        throw_input("{}: the top level is a {}; a config must be a YAML mapping", name,
                    Node::kind_name(builder.root.kind()));
    return std::move(builder.root);
}

Node read_yaml_config(const std::filesystem::path& path)
{
    return parse_yaml_config(detail::read_config_text(path), path.string());
}

void write_yaml_config(const std::filesystem::path& path, const Node& config, const YamlStyle& style)
{
    const std::string text = format_yaml_config(config, style);
    FileWriter f(path);
    f.write(text);
    f.close();
}

} // namespace ckpt

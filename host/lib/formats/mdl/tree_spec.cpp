// SPDX-License-Identifier: Apache-2.0
// TreeSpecs: flatten/unflatten of value trees, and their pickled and JSON encodings.
#include "formats/mdl/tree_spec.hpp"

#include "core/error.hpp"
#include "formats/torch/pickle.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <cmath>

namespace ckpt::detail {

namespace {
constexpr size_t kMaxSpecDepth = 256;
constexpr size_t kPickleBatch = 1000; // CPython's _BATCHSIZE for APPENDS / SETITEMS
} // namespace

size_t TreeSpecNode::num_leaves() const
{
    if (type == Type::leaf)
        return 1;
    size_t n = 0;
    for (const auto& c : children)
        n += c.num_leaves();
    return n;
}

size_t TreeSpecNode::num_nodes() const
{
    size_t n = 1;
    if (type != Type::leaf)
        for (const auto& c : children)
            n += c.num_nodes();
    return n;
}

TreeSpecNode spec_of(const Node& value)
{
    TreeSpecNode s;
    switch (value.kind()) {
    case Node::Kind::map:
        s.type = TreeSpecNode::Type::dict;
        s.python_type = "builtins.dict";
        for (const auto& [k, v] : value.entries()) {
            s.keys.push_back(k);
            s.children.push_back(spec_of(v));
        }
        break;
    case Node::Kind::list:
    case Node::Kind::tuple:
        s.type = value.kind() == Node::Kind::list ? TreeSpecNode::Type::list : TreeSpecNode::Type::tuple;
        s.python_type = value.kind() == Node::Kind::list ? "builtins.list" : "builtins.tuple";
        for (const auto& v : value.items())
            s.children.push_back(spec_of(v));
        break;
    default:
        break;
    }
    return s;
}

void flatten_leaves(const Node& value, std::vector<const Node*>& out)
{
    switch (value.kind()) {
    case Node::Kind::map:
        for (const auto& e : value.entries())
            flatten_leaves(e.second, out);
        break;
    case Node::Kind::list:
    case Node::Kind::tuple:
        for (const auto& v : value.items())
            flatten_leaves(v, out);
        break;
    default:
        out.push_back(&value);
    }
}

namespace {

std::string key_str(const Node& key)
{
    switch (key.kind()) {
    case Node::Kind::string:
        return key.as_string();
    case Node::Kind::integer:
        return std::to_string(key.as_int());
    case Node::Kind::boolean:
        return key.as_bool() ? "True" : "False"; // Python's str(True)
    case Node::Kind::null:
        return "None";
    case Node::Kind::floating:
        return fmt::format("{}", key.as_float());
    default:
        return Node::key_text(key);
    }
}

void collect_keys(const TreeSpecNode& s, const std::string& prefix, std::vector<std::string>& out)
{
    if (s.type == TreeSpecNode::Type::leaf) {
        out.push_back(prefix);
        return;
    }
    for (size_t i = 0; i < s.children.size(); ++i) {
        const std::string name = s.type == TreeSpecNode::Type::dict ? key_str(s.keys[i]) : std::to_string(i);
        collect_keys(s.children[i], prefix.empty() ? name : prefix + "." + name, out);
    }
}

Node unflatten_at(const TreeSpecNode& s, std::vector<Node>& leaves, size_t& pos)
{
    switch (s.type) {
    case TreeSpecNode::Type::leaf:
        if (pos >= leaves.size())
            throw_input("internal: spec has more leaves than were loaded");
        return std::move(leaves[pos++]);
    case TreeSpecNode::Type::dict: {
        Node m = Node::map();
        for (size_t i = 0; i < s.children.size(); ++i)
            m.append(s.keys[i], unflatten_at(s.children[i], leaves, pos));
        return m;
    }
    case TreeSpecNode::Type::list:
    case TreeSpecNode::Type::tuple: {
        Node l = s.type == TreeSpecNode::Type::list ? Node::list() : Node::tuple();
        for (const auto& c : s.children)
            l.push_back(unflatten_at(c, leaves, pos));
        return l;
    }
    }
    return Node();
}

} // namespace

std::vector<std::string> leaf_keys(const TreeSpecNode& spec)
{
    std::vector<std::string> out;
    collect_keys(spec, "", out);
    return out;
}

Node unflatten(const TreeSpecNode& spec, std::vector<Node>& leaves)
{
    size_t pos = 0;
    Node out = unflatten_at(spec, leaves, pos);
    if (pos != leaves.size())
        throw_input("internal: {} leaves loaded but the spec uses {}", leaves.size(), pos);
    return out;
}

// ---- pickled specs (layout 0.4) ----

namespace {

struct PickledTypeInfo {
    TreeSpecNode::Type type;
    bool keyed; // context is the list of keys
};

// Container types torch's pytree registers, by the global the pickle names.
std::optional<PickledTypeInfo> pytree_type(const std::string& name)
{
    if (name == "builtins.dict" || name == "__builtin__.dict" || name == "collections.OrderedDict")
        return PickledTypeInfo{TreeSpecNode::Type::dict, true};
    if (name == "collections.defaultdict")
        return PickledTypeInfo{TreeSpecNode::Type::dict, true};
    if (name == "builtins.list" || name == "__builtin__.list" || name == "collections.deque")
        return PickledTypeInfo{TreeSpecNode::Type::list, false};
    if (name == "builtins.tuple" || name == "__builtin__.tuple")
        return PickledTypeInfo{TreeSpecNode::Type::tuple, false};
    return std::nullopt;
}

const Node* state_field(const Node& state, std::string_view key)
{
    return state.is_map() ? state.find(key) : nullptr;
}

TreeSpecNode decode_pickled(const Node& n, const std::string& where, size_t depth)
{
    if (depth > kMaxSpecDepth)
        throw_input("{}: nests deeper than {} levels", where, kMaxSpecDepth);
    if (n.kind() != Node::Kind::opaque)
        throw_input("{}: should hold torch.utils._pytree TreeSpec objects, found a {}", where,
                    Node::kind_name(n.kind()));
    const Opaque& o = n.as_opaque();
    const bool is_leaf_class = o.type == "torch.utils._pytree.LeafSpec";
    if (!is_leaf_class && o.type != "torch.utils._pytree.TreeSpec")
        throw_input("{}: should hold torch.utils._pytree TreeSpec objects, found '{}'", where, o.type);
    if (!o.state || !o.state->is_map())
        throw_input("{}: {} object has no attribute dict", where, o.type);
    const Node& st = *o.state;
    const Node* type = state_field(st, "type");
    const Node* context = state_field(st, "context");
    const Node* children = state_field(st, "children_specs");
    TreeSpecNode s;
    if (is_leaf_class || !type || type->is_null()) {
        if (children && children->is_sequence() && !children->items().empty())
            throw_input("{}: has a LeafSpec with children", where);
        return s;
    }
    const std::string tname = pickle::global_name(*type);
    s.python_type = tname;
    if (!children || !children->is_sequence())
        throw_input("{}: TreeSpec of type '{}' has no children_specs list", where, tname);
    const auto& kids = children->items();
    std::optional<PickledTypeInfo> info = pytree_type(tname);
    if (!info) {
        // A namedtuple (or torch.return_types) is flattened like a tuple; its class is kept as
        // the python_type so the message can say what was simplified.
        if (!tname.empty() && context && !context->is_null() && pickle::is_global(*context))
            info = PickledTypeInfo{TreeSpecNode::Type::tuple, false};
        else
            throw_input("{}: uses container type '{}', which ckptconv cannot rebuild", where,
                        tname.empty() ? std::string(Node::kind_name(type->kind())) : tname);
    }
    s.type = info->type;
    if (info->keyed) {
        const Node* keys = context;
        // defaultdict's context is [default_factory, keys].
        if (tname == "collections.defaultdict" && keys && keys->is_sequence() && keys->items().size() == 2)
            keys = &keys->items()[1];
        if (!keys || !keys->is_sequence())
            throw_input("{}: dict node has no key list (context)", where);
        if (keys->items().size() != kids.size())
            throw_input("{}: dict node has {} keys but {} children", where, keys->items().size(), kids.size());
        for (const auto& k : keys->items()) {
            if (!(k.kind() == Node::Kind::string || k.kind() == Node::Kind::integer ||
                  k.kind() == Node::Kind::boolean || k.kind() == Node::Kind::floating || k.is_null()))
                throw_input("{}: dict key of kind {} is not supported", where, Node::kind_name(k.kind()));
            s.keys.push_back(k);
        }
    }
    s.children.reserve(kids.size());
    for (const auto& c : kids)
        s.children.push_back(decode_pickled(c, where, depth + 1));
    return s;
}

void batch_items(pickle::PickleWriter& w, size_t n, const std::function<void(size_t)>& item, bool dict)
{
    for (size_t start = 0; start < n; start += kPickleBatch) {
        const size_t end = std::min(n, start + kPickleBatch);
        if (end - start == 1) {
            item(start);
            dict ? w.setitem() : w.append();
            continue;
        }
        w.mark();
        for (size_t i = start; i < end; ++i)
            item(i);
        dict ? w.setitems() : w.appends();
    }
}

struct SpecPickler {
    pickle::PickleWriter w{4};
    std::map<std::string, uint32_t> type_memo;

    void key(const Node& k)
    {
        switch (k.kind()) {
        case Node::Kind::string:
            w.string_memoised(k.as_string());
            break;
        case Node::Kind::integer:
            w.integer(k.as_int());
            break;
        case Node::Kind::boolean:
            w.boolean(k.as_bool());
            break;
        case Node::Kind::floating:
            w.floating(k.as_float());
            break;
        case Node::Kind::null:
            w.none();
            break;
        default:
            throw_input("cannot write a dict key of kind {} into __spec__", Node::kind_name(k.kind()));
        }
    }

    // dill pickles builtin types as dill._dill._load_type('<name>'); the result is memoised,
    // so every later TreeSpec of the same type refers back to it.
    void dill_type(const std::string& name)
    {
        if (auto it = type_memo.find(name); it != type_memo.end()) {
            w.memo_get(it->second);
            return;
        }
        w.global("dill._dill", "_load_type");
        w.string_memoised(name);
        w.tuple_n(1);
        w.memo_put();
        w.reduce();
        type_memo.emplace(name, w.memo_put());
    }

    void spec(const TreeSpecNode& s)
    {
        const bool leaf = s.type == TreeSpecNode::Type::leaf;
        w.global("torch.utils._pytree", leaf ? "LeafSpec" : "TreeSpec");
        w.empty_tuple();
        w.newobj();
        w.memo_put();
        w.empty_dict();
        w.memo_put();
        w.mark();
        w.string_memoised("type");
        if (leaf)
            w.none();
        else
            dill_type(s.type == TreeSpecNode::Type::dict ? "dict"
                      : s.type == TreeSpecNode::Type::list ? "list"
                                                           : "tuple");
        w.string_memoised("context");
        if (s.type == TreeSpecNode::Type::dict) {
            w.empty_list();
            w.memo_put();
            batch_items(w, s.keys.size(), [&](size_t i) { key(s.keys[i]); }, false);
        } else {
            w.none();
        }
        w.string_memoised("children_specs");
        w.empty_list();
        w.memo_put();
        batch_items(w, s.children.size(), [&](size_t i) { spec(s.children[i]); }, false);
        w.string_memoised("num_nodes");
        w.integer(static_cast<int64_t>(s.num_nodes()));
        w.string_memoised("num_leaves");
        w.integer(static_cast<int64_t>(s.num_leaves()));
        w.string_memoised("num_children");
        w.integer(static_cast<int64_t>(leaf ? 0 : s.children.size()));
        w.setitems();
        w.build();
    }
};

} // namespace

TreeSpecNode spec_from_unpickled(const Node& pickled, const std::string& where)
{
    return decode_pickled(pickled, where, 0);
}

std::string spec_to_pickle(const TreeSpecNode& spec)
{
    SpecPickler p;
    p.w.proto();
    p.spec(spec);
    p.w.stop();
    return p.w.take();
}

// ---- JSON (layout of cs-2.5+) ----

namespace {

void json_string(std::string& out, std::string_view s)
{
    // Python's json.dumps with ensure_ascii=True: non-ASCII as \uXXXX (surrogate pairs above BMP).
    out.push_back('"');
    for (size_t i = 0; i < s.size();) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        uint32_t cp = c;
        size_t len = 1;
        if (c >= 0x80) {
            if ((c & 0xe0) == 0xc0 && i + 1 < s.size())
                cp = (c & 0x1fu) << 6 | (s[i + 1] & 0x3fu), len = 2;
            else if ((c & 0xf0) == 0xe0 && i + 2 < s.size())
                cp = (c & 0x0fu) << 12 | (s[i + 1] & 0x3fu) << 6 | (s[i + 2] & 0x3fu), len = 3;
            else if ((c & 0xf8) == 0xf0 && i + 3 < s.size())
                cp = (c & 0x07u) << 18 | (s[i + 1] & 0x3fu) << 12 | (s[i + 2] & 0x3fu) << 6 | (s[i + 3] & 0x3fu),
                len = 4;
            else
                cp = 0xfffd;
        }
        i += len;
        switch (cp) {
        case '"': out += "\\\""; continue;
        case '\\': out += "\\\\"; continue;
        case '\n': out += "\\n"; continue;
        case '\r': out += "\\r"; continue;
        case '\t': out += "\\t"; continue;
        case '\b': out += "\\b"; continue;
        case '\f': out += "\\f"; continue;
        default: break;
        }
        if (cp < 0x20 || cp >= 0x7f) {
            if (cp >= 0x10000) {
                const uint32_t v = cp - 0x10000;
                out += fmt::format("\\u{:04x}\\u{:04x}", 0xd800 + (v >> 10), 0xdc00 + (v & 0x3ff));
            } else {
                out += fmt::format("\\u{:04x}", cp);
            }
        } else {
            out.push_back(static_cast<char>(cp));
        }
    }
    out.push_back('"');
}

void json_value(std::string& out, const Node& v, size_t depth)
{
    if (depth > kMaxSpecDepth)
        throw_input("value nests deeper than {} levels", kMaxSpecDepth);
    switch (v.kind()) {
    case Node::Kind::null: out += "null"; break;
    case Node::Kind::boolean: out += v.as_bool() ? "true" : "false"; break;
    case Node::Kind::integer: out += std::to_string(v.as_int()); break;
    case Node::Kind::floating: {
        const double d = v.as_float();
        if (std::isnan(d))
            out += "NaN";
        else if (std::isinf(d))
            out += d > 0 ? "Infinity" : "-Infinity";
        else {
            std::string t = fmt::format("{}", d);
            if (t.find_first_of(".eE") == std::string::npos)
                t += ".0"; // Python's repr of a float always shows it is one
            out += t;
        }
        break;
    }
    case Node::Kind::string: json_string(out, v.as_string()); break;
    case Node::Kind::list:
    case Node::Kind::tuple: {
        out.push_back('[');
        bool first = true;
        for (const auto& x : v.items()) {
            if (!first)
                out += ", ";
            first = false;
            json_value(out, x, depth + 1);
        }
        out.push_back(']');
        break;
    }
    case Node::Kind::map: {
        out.push_back('{');
        bool first = true;
        for (const auto& [k, x] : v.entries()) {
            if (!first)
                out += ", ";
            first = false;
            json_string(out, key_str(k));
            out += ": ";
            json_value(out, x, depth + 1);
        }
        out.push_back('}');
        break;
    }
    default:
        throw_input("a {} cannot be written as JSON", Node::kind_name(v.kind()));
    }
}

Node from_rapidjson(const rapidjson::Value& v, const std::string& where, size_t depth)
{
    if (depth > kMaxSpecDepth)
        throw_input("{}: JSON nests deeper than {} levels", where, kMaxSpecDepth);
    if (v.IsNull())
        return Node();
    if (v.IsBool())
        return Node(v.GetBool());
    if (v.IsInt64())
        return Node(static_cast<int64_t>(v.GetInt64()));
    if (v.IsNumber())
        return Node(v.GetDouble());
    if (v.IsString())
        return Node(std::string(v.GetString(), v.GetStringLength()));
    if (v.IsArray()) {
        Node l = Node::list();
        for (const auto& x : v.GetArray())
            l.push_back(from_rapidjson(x, where, depth + 1));
        return l;
    }
    Node m = Node::map();
    for (const auto& m_ : v.GetObject())
        m.set(std::string(m_.name.GetString(), m_.name.GetStringLength()), from_rapidjson(m_.value, where, depth + 1));
    return m;
}

Node json_spec_node(const TreeSpecNode& s)
{
    Node n = Node::map();
    if (s.type == TreeSpecNode::Type::leaf) {
        n.set("type", Node());
        n.set("context", Node());
        n.set("children_spec", Node::list());
        return n;
    }
    n.set("type", s.type == TreeSpecNode::Type::dict   ? "builtins.dict"
                  : s.type == TreeSpecNode::Type::list ? "builtins.list"
                                                       : "builtins.tuple");
    std::string ctx;
    if (s.type == TreeSpecNode::Type::dict) {
        Node keys = Node::list();
        for (const auto& k : s.keys)
            keys.push_back(k);
        json_value(ctx, keys, 0);
    } else {
        ctx = "null";
    }
    n.set("context", ctx);
    Node kids = Node::list();
    for (const auto& c : s.children)
        kids.push_back(json_spec_node(c));
    n.set("children_spec", std::move(kids));
    return n;
}

TreeSpecNode decode_json_spec(const Node& n, const std::string& where, size_t depth)
{
    if (depth > kMaxSpecDepth)
        throw_input("{}: nests deeper than {} levels", where, kMaxSpecDepth);
    if (!n.is_map())
        throw_input("{}: JSON node should be an object", where);
    const Node* type = n.find("type");
    const Node* ctx = n.find("context");
    const Node* kids = n.find("children_spec");
    TreeSpecNode s;
    if (!type || type->is_null())
        return s;
    if (type->kind() != Node::Kind::string)
        throw_input("{}: JSON node type should be a string", where);
    s.python_type = type->as_string();
    auto info = pytree_type(s.python_type);
    if (!info)
        throw_input("{}: uses container type '{}', which ckptconv cannot rebuild", where, s.python_type);
    s.type = info->type;
    if (!kids || !kids->is_sequence())
        throw_input("{}: JSON node of type '{}' has no children_spec list", where, s.python_type);
    if (info->keyed) {
        if (!ctx || ctx->kind() != Node::Kind::string)
            throw_input("{}: dict node should have its keys as a JSON string context", where);
        Node keys = parse_json(ctx->as_string(), where);
        if (s.python_type == "collections.defaultdict" && keys.is_sequence() && keys.items().size() == 2)
            keys = Node(keys.items()[1]);
        if (!keys.is_sequence() || keys.items().size() != kids->items().size())
            throw_input("{}: dict node keys do not match its {} children", where, kids->items().size());
        for (const auto& k : keys.items())
            s.keys.push_back(k);
    }
    for (const auto& c : kids->items())
        s.children.push_back(decode_json_spec(c, where, depth + 1));
    return s;
}

} // namespace

Node parse_json(const std::string& text, const std::string& where)
{
    // RapidJSON parses and frees recursively: bound the nesting before handing it the text.
    size_t depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\')
                ++i;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > kMaxSpecDepth)
                throw_input("{}: JSON nests deeper than {} levels", where, kMaxSpecDepth);
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseNanAndInfFlag | rapidjson::kParseIterativeFlag>(text.c_str(), text.size());
    if (doc.HasParseError())
        throw_input("{}: invalid JSON at offset {}: {}", where, doc.GetErrorOffset(),
                    rapidjson::GetParseError_En(doc.GetParseError()));
    return from_rapidjson(doc, where, 0);
}

std::string to_json(const Node& value)
{
    std::string out;
    json_value(out, value, 0);
    return out;
}

std::string spec_to_json(const TreeSpecNode& spec)
{
    Node top = Node::list();
    top.push_back(Node(int64_t{1}));
    top.push_back(json_spec_node(spec));
    return to_json(top);
}

TreeSpecNode spec_from_json(const Node& json, const std::string& where)
{
    // treespec_dumps: [protocol, schema]
    if (!json.is_sequence() || json.items().size() != 2 || json.items()[0].kind() != Node::Kind::integer)
        throw_input("{}: should be torch's treespec_dumps JSON [protocol, spec]", where);
    if (json.items()[0].as_int() != 1)
        throw_input("{}: uses treespec protocol {}, ckptconv knows protocol 1", where,
                    json.items()[0].as_int());
    return decode_json_spec(json.items()[1], where, 0);
}

} // namespace ckpt::detail

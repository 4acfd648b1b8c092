// SPDX-License-Identifier: Apache-2.0
// Emits pickle opcodes the way CPython's pickler lays them out (memo, batching, framing).
#include "formats/torch/pickle.hpp"

#include "core/error.hpp"

#include <cstring>

namespace ckpt::pickle {

namespace {
constexpr size_t kFrameSizeTarget = 64 * 1024; // CPython _Framer._FRAME_SIZE_TARGET
constexpr size_t kFrameSizeMin = 4;            // CPython _Framer._FRAME_SIZE_MIN
constexpr size_t kBatchSize = 1000;            // CPython Pickler._BATCHSIZE

std::string le(uint64_t v, size_t n)
{
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i)
        s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
    return s;
}

// The minimal little-endian two's complement encoding, as CPython's encode_long.
std::string encode_long(int64_t x)
{
    if (x == 0)
        return {};
    std::string b = le(static_cast<uint64_t>(x), 8);
    // Drop redundant sign-extension bytes, keeping the sign bit of the last one right.
    while (b.size() > 1) {
        const auto last = static_cast<unsigned char>(b.back());
        const auto prev = static_cast<unsigned char>(b[b.size() - 2]);
        if ((last == 0x00 && !(prev & 0x80)) || (last == 0xff && (prev & 0x80)))
            b.pop_back();
        else
            break;
    }
    return b;
}
} // namespace

PickleWriter::PickleWriter(int protocol) : m_protocol(protocol)
{
    if (protocol < 2 || protocol > 5)
        throw Error(ExitCode::input, fmt::format("pickle protocol {} is not supported for writing", protocol));
}

void PickleWriter::put_bytes(const void* p, size_t n) { m_frame.append(static_cast<const char*>(p), n); }

void PickleWriter::op(uint8_t code) { m_frame.push_back(static_cast<char>(code)); }

void PickleWriter::raw(std::string_view bytes) { m_frame.append(bytes); }

void PickleWriter::commit_frame()
{
    if (m_protocol >= 4 && m_frame.size() >= kFrameSizeMin) {
        m_out.push_back(static_cast<char>(0x95));
        m_out += le(m_frame.size(), 8);
    }
    m_out += m_frame;
    m_frame.clear();
}

void PickleWriter::maybe_commit_frame()
{
    if (m_protocol >= 4 && m_framing && m_frame.size() >= kFrameSizeTarget)
        commit_frame();
}

void PickleWriter::proto()
{
    // PROTO goes before the first frame.
    m_out.push_back(static_cast<char>(0x80));
    m_out.push_back(static_cast<char>(m_protocol));
    m_framing = true;
}

void PickleWriter::stop()
{
    op('.');
    commit_frame();
    m_framing = false;
}

void PickleWriter::mark()
{
    maybe_commit_frame();
    op('(');
}
void PickleWriter::pop() { op('0'); }
void PickleWriter::none()
{
    maybe_commit_frame();
    op('N');
}
void PickleWriter::boolean(bool v)
{
    maybe_commit_frame();
    op(v ? 0x88 : 0x89);
}

void PickleWriter::integer(int64_t v)
{
    maybe_commit_frame();
    if (v >= 0 && v <= 0xff) {
        op('K');
        m_frame += le(static_cast<uint64_t>(v), 1);
    } else if (v >= 0 && v <= 0xffff) {
        op('M');
        m_frame += le(static_cast<uint64_t>(v), 2);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
        op('J');
        m_frame += le(static_cast<uint64_t>(static_cast<uint32_t>(static_cast<int32_t>(v))), 4);
    } else {
        const std::string b = encode_long(v);
        op(0x8a);
        m_frame += le(b.size(), 1);
        m_frame += b;
    }
}

void PickleWriter::long_bytes(std::string_view b)
{
    maybe_commit_frame();
    if (b.size() < 256) {
        op(0x8a);
        m_frame += le(b.size(), 1);
    } else {
        op(0x8b);
        m_frame += le(b.size(), 4);
    }
    m_frame.append(b);
}

void PickleWriter::floating(double v)
{
    maybe_commit_frame();
    uint64_t u;
    std::memcpy(&u, &v, sizeof u);
    op('G');
    for (int i = 7; i >= 0; --i)
        m_frame.push_back(static_cast<char>((u >> (8 * i)) & 0xff));
}

void PickleWriter::write_sized(uint8_t short_op, uint8_t op4, uint8_t op8, std::string_view payload)
{
    std::string header;
    const uint64_t n = payload.size();
    if (short_op && n < 256) {
        header.push_back(static_cast<char>(short_op));
        header += le(n, 1);
    } else if (n <= 0xffffffffu) {
        header.push_back(static_cast<char>(op4));
        header += le(n, 4);
    } else {
        if (!op8)
            throw Error(ExitCode::input, "a string of 4 GiB or more needs pickle protocol 4");
        header.push_back(static_cast<char>(op8));
        header += le(n, 8);
    }
    if (m_protocol >= 4 && m_framing && n >= kFrameSizeTarget) {
        // CPython writes large payloads outside frames.
        commit_frame();
        m_out += header;
        m_out.append(payload);
        return;
    }
    m_frame += header;
    m_frame.append(payload);
}

void PickleWriter::string(std::string_view text)
{
    maybe_commit_frame();
    if (m_protocol >= 4)
        write_sized(0x8c, 'X', 0x8d, text);
    else
        write_sized(0, 'X', 0, text);
}

void PickleWriter::bytes(std::string_view raw_bytes)
{
    if (m_protocol >= 3) {
        maybe_commit_frame();
        write_sized('C', 'B', m_protocol >= 4 ? 0x8e : 0, raw_bytes);
        memo_put();
        return;
    }
    // Protocol 2 has no bytes type: CPython writes _codecs.encode(latin-1 text, 'latin1'), or
    // __builtin__.bytes() for b''.
    if (raw_bytes.empty()) {
        global("__builtin__", "bytes");
        empty_tuple();
        reduce();
        memo_put();
        return;
    }
    global("_codecs", "encode");
    std::string text;
    text.reserve(raw_bytes.size());
    for (char c : raw_bytes) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x80) {
            text += c;
        } else {
            text += static_cast<char>(0xc0 | (u >> 6));
            text += static_cast<char>(0x80 | (u & 0x3f));
        }
    }
    string(text);
    memo_put();
    string_memoised("latin1");
    tuple_n(2);
    memo_put();
    reduce();
    memo_put();
}

void PickleWriter::global_unmemoised(std::string_view module, std::string_view name)
{
    maybe_commit_frame();
    if (m_protocol >= 4) {
        string_memoised(module);
        string_memoised(name);
        op(0x93);
        return;
    }
    if (module.find('\n') != std::string_view::npos || name.find('\n') != std::string_view::npos)
        throw Error(ExitCode::input, fmt::format("cannot pickle a global whose name contains a newline: {}.{}",
                                                 module, name));
    op('c');
    m_frame.append(module);
    m_frame.push_back('\n');
    m_frame.append(name);
    m_frame.push_back('\n');
}

void PickleWriter::global(std::string_view module_in, std::string_view name)
{
    // Protocol 2 spells Python 3 module names the Python 2 way, as CPython's fix_imports does.
    std::string_view module = module_in;
    if (m_protocol < 3) {
        if (module == "builtins")
            module = "__builtin__";
        else if (module == "copyreg")
            module = "copy_reg";
    }
    std::string key = std::string(module) + "\n" + std::string(name);
    if (auto it = m_global_memo.find(key); it != m_global_memo.end()) {
        memo_get(it->second);
        return;
    }
    global_unmemoised(module, name);
    m_global_memo.emplace(std::move(key), memo_put());
}

void PickleWriter::empty_tuple()
{
    maybe_commit_frame();
    op(')');
}

void PickleWriter::tuple_n(size_t n)
{
    if (n == 0)
        empty_tuple();
    else if (n <= 3)
        op(static_cast<uint8_t>(0x85 + n - 1));
    else
        throw Error(ExitCode::input, "tuple_n takes 0 to 3 items; use mark + tuple_from_mark");
}

void PickleWriter::tuple_from_mark() { op('t'); }
void PickleWriter::empty_list()
{
    maybe_commit_frame();
    op(']');
}
void PickleWriter::append() { op('a'); }
void PickleWriter::appends() { op('e'); }
void PickleWriter::empty_dict()
{
    maybe_commit_frame();
    op('}');
}
void PickleWriter::setitem() { op('s'); }
void PickleWriter::setitems() { op('u'); }
void PickleWriter::empty_set()
{
    maybe_commit_frame();
    op(0x8f);
}
void PickleWriter::additems() { op(0x90); }
void PickleWriter::reduce() { op('R'); }
void PickleWriter::newobj() { op(0x81); }
void PickleWriter::build() { op('b'); }
void PickleWriter::binpersid() { op('Q'); }

uint32_t PickleWriter::memo_put()
{
    const uint32_t idx = m_memo_count++;
    if (m_protocol >= 4) {
        op(0x94);
    } else if (idx < 256) {
        op('q');
        m_frame += le(idx, 1);
    } else {
        op('r');
        m_frame += le(idx, 4);
    }
    return idx;
}

void PickleWriter::memo_get(uint32_t index)
{
    maybe_commit_frame();
    if (index < 256) {
        op('h');
        m_frame += le(index, 1);
    } else {
        op('j');
        m_frame += le(index, 4);
    }
}

std::optional<uint32_t> PickleWriter::find_string_memo(std::string_view text) const
{
    if (auto it = m_string_memo.find(text); it != m_string_memo.end())
        return it->second;
    return std::nullopt;
}

void PickleWriter::string_memoised(std::string_view text)
{
    if (auto idx = find_string_memo(text)) {
        memo_get(*idx);
        return;
    }
    string(text);
    m_string_memo.emplace(std::string(text), memo_put());
}

std::string PickleWriter::take()
{
    commit_frame();
    std::string out = std::move(m_out);
    m_out.clear();
    return out;
}

namespace {

void split_type(const std::string& type, std::string& module, std::string& name)
{
    const size_t dot = type.rfind('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == type.size())
        throw Error(ExitCode::input, fmt::format("cannot pickle a reference to '{}': not a module.name", type));
    module = type.substr(0, dot);
    name = type.substr(dot + 1);
}

void write_items(PickleWriter& w, const std::vector<Node>& items, const ValueOptions& o, size_t depth);

void write_node(PickleWriter& w, const Node& v, const ValueOptions& o, size_t depth)
{
    if (depth > 10000)
        throw Error(ExitCode::input, "value nested too deeply to pickle");
    switch (v.kind()) {
    case Node::Kind::null: w.none(); return;
    case Node::Kind::boolean: w.boolean(v.as_bool()); return;
    case Node::Kind::integer: w.integer(v.as_int()); return;
    case Node::Kind::floating: w.floating(v.as_float()); return;
    case Node::Kind::string:
        w.string(v.as_string());
        w.memo_put();
        return;
    case Node::Kind::bytes: w.bytes(v.as_string()); return;
    case Node::Kind::list: {
        w.empty_list();
        w.memo_put();
        write_items(w, v.items(), o, depth);
        return;
    }
    case Node::Kind::tuple: {
        const auto& items = v.items();
        if (items.empty()) {
            w.empty_tuple();
            return;
        }
        if (items.size() <= 3) {
            for (const auto& it : items)
                write_node(w, it, o, depth + 1);
            w.tuple_n(items.size());
        } else {
            w.mark();
            for (const auto& it : items)
                write_node(w, it, o, depth + 1);
            w.tuple_from_mark();
        }
        w.memo_put();
        return;
    }
    case Node::Kind::map: {
        if (o.ordered_dict && o.ordered_dict(v, depth)) {
            w.global("collections", "OrderedDict");
            w.empty_tuple();
            w.reduce();
        } else {
            w.empty_dict();
        }
        w.memo_put();
        const auto& e = v.entries();
        for (size_t start = 0; start < e.size(); start += kBatchSize) {
            const size_t end = std::min(e.size(), start + kBatchSize);
            if (end - start > 1)
                w.mark();
            for (size_t i = start; i < end; ++i) {
                write_node(w, e[i].first, o, depth + 1);
                write_node(w, e[i].second, o, depth + 1);
            }
            if (end - start > 1)
                w.setitems();
            else
                w.setitem();
        }
        return;
    }
    case Node::Kind::tensor:
        if (!o.tensor)
            throw Error(ExitCode::input, "a tensor cannot be written into a plain data pickle");
        o.tensor(w, v.as_tensor());
        return;
    case Node::Kind::opaque: {
        const Opaque& op = v.as_opaque();
        if (op.type == "builtins.int" && !op.raw.empty() && !op.args) {
            w.long_bytes(op.raw);
            return;
        }
        std::string module, name;
        if ((op.type == "builtins.set" || op.type == "builtins.frozenset") && op.args &&
            op.args->is_sequence() && op.args->size() == 1 && op.args->items()[0].is_sequence() &&
            w.protocol() >= 4) {
            const auto& items = op.args->items()[0].items();
            if (op.type == "builtins.set") {
                w.empty_set();
                w.memo_put();
                for (size_t start = 0; start < items.size(); start += kBatchSize) {
                    w.mark();
                    for (size_t i = start; i < std::min(items.size(), start + kBatchSize); ++i)
                        write_node(w, items[i], o, depth + 1);
                    w.additems();
                }
            } else {
                w.mark();
                for (const auto& it : items)
                    write_node(w, it, o, depth + 1);
                w.raw(std::string(1, static_cast<char>(0x91)));
                w.memo_put();
            }
            return;
        }
        if (op.type == "<call>" && op.args && op.args->is_sequence() && op.args->size() == 2) {
            write_node(w, op.args->items()[0], o, depth + 1);
            write_node(w, op.args->items()[1], o, depth + 1);
            w.reduce();
            w.memo_put();
        } else {
            split_type(op.type, module, name);
            w.global(module, name);
            if (!op.args && !op.state)
                return; // a bare global
            if (op.args)
                write_node(w, *op.args, o, depth + 1);
            else
                w.empty_tuple();
            w.reduce();
            w.memo_put();
        }
        if (op.state) {
            write_node(w, *op.state, o, depth + 1);
            w.build();
        }
        return;
    }
    }
}

void write_items(PickleWriter& w, const std::vector<Node>& items, const ValueOptions& o, size_t depth)
{
    for (size_t start = 0; start < items.size(); start += kBatchSize) {
        const size_t end = std::min(items.size(), start + kBatchSize);
        if (end - start > 1)
            w.mark();
        for (size_t i = start; i < end; ++i)
            write_node(w, items[i], o, depth + 1);
        if (end - start > 1)
            w.appends();
        else
            w.append();
    }
}

} // namespace

void write_value(PickleWriter& w, const Node& value, const ValueOptions& options)
{
    write_node(w, value, options, 0);
}

std::string pickle_value(const Node& value, int protocol, const ValueOptions& options)
{
    PickleWriter w(protocol);
    w.proto();
    write_value(w, value, options);
    w.stop();
    return w.take();
}

} // namespace ckpt::pickle

// SPDX-License-Identifier: Apache-2.0
// The safe pickle machine: interprets pickle opcodes into Node values without importing anything.
#include "formats/torch/pickle.hpp"

#include "core/error.hpp"
#include "core/text.hpp"

#include <charconv>
#include <cstring>
#include <unordered_map>

namespace ckpt::pickle {

namespace {

// Opcodes (CPython Lib/pickle.py names).
enum Op : uint8_t {
    kMark = '(', kStop = '.', kPop = '0', kPopMark = '1', kDup = '2', kFloat = 'F', kInt = 'I',
    kBinInt = 'J', kBinInt1 = 'K', kLong = 'L', kBinInt2 = 'M', kNone = 'N', kPersId = 'P',
    kBinPersId = 'Q', kReduce = 'R', kString = 'S', kBinString = 'T', kShortBinString = 'U',
    kUnicode = 'V', kBinUnicode = 'X', kAppend = 'a', kBuild = 'b', kGlobal = 'c', kDict = 'd',
    kEmptyDict = '}', kAppends = 'e', kGet = 'g', kBinGet = 'h', kInst = 'i', kLongBinGet = 'j',
    kList = 'l', kEmptyList = ']', kObj = 'o', kPut = 'p', kBinPut = 'q', kLongBinPut = 'r',
    kSetItem = 's', kTuple = 't', kEmptyTuple = ')', kSetItems = 'u', kBinFloat = 'G',
    kProto = 0x80, kNewObj = 0x81, kExt1 = 0x82, kExt2 = 0x83, kExt4 = 0x84, kTuple1 = 0x85,
    kTuple2 = 0x86, kTuple3 = 0x87, kNewTrue = 0x88, kNewFalse = 0x89, kLong1 = 0x8a,
    kLong4 = 0x8b, kBinBytes = 'B', kShortBinBytes = 'C', kShortBinUnicode = 0x8c,
    kBinUnicode8 = 0x8d, kBinBytes8 = 0x8e, kEmptySet = 0x8f, kAddItems = 0x90,
    kFrozenSet = 0x91, kNewObjEx = 0x92, kStackGlobal = 0x93, kMemoize = 0x94, kFrame = 0x95,
    kByteArray8 = 0x96, kNextBuffer = 0x97, kReadonlyBuffer = 0x98,
};

// The machine's own mutable objects: pickles mutate containers after memoising them (EMPTY_DICT,
// BINPUT, ... SETITEMS), so values need reference semantics until the end; they are converted to
// Nodes (value semantics) only when a hook or the caller needs them.
struct Obj;
using Ref = std::shared_ptr<Obj>;
struct Obj {
    enum class K { value, list, tuple, dict, set, global, call };
    K k = K::value;
    Node value;                            // K::value
    std::vector<Ref> items;                // list, tuple, set
    std::vector<std::pair<Ref, Ref>> entries; // dict
    std::string name;                      // global, call, set ("builtins.set" / "builtins.frozenset")
    Ref args;                              // call (a tuple), may be null
    Ref state;                             // call, may be null
    // Bookkeeping of Machine::settle: levels of containers below this one (as far as seen so
    // far) and how many of `items` / `entries` it has charged and measured.
    uint32_t height = 0;
    size_t settled_items = 0;
    size_t settled_entries = 0;
};

// Appends code point `cp` as UTF-8.
void put_utf8(std::string& out, uint32_t cp)
{
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xc0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xe0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
        out += static_cast<char>(0xf0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    }
}

// What the machine's objects cost, for its memory budget: an Obj with its shared_ptr control
// block and allocator overhead; a child slot in a container (vector growth doubles it); per
// pickle byte and in all. A checkpoint's pickle (a state dict: keys and tensor rebuild calls)
// stays far inside the 64 MiB alone; a pickle of millions of one-byte objects meets the limit
// while it is still a small multiple of the pickle's size.
constexpr uint64_t kMemoryPerObject = sizeof(Obj) + 64;
constexpr uint64_t kMemoryPerChild = 32;
constexpr uint64_t kMemoryPerByte = 16;
constexpr uint64_t kMemoryBase = uint64_t{64} << 20;

class Machine {
public:
    Machine(std::string_view bytes, const std::string& source, const Hooks& hooks, const Limits& limits)
        : m_in(bytes), m_source(source), m_hooks(hooks), m_limits(limits)
    {
        m_max_bytes = limits.max_total_bytes ? limits.max_total_bytes : 4 * uint64_t{bytes.size()} + (64u << 20);
        m_max_memory = limits.max_memory ? limits.max_memory : kMemoryPerByte * uint64_t{bytes.size()} + kMemoryBase;
    }

    ~Machine()
    {
        // Break every link between containers first, so that cyclic or very deep structures are
        // neither leaked nor destroyed recursively.
        for (auto& o : m_containers) {
            o->items.clear();
            o->entries.clear();
            o->args.reset();
            o->state.reset();
        }
    }

    std::pair<Node, size_t> run();

private:
    [[noreturn]] void fail(const std::string& what) const
    {
        throw InputError(fmt::format("{}: pickle byte {}: {}", m_source, m_op_pos, what));
    }

    // --- input -----------------------------------------------------------------------------
    const char* take(uint64_t n, const char* what)
    {
        if (n > m_in.size() - m_pos)
            fail(fmt::format("truncated: {} needs {} bytes, only {} remain", what, n, m_in.size() - m_pos));
        const char* p = m_in.data() + m_pos;
        m_pos += static_cast<size_t>(n);
        return p;
    }
    uint64_t read_uint(size_t n, const char* what)
    {
        const auto* p = reinterpret_cast<const unsigned char*>(take(n, what));
        uint64_t v = 0;
        for (size_t i = 0; i < n; ++i)
            v |= static_cast<uint64_t>(p[i]) << (8 * i);
        return v;
    }
    std::string_view read_line(const char* what)
    {
        const size_t start = m_pos;
        const void* nl = std::memchr(m_in.data() + start, '\n', m_in.size() - start);
        if (!nl)
            fail(fmt::format("truncated: {} has no terminating newline", what));
        const size_t end = static_cast<size_t>(static_cast<const char*>(nl) - m_in.data());
        m_pos = end + 1;
        return m_in.substr(start, end - start);
    }
    std::string_view read_sized(uint64_t n, const char* what)
    {
        if (n > m_limits.max_string)
            fail(fmt::format("{} of {} bytes exceeds the limit of {} bytes", what, n, m_limits.max_string));
        return std::string_view(take(n, what), static_cast<size_t>(n));
    }

    // --- stack -----------------------------------------------------------------------------
    // Memory the machine holds, charged as it grows (an upper bound: nothing is refunded), so
    // a pickle that would build more objects than its size justifies is refused while small.
    void charge_memory(uint64_t n)
    {
        m_memory += n;
        if (m_memory > m_max_memory)
            fail(fmt::format("reading it needs more than {} MiB, the limit for a pickle of {} bytes ({} MiB + {} bytes "
                             "per pickle byte); a pickle that builds this many objects is refused as a memory bomb",
                             m_max_memory >> 20, m_in.size(), kMemoryBase >> 20, kMemoryPerByte));
    }

    // Charges the children `o` gained since it was last settled and checks its nesting as it is
    // built: a list nested a million levels deep is refused at level max_depth, not after being
    // built. Containers change after they were nested (a memoised list appended to later), so
    // this can only underestimate heights; measure() checks the final depth exactly.
    void settle(Obj& o)
    {
        if (o.k == Obj::K::value || o.k == Obj::K::global)
            return;
        uint32_t h = o.height;
        auto see = [&](const Ref& c) {
            if (c && c->height + 1 > h)
                h = c->height + 1;
        };
        if (o.items.size() > o.settled_items) {
            charge_memory(kMemoryPerChild * (o.items.size() - o.settled_items));
            for (size_t i = o.settled_items; i < o.items.size(); ++i)
                see(o.items[i]);
            o.settled_items = o.items.size();
        }
        if (o.entries.size() > o.settled_entries) {
            charge_memory(2 * kMemoryPerChild * (o.entries.size() - o.settled_entries));
            for (size_t i = o.settled_entries; i < o.entries.size(); ++i) {
                see(o.entries[i].first);
                see(o.entries[i].second);
            }
            o.settled_entries = o.entries.size();
        }
        see(o.args);
        see(o.state);
        o.height = h;
        if (h > m_limits.max_depth)
            fail(fmt::format("objects nested deeper than {} levels", m_limits.max_depth));
    }

    Ref make(Obj::K k)
    {
        charge_memory(kMemoryPerObject);
        auto o = std::make_shared<Obj>();
        o->k = k;
        if (k != Obj::K::value)
            m_containers.push_back(o);
        return o;
    }
    Ref make_value(Node v)
    {
        if (v.kind() == Node::Kind::string || v.kind() == Node::Kind::bytes)
            charge_memory(v.as_string().size());
        auto o = make(Obj::K::value);
        o->value = std::move(v);
        return o;
    }
    void push(Ref r) { m_stack.push_back(std::move(r)); }
    void push_value(Node v) { push(make_value(std::move(v))); }
    size_t floor() const { return m_marks.empty() ? 0 : m_marks.back(); }
    Ref pop()
    {
        if (m_stack.size() <= floor())
            fail("stack underflow");
        Ref r = std::move(m_stack.back());
        m_stack.pop_back();
        return r;
    }
    Ref& top()
    {
        if (m_stack.size() <= floor())
            fail("stack underflow");
        return m_stack.back();
    }
    // Items above the topmost mark, which is removed.
    std::vector<Ref> pop_mark()
    {
        if (m_marks.empty())
            fail("no MARK on the stack");
        const size_t m = m_marks.back();
        m_marks.pop_back();
        std::vector<Ref> items(std::make_move_iterator(m_stack.begin() + static_cast<std::ptrdiff_t>(m)),
                               std::make_move_iterator(m_stack.end()));
        m_stack.resize(m);
        return items;
    }

    // --- memo ------------------------------------------------------------------------------
    void memo_put(uint64_t index)
    {
        if (index >= m_limits.max_memo)
            fail(fmt::format("memo index {} exceeds the limit of {}", index, m_limits.max_memo));
        if (m_memo.size() >= m_limits.max_memo && !m_memo.count(index))
            fail(fmt::format("more than {} memo entries", m_limits.max_memo));
        charge_memory(kMemoryPerChild * 2);
        m_memo[index] = top();
    }
    void memo_get(uint64_t index)
    {
        auto it = m_memo.find(index);
        if (it == m_memo.end())
            fail(fmt::format("memo index {} was never stored", index));
        push(it->second);
    }

    // --- conversion to Node ----------------------------------------------------------------
    // Every value produced or copied is charged, so memo sharing cannot multiply work or memory.
    void charge(uint64_t items)
    {
        m_converted += items;
        if (m_converted > m_limits.max_items)
            fail(fmt::format("more than {} values (a pickle that references shared objects too often?)",
                             m_limits.max_items));
    }

    // What converting `r` would produce, measured on the shared object graph before anything is
    // built: linear in the distinct objects, so a "billion laughs" pickle (each list holding the
    // previous one twice) is rejected without expanding it. Also finds cycles and deep nesting.
    struct Size {
        uint64_t items = 0;
        uint64_t bytes = 0;
    };
    Size measure(const Ref& r, std::unordered_map<const Obj*, Size>& known, std::vector<const Obj*>& path,
                 uint64_t budget_items, uint64_t budget_bytes)
    {
        if (auto it = known.find(r.get()); it != known.end())
            return it->second;
        if (path.size() > m_limits.max_depth)
            fail(fmt::format("objects nested deeper than {} levels", m_limits.max_depth));
        for (const Obj* p : path)
            if (p == r.get())
                fail("a container holds itself (a cyclic object cannot become a value tree)");
        Size s{1, 0};
        auto add = [&](const Ref& c) {
            if (!c)
                return;
            const Size cs = measure(c, known, path, budget_items, budget_bytes);
            s.items += cs.items;
            s.bytes += cs.bytes;
            if (s.items > budget_items)
                fail(fmt::format("more than {} values after expanding shared references", m_limits.max_items));
            if (s.bytes > budget_bytes)
                fail(fmt::format("more than {} bytes of strings after expanding shared references", m_max_bytes));
        };
        path.push_back(r.get());
        switch (r->k) {
        case Obj::K::value:
            if (r->value.kind() == Node::Kind::string || r->value.kind() == Node::Kind::bytes)
                s.bytes = r->value.as_string().size();
            break;
        case Obj::K::dict:
            for (const auto& [k, v] : r->entries) {
                add(k);
                add(v);
            }
            break;
        case Obj::K::call:
            add(r->args);
            add(r->state);
            break;
        default:
            for (const auto& c : r->items)
                add(c);
        }
        path.pop_back();
        known.emplace(r.get(), s);
        return s;
    }

    Node to_node(const Ref& r)
    {
        if (m_converted > m_limits.max_items || m_copied_bytes > m_max_bytes)
            fail("value budget exhausted");
        std::unordered_map<const Obj*, Size> known;
        std::vector<const Obj*> path;
        const Size s = measure(r, known, path, m_limits.max_items - m_converted, m_max_bytes - m_copied_bytes);
        m_converted += s.items;
        m_copied_bytes += s.bytes;
        return build_node(r);
    }

    // Builds the Node tree; `to_node` has checked depth, cycles and size first.
    Node build_node(const Ref& r)
    {
        switch (r->k) {
        case Obj::K::value: return r->value;
        case Obj::K::list:
        case Obj::K::tuple: {
            Node n = r->k == Obj::K::list ? Node::list() : Node::tuple();
            auto& items = n.items();
            items.reserve(r->items.size());
            for (const auto& it : r->items)
                items.push_back(build_node(it));
            return n;
        }
        case Obj::K::dict: {
            Node n = Node::map();
            auto& entries = n.entries();
            entries.reserve(r->entries.size());
            for (const auto& [k, v] : r->entries)
                entries.emplace_back(build_node(k), build_node(v));
            return n;
        }
        case Obj::K::set: {
            Node l = Node::list();
            for (const auto& it : r->items)
                l.push_back(build_node(it));
            Opaque o;
            o.type = r->name;
            o.args = std::make_shared<Node>(Node::tuple());
            o.args->push_back(std::move(l));
            return Node(std::move(o));
        }
        case Obj::K::global: {
            Opaque o;
            o.type = r->name;
            return Node(std::move(o));
        }
        case Obj::K::call: {
            Opaque o;
            o.type = r->name;
            if (r->args)
                o.args = std::make_shared<Node>(build_node(r->args));
            if (r->state)
                o.state = std::make_shared<Node>(build_node(r->state));
            return Node(std::move(o));
        }
        }
        fail("internal: unknown object kind");
    }

    // --- globals and calls -----------------------------------------------------------------
    void push_global(std::string_view module, std::string_view name)
    {
        if (auto why = refused_global(module, name))
            fail(*why);
        auto g = make(Obj::K::global);
        g->name = std::string(module) + "." + std::string(name);
        push(std::move(g));
    }

    static bool is_dict_type(const std::string& n)
    {
        return n == "collections.OrderedDict" || n == "builtins.dict" || n == "__builtin__.dict";
    }

    // Fills `d` from the argument of dict(...) / OrderedDict(...): a dict or pairs.
    void fill_dict(const Ref& d, const Ref& src, const std::string& callable)
    {
        if (src->k == Obj::K::dict) {
            charge(src->entries.size());
            d->entries = src->entries;
            return;
        }
        charge(src->items.size());
        if (src->k != Obj::K::list && src->k != Obj::K::tuple)
            fail(fmt::format("{} expects a mapping or a sequence of pairs", callable));
        for (const auto& p : src->items) {
            if ((p->k != Obj::K::tuple && p->k != Obj::K::list) || p->items.size() != 2)
                fail(fmt::format("{} expects pairs, found an item that is not a pair", callable));
            d->entries.emplace_back(p->items[0], p->items[1]);
        }
    }

    // Latin-1 text (as UTF-8) back to its bytes, as `_codecs.encode(s, 'latin1')` does.
    std::string latin1_bytes(const std::string& utf8)
    {
        std::string out;
        out.reserve(utf8.size());
        for (size_t i = 0; i < utf8.size(); ++i) {
            const auto c = static_cast<unsigned char>(utf8[i]);
            if (c < 0x80) {
                out += static_cast<char>(c);
            } else if ((c & 0xe0) == 0xc0 && i + 1 < utf8.size() && c <= 0xc3) {
                out += static_cast<char>(((c & 0x1f) << 6) | (static_cast<unsigned char>(utf8[i + 1]) & 0x3f));
                ++i;
            } else {
                fail("_codecs.encode: text is not latin-1");
            }
        }
        return out;
    }

    // REDUCE / NEWOBJ / INST / OBJ: built-in constructs first, then the hook, then an opaque call.
    Ref call(const Ref& callable, Ref args)
    {
        if (args->k != Obj::K::tuple)
            fail("call arguments are not a tuple");
        if (callable->k != Obj::K::global) {
            // Calling something that is not a plain global (e.g. a bound method): kept as data.
            auto c = make(Obj::K::call);
            c->name = "<call>";
            auto t = make(Obj::K::tuple);
            t->items = {callable, args};
            c->args = std::move(t);
            return c;
        }
        const std::string& name = callable->name;
        const auto& a = args->items;
        if (is_dict_type(name)) {
            auto d = make(Obj::K::dict);
            if (a.size() == 1)
                fill_dict(d, a[0], name);
            else if (!a.empty())
                fail(fmt::format("{} called with {} arguments", name, a.size()));
            return d;
        }
        if (name == "dill._dill._load_type" && a.size() == 1 && a[0]->k == Obj::K::value &&
            a[0]->value.kind() == Node::Kind::string) {
            const std::string& t = a[0]->value.as_string();
            if (auto why = refused_global("builtins", t))
                fail(*why);
            auto g = make(Obj::K::global);
            g->name = "builtins." + t;
            return g;
        }
        if (name == "_codecs.encode" && !a.empty() && a.size() <= 2 && a[0]->k == Obj::K::value &&
            a[0]->value.kind() == Node::Kind::string)
            return make_value(Node::bytes(latin1_bytes(a[0]->value.as_string())));
        if ((name == "builtins.set" || name == "builtins.frozenset" || name == "__builtin__.set") &&
            a.size() <= 1) {
            auto s = make(Obj::K::set);
            s->name = name == "builtins.frozenset" ? "builtins.frozenset" : "builtins.set";
            if (a.size() == 1) {
                if (a[0]->k != Obj::K::list && a[0]->k != Obj::K::tuple && a[0]->k != Obj::K::set)
                    fail(fmt::format("{} expects a sequence", name));
                charge(a[0]->items.size());
                s->items = a[0]->items;
            }
            return s;
        }
        if (m_hooks.reduce) {
            if (auto v = m_hooks.reduce(name, to_node(args)))
                return make_value(std::move(*v));
        }
        auto c = make(Obj::K::call);
        c->name = name;
        c->args = std::move(args);
        return c;
    }

    void build()
    {
        Ref state = pop();
        Ref& obj = top();
        if (m_hooks.build) {
            if (auto v = m_hooks.build(to_node(obj), to_node(state))) {
                obj = make_value(std::move(*v));
                return;
            }
        }
        switch (obj->k) {
        case Obj::K::call:
            obj->state = std::move(state); // mutated in place: memo references see the state too
            return;
        case Obj::K::global: {
            // BUILD on a class object: keep it as a call without arguments carrying the state.
            auto c = make(Obj::K::call);
            c->name = obj->name;
            c->state = std::move(state);
            obj = std::move(c);
            return;
        }
        default:
            // Attributes of dicts (an OrderedDict's `_metadata`) and of interpreted values (a
            // tensor rebuilt by a hook) have no place in a Node; they are dropped.
            return;
        }
    }

    Node persistent(Node pid)
    {
        if (!m_hooks.persistent_load)
            fail("persistent id found, but this file kind does not use persistent storage");
        return m_hooks.persistent_load(pid);
    }

    // --- text opcodes (protocol 0/1) -------------------------------------------------------
    int64_t parse_int(std::string_view s, const char* what)
    {
        while (!s.empty() && (s.back() == ' ' || s.back() == '\r'))
            s.remove_suffix(1);
        if (!s.empty() && s.front() == '+')
            s.remove_prefix(1);
        int64_t v = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc() || p != s.data() + s.size() || s.empty())
            fail(fmt::format("{}: '{}' is not an integer that fits 64 bits", what, s));
        return v;
    }

    std::string decode_string_literal(std::string_view s)
    {
        while (!s.empty() && (s.back() == '\r' || s.back() == ' '))
            s.remove_suffix(1);
        if (s.size() < 2 || (s.front() != '\'' && s.front() != '"') || s.back() != s.front())
            fail("STRING argument is not a quoted string");
        s = s.substr(1, s.size() - 2);
        std::string out;
        for (size_t i = 0; i < s.size(); ++i) {
            if (s[i] != '\\') {
                out += s[i];
                continue;
            }
            if (++i >= s.size())
                fail("STRING ends inside an escape");
            const char c = s[i];
            switch (c) {
            case 'n': out += '\n'; break;
            case 't': out += '\t'; break;
            case 'r': out += '\r'; break;
            case 'a': out += '\a'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'v': out += '\v'; break;
            case '\n': break;
            case 'x': {
                const int h = i + 1 < s.size() ? hex_digit(s[i + 1]) : -1;
                const int l = i + 2 < s.size() ? hex_digit(s[i + 2]) : -1;
                if (h < 0 || l < 0)
                    fail("STRING has a bad \\x escape");
                out += static_cast<char>(h * 16 + l);
                i += 2;
                break;
            }
            default:
                if (c >= '0' && c <= '7') {
                    int v = 0, n = 0;
                    while (n < 3 && i < s.size() && s[i] >= '0' && s[i] <= '7') {
                        v = v * 8 + (s[i] - '0');
                        ++i;
                        ++n;
                    }
                    --i;
                    out += static_cast<char>(v & 0xff);
                } else {
                    out += '\\';
                    out += c;
                }
            }
        }
        return out;
    }

    // raw-unicode-escape: \uXXXX and \UXXXXXXXX escapes, every other byte a latin-1 code point.
    std::string decode_raw_unicode_escape(std::string_view s)
    {
        std::string out;
        for (size_t i = 0; i < s.size(); ++i) {
            if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == 'u' || s[i + 1] == 'U')) {
                const size_t n = s[i + 1] == 'u' ? 4 : 8;
                if (i + 2 + n > s.size())
                    fail("UNICODE has a truncated escape");
                uint32_t cp = 0;
                for (size_t j = 0; j < n; ++j) {
                    const int h = hex_digit(s[i + 2 + j]);
                    if (h < 0)
                        fail("UNICODE has a bad escape");
                    cp = cp * 16 + static_cast<uint32_t>(h);
                }
                if (cp > 0x10ffff)
                    fail("UNICODE escape is not a code point");
                put_utf8(out, cp);
                i += 1 + n;
            } else {
                put_utf8(out, static_cast<unsigned char>(s[i]));
            }
        }
        return out;
    }

    // LONG1 / LONG4 payload: little-endian two's complement.
    Node long_value(std::string_view b)
    {
        if (b.empty())
            return Node(int64_t{0});
        if (b.size() <= 8) {
            uint64_t u = 0;
            for (size_t i = 0; i < b.size(); ++i)
                u |= static_cast<uint64_t>(static_cast<unsigned char>(b[i])) << (8 * i);
            if (b.size() < 8 && (static_cast<unsigned char>(b.back()) & 0x80))
                u |= ~uint64_t{0} << (8 * b.size()); // sign-extend
            return Node(static_cast<int64_t>(u));
        }
        // Wider: fits int64 only when the extra bytes are pure sign extension.
        const bool neg = static_cast<unsigned char>(b.back()) & 0x80;
        bool fits = true;
        for (size_t i = 8; i < b.size(); ++i)
            if (static_cast<unsigned char>(b[i]) != (neg ? 0xff : 0x00))
                fits = false;
        if (fits && ((static_cast<unsigned char>(b[7]) & 0x80) != 0) == neg)
            return long_value(b.substr(0, 8));
        Opaque o;
        o.type = "builtins.int";
        o.raw = std::string(b);
        return Node(std::move(o));
    }

    void check_depth()
    {
        if (m_marks.size() > m_limits.max_depth)
            fail(fmt::format("MARKs nested deeper than {} levels", m_limits.max_depth));
    }

    std::string_view m_in;
    const std::string& m_source;
    const Hooks& m_hooks;
    const Limits& m_limits;
    size_t m_pos = 0;
    size_t m_op_pos = 0;
    std::vector<Ref> m_stack;
    std::vector<size_t> m_marks;
    std::unordered_map<uint64_t, Ref> m_memo;
    std::vector<Ref> m_containers;
    uint64_t m_memory = 0;
    uint64_t m_max_memory = 0;
    uint64_t m_converted = 0;
    uint64_t m_copied_bytes = 0;
    uint64_t m_max_bytes = 0;
};

std::pair<Node, size_t> Machine::run()
{
    for (;;) {
        m_op_pos = m_pos;
        if (m_pos >= m_in.size())
            fail("truncated: the pickle ends before STOP");
        const auto code = static_cast<uint8_t>(m_in[m_pos++]);
        switch (code) {
        case kProto: {
            const uint64_t v = read_uint(1, "PROTO");
            if (v > 5)
                fail(fmt::format("unsupported pickle protocol {}", v));
            break;
        }
        case kFrame: {
            const uint64_t n = read_uint(8, "FRAME");
            if (n > m_in.size() - m_pos)
                fail(fmt::format("truncated: FRAME of {} bytes, only {} remain", n, m_in.size() - m_pos));
            break;
        }
        case kStop: {
            Ref r = pop(); // leftovers below are ignored, as CPython does
            Node result = to_node(r);
            return {std::move(result), m_pos};
        }
        case kMark:
            m_marks.push_back(m_stack.size());
            check_depth();
            break;
        case kPop:
            if (m_stack.size() > floor())
                m_stack.pop_back();
            else if (!m_marks.empty())
                pop_mark(); // CPython: POP of an empty mark frame pops the mark
            else
                fail("stack underflow");
            break;
        case kPopMark: pop_mark(); break;
        case kDup: push(top()); break;
        case kNone: push_value(Node()); break;
        case kNewTrue: push_value(Node(true)); break;
        case kNewFalse: push_value(Node(false)); break;
        case kInt: {
            std::string_view s = read_line("INT");
            if (s == "01")
                push_value(Node(true));
            else if (s == "00")
                push_value(Node(false));
            else
                push_value(Node(parse_int(s, "INT")));
            break;
        }
        case kLong: {
            std::string_view s = read_line("LONG");
            if (!s.empty() && s.back() == 'L')
                s.remove_suffix(1);
            push_value(Node(parse_int(s, "LONG")));
            break;
        }
        case kBinInt: push_value(Node(static_cast<int64_t>(static_cast<int32_t>(read_uint(4, "BININT"))))); break;
        case kBinInt1: push_value(Node(static_cast<int64_t>(read_uint(1, "BININT1")))); break;
        case kBinInt2: push_value(Node(static_cast<int64_t>(read_uint(2, "BININT2")))); break;
        case kLong1: {
            const uint64_t n = read_uint(1, "LONG1");
            push_value(long_value(read_sized(n, "LONG1")));
            break;
        }
        case kLong4: {
            const auto n = static_cast<int32_t>(read_uint(4, "LONG4"));
            if (n < 0)
                fail("LONG4 with a negative length");
            push_value(long_value(read_sized(static_cast<uint64_t>(n), "LONG4")));
            break;
        }
        case kFloat: {
            std::string_view s = read_line("FLOAT");
            double v = 0;
            auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
            if (ec != std::errc() || p != s.data() + s.size())
                fail(fmt::format("FLOAT: '{}' is not a number", s));
            push_value(Node(v));
            break;
        }
        case kBinFloat: {
            const auto* p = reinterpret_cast<const unsigned char*>(take(8, "BINFLOAT"));
            uint64_t u = 0;
            for (int i = 0; i < 8; ++i)
                u = (u << 8) | p[i]; // big-endian
            double v;
            std::memcpy(&v, &u, sizeof v);
            push_value(Node(v));
            break;
        }
        case kString: push_value(Node(decode_string_literal(read_line("STRING")))); break;
        case kBinString: {
            const auto n = static_cast<int32_t>(read_uint(4, "BINSTRING"));
            if (n < 0)
                fail("BINSTRING with a negative length");
            push_value(Node(std::string(read_sized(static_cast<uint64_t>(n), "BINSTRING"))));
            break;
        }
        case kShortBinString:
            push_value(Node(std::string(read_sized(read_uint(1, "SHORT_BINSTRING"), "SHORT_BINSTRING"))));
            break;
        case kUnicode: push_value(Node(decode_raw_unicode_escape(read_line("UNICODE")))); break;
        case kShortBinUnicode:
            push_value(Node(std::string(read_sized(read_uint(1, "SHORT_BINUNICODE"), "SHORT_BINUNICODE"))));
            break;
        case kBinUnicode:
            push_value(Node(std::string(read_sized(read_uint(4, "BINUNICODE"), "BINUNICODE"))));
            break;
        case kBinUnicode8:
            push_value(Node(std::string(read_sized(read_uint(8, "BINUNICODE8"), "BINUNICODE8"))));
            break;
        case kShortBinBytes:
            push_value(Node::bytes(std::string(read_sized(read_uint(1, "SHORT_BINBYTES"), "SHORT_BINBYTES"))));
            break;
        case kBinBytes:
            push_value(Node::bytes(std::string(read_sized(read_uint(4, "BINBYTES"), "BINBYTES"))));
            break;
        case kBinBytes8:
            push_value(Node::bytes(std::string(read_sized(read_uint(8, "BINBYTES8"), "BINBYTES8"))));
            break;
        case kByteArray8:
            push_value(Node::bytes(std::string(read_sized(read_uint(8, "BYTEARRAY8"), "BYTEARRAY8"))));
            break;
        case kNextBuffer: fail("out-of-band buffers (NEXT_BUFFER) are not supported");
        case kReadonlyBuffer: top(); break;
        case kEmptyTuple: push(make(Obj::K::tuple)); break;
        case kTuple1:
        case kTuple2:
        case kTuple3: {
            const size_t n = code - kTuple1 + 1u;
            if (m_stack.size() < floor() + n)
                fail("stack underflow");
            auto t = make(Obj::K::tuple);
            t->items.assign(m_stack.end() - static_cast<std::ptrdiff_t>(n), m_stack.end());
            m_stack.resize(m_stack.size() - n);
            push(std::move(t));
            break;
        }
        case kTuple: {
            auto t = make(Obj::K::tuple);
            t->items = pop_mark();
            push(std::move(t));
            break;
        }
        case kEmptyList: push(make(Obj::K::list)); break;
        case kList: {
            auto l = make(Obj::K::list);
            l->items = pop_mark();
            push(std::move(l));
            break;
        }
        case kAppend: {
            Ref v = pop();
            Ref& l = top();
            if (l->k != Obj::K::list)
                fail("APPEND to something that is not a list");
            l->items.push_back(std::move(v));
            break;
        }
        case kAppends: {
            auto items = pop_mark();
            Ref& l = top();
            if (l->k != Obj::K::list)
                fail("APPENDS to something that is not a list");
            for (auto& v : items)
                l->items.push_back(std::move(v));
            break;
        }
        case kEmptyDict: push(make(Obj::K::dict)); break;
        case kDict: {
            auto items = pop_mark();
            if (items.size() % 2)
                fail("DICT with an odd number of items");
            auto d = make(Obj::K::dict);
            for (size_t i = 0; i < items.size(); i += 2)
                d->entries.emplace_back(std::move(items[i]), std::move(items[i + 1]));
            push(std::move(d));
            break;
        }
        case kSetItem: {
            Ref v = pop();
            Ref k = pop();
            Ref& d = top();
            if (d->k != Obj::K::dict)
                fail("SETITEM on something that is not a dict");
            d->entries.emplace_back(std::move(k), std::move(v));
            break;
        }
        case kSetItems: {
            auto items = pop_mark();
            if (items.size() % 2)
                fail("SETITEMS with an odd number of items");
            Ref& d = top();
            if (d->k != Obj::K::dict)
                fail("SETITEMS on something that is not a dict");
            for (size_t i = 0; i < items.size(); i += 2)
                d->entries.emplace_back(std::move(items[i]), std::move(items[i + 1]));
            break;
        }
        case kEmptySet: {
            auto s = make(Obj::K::set);
            s->name = "builtins.set";
            push(std::move(s));
            break;
        }
        case kAddItems: {
            auto items = pop_mark();
            Ref& s = top();
            if (s->k != Obj::K::set)
                fail("ADDITEMS on something that is not a set");
            for (auto& v : items)
                s->items.push_back(std::move(v));
            break;
        }
        case kFrozenSet: {
            auto s = make(Obj::K::set);
            s->name = "builtins.frozenset";
            s->items = pop_mark();
            push(std::move(s));
            break;
        }
        case kGlobal: {
            const std::string module(read_line("GLOBAL module"));
            const std::string name(read_line("GLOBAL name"));
            push_global(module, name);
            break;
        }
        case kStackGlobal: {
            Ref name = pop();
            Ref module = pop();
            if (module->k != Obj::K::value || module->value.kind() != Node::Kind::string ||
                name->k != Obj::K::value || name->value.kind() != Node::Kind::string)
                fail("STACK_GLOBAL needs two strings");
            push_global(module->value.as_string(), name->value.as_string());
            break;
        }
        case kExt1:
        case kExt2:
        case kExt4: fail("extension registry codes (EXT1/EXT2/EXT4) are not supported");
        case kReduce: {
            Ref args = pop();
            Ref callable = pop();
            push(call(callable, std::move(args)));
            break;
        }
        case kNewObj: {
            Ref args = pop();
            Ref cls = pop();
            push(call(cls, std::move(args)));
            break;
        }
        case kNewObjEx: {
            Ref kwargs = pop();
            Ref args = pop();
            Ref cls = pop();
            if (kwargs->k == Obj::K::dict && !kwargs->entries.empty()) {
                auto t = make(Obj::K::tuple);
                t->items = {std::move(args), std::move(kwargs)};
                args = std::move(t);
            }
            push(call(cls, std::move(args)));
            break;
        }
        case kInst: {
            const std::string module(read_line("INST module"));
            const std::string name(read_line("INST name"));
            auto args = make(Obj::K::tuple);
            args->items = pop_mark();
            if (auto why = refused_global(module, name))
                fail(*why);
            auto g = make(Obj::K::global);
            g->name = module + "." + name;
            push(call(g, std::move(args)));
            break;
        }
        case kObj: {
            auto items = pop_mark();
            if (items.empty())
                fail("OBJ without a class");
            auto args = make(Obj::K::tuple);
            args->items.assign(items.begin() + 1, items.end());
            push(call(items[0], std::move(args)));
            break;
        }
        case kBuild: build(); break;
        case kPersId: push_value(persistent(Node(std::string(read_line("PERSID"))))); break;
        case kBinPersId: {
            Ref pid = pop();
            push_value(persistent(to_node(pid)));
            break;
        }
        case kPut: {
            const int64_t i = parse_int(read_line("PUT"), "PUT");
            if (i < 0)
                fail("PUT with a negative index");
            memo_put(static_cast<uint64_t>(i));
            break;
        }
        case kBinPut: memo_put(read_uint(1, "BINPUT")); break;
        case kLongBinPut: memo_put(read_uint(4, "LONG_BINPUT")); break;
        case kMemoize: memo_put(m_memo.size()); break;
        case kGet: {
            const int64_t i = parse_int(read_line("GET"), "GET");
            if (i < 0)
                fail("GET with a negative index");
            memo_get(static_cast<uint64_t>(i));
            break;
        }
        case kBinGet: memo_get(read_uint(1, "BINGET")); break;
        case kLongBinGet: memo_get(read_uint(4, "LONG_BINGET")); break;
        default: fail(fmt::format("unknown or unsupported opcode 0x{:02x}", code));
        }
        // Every opcode that builds or fills a container leaves it on top of the stack.
        if (!m_stack.empty())
            settle(*m_stack.back());
    }
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

} // namespace

std::optional<std::string> refused_global(std::string_view module, std::string_view name)
{
    // Modules whose only purpose in a pickle is to run code, read or write files, or reach the
    // network or the interpreter itself.
    static constexpr std::string_view kModules[] = {
        "os", "posix", "nt", "subprocess", "sys", "shutil", "socket", "importlib", "pickle",
        "_pickle", "runpy", "pty", "commands", "webbrowser", "code", "codeop", "ctypes",
        "multiprocessing", "signal", "_posixsubprocess", "marshal", "types", "tempfile",
        "asyncio", "threading", "_thread", "platform", "inspect", "pdb", "bdb", "timeit",
        "profile", "cProfile", "trace", "urllib", "http", "ftplib", "smtplib", "telnetlib",
        "xmlrpc", "imp", "pkgutil", "zipimport", "sysconfig", "distutils", "setuptools", "pip",
        "gc", "io", "_io", "operator",
    };
    const std::string full = std::string(module) + "." + std::string(name);
    auto refuse = [&](std::string_view why) {
        return fmt::format("refusing to load: the pickle references {}{} — this file can run code "
                           "when loaded by Python; it is not a plain checkpoint",
                           full, why);
    };
    if (module == "types" && name == "SimpleNamespace")
        return std::nullopt;
    for (std::string_view m : kModules) {
        if (module == m || (starts_with(module, m) && module.size() > m.size() && module[m.size()] == '.'))
            return refuse("");
    }
    if (module == "builtins" || module == "__builtin__" || module == "__builtins__") {
        // Only types that build plain data are allowed from builtins.
        static constexpr std::string_view kSafe[] = {
            "dict", "list", "tuple", "set", "frozenset", "bytearray", "bytes", "str", "int",
            "float", "complex", "bool", "slice", "range", "object", "type", "NoneType",
            "unicode", "long",
        };
        for (std::string_view s : kSafe)
            if (name == s)
                return std::nullopt;
        return refuse("");
    }
    if (module == "dill._dill" || module == "dill") {
        // dill spells builtin types and a few helpers; anything that rebuilds code is refused.
        static constexpr std::string_view kSafe[] = {"_load_type", "_create_namedtuple",
                                                     "_get_attr_noop"};
        for (std::string_view s : kSafe)
            if (name == s)
                return std::nullopt;
        return refuse("");
    }
    if (module == "torch.storage" && name == "_load_from_bytes")
        return refuse(" (a storage pickled with plain pickle: it runs torch.load on embedded bytes)");
    if (module == "numpy.testing" || starts_with(module, "numpy.distutils") ||
        (starts_with(module, "numpy") && (name == "load" || name == "loads" || name == "fromfile")))
        return refuse("");
    return std::nullopt;
}

std::pair<Node, size_t> unpickle_prefix(std::string_view bytes, const std::string& source_name,
                                        const Hooks& hooks, const Limits& limits)
{
    Machine m(bytes, source_name, hooks, limits);
    return m.run();
}

Node unpickle(std::string_view bytes, const std::string& source_name, const Hooks& hooks,
              const Limits& limits)
{
    return unpickle_prefix(bytes, source_name, hooks, limits).first;
}

bool is_global(const Node& n)
{
    if (n.kind() != Node::Kind::opaque)
        return false;
    const Opaque& o = n.as_opaque();
    return !o.args && !o.state && o.raw.empty() && !o.type.empty();
}

std::string global_name(const Node& n)
{
    if (n.kind() != Node::Kind::opaque)
        return {};
    return n.as_opaque().type;
}

} // namespace ckpt::pickle

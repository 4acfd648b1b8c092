// SPDX-License-Identifier: Apache-2.0
// The pickle machine and writer against CPython's own bytes, hostile pickles and limits.
#include "core/error.hpp"
#include "formats/torch/pickle.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace ckpt {
namespace {

// A string literal with embedded NULs, without its terminator.
template <size_t N>
std::string lit(const char (&s)[N])
{
    return std::string(s, N - 1);
}

std::string unhex(std::string_view h)
{
    std::string out;
    for (size_t i = 0; i + 1 < h.size(); i += 2)
        out.push_back(static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
    return out;
}

// CPython 3.11 `pickle.dumps(obj, protocol=2/4)` of
// {"a": 1, "b": [1, 2.5, None, True, False, "x"], "c": (1, 2), "d": (1, 2, 3, 4),
//  "e": b"\x00\xffab", "f": -70000, "g": 2**40, "h": -2**63, "i": {}, "j": [], "k": "é", "l": 300,
//  5: "int key"}
constexpr std::string_view kProto2 =
    "80027d71002858010000006171014b0158010000006271025d7103284b014740040000000000004e88895801000000787104"
    "6558010000006371054b014b028671065801000000647107284b014b024b034b047471085801000000657109635f636f6465"
    "63730a656e636f64650a710a580500000000c3bf6162710b58060000006c6174696e31710c86710d52710e58010000006671"
    "0f4a90eefeff58010000006771108a0600000000000158010000006871118a08000000000000008058010000006971127d71"
    "1358010000006a71145d711558010000006b71165802000000c3a9711758010000006c71184d2c014b055807000000696e74"
    "206b65797119752e";
constexpr std::string_view kProto4 =
    "80049594000000000000007d94288c0161944b018c0162945d94284b014740040000000000004e88898c017894658c016394"
    "4b014b0286948c016494284b014b024b034b0474948c016594430400ff6162948c0166944a90eefeff8c0167948a06000000"
    "0000018c0168948a0800000000000000808c0169947d948c016a945d948c016b948c02c3a9948c016c944d2c014b058c0769"
    "6e74206b657994752e";

Node expected_value()
{
    Node m = Node::map();
    m.set("a", Node(1));
    Node b = Node::list();
    b.push_back(Node(1));
    b.push_back(Node(2.5));
    b.push_back(Node());
    b.push_back(Node(true));
    b.push_back(Node(false));
    b.push_back(Node("x"));
    m.set("b", b);
    Node c = Node::tuple();
    c.push_back(Node(1));
    c.push_back(Node(2));
    m.set("c", c);
    Node d = Node::tuple();
    for (int i = 1; i <= 4; ++i)
        d.push_back(Node(i));
    m.set("d", d);
    m.set("e", Node::bytes(lit("\x00\xff" "ab")));
    m.set("f", Node(int64_t{-70000}));
    m.set("g", Node(int64_t{1} << 40));
    m.set("h", Node(INT64_MIN));
    m.set("i", Node::map());
    m.set("j", Node::list());
    m.set("k", Node("\xc3\xa9"));
    m.set("l", Node(300));
    m.append(Node(5), Node("int key"));
    return m;
}

TEST(Pickle, ReadsCPythonProtocol2And4)
{
    const Node want = expected_value();
    EXPECT_EQ(pickle::unpickle(unhex(kProto2), "p2"), want);
    EXPECT_EQ(pickle::unpickle(unhex(kProto4), "p4"), want);
}

TEST(Pickle, WritesCPythonBytes)
{
    const Node v = expected_value();
    EXPECT_EQ(pickle::pickle_value(v, 2), unhex(kProto2));
    EXPECT_EQ(pickle::pickle_value(v, 4), unhex(kProto4));
}

TEST(Pickle, RoundTripsLargeValuesWithFrames)
{
    Node l = Node::list();
    for (int i = 0; i < 5000; ++i)
        l.push_back(Node(std::string(30, static_cast<char>('a' + i % 26))));
    Node m = Node::map();
    m.set("list", l);
    m.set("big", Node(std::string(100000, 'z')));
    m.set("bytes", Node::bytes(std::string(70000, '\x01')));
    for (int proto : {2, 3, 4, 5}) {
        const std::string p = pickle::pickle_value(m, proto);
        EXPECT_EQ(pickle::unpickle(p, "x"), m) << "protocol " << proto;
    }
}

TEST(Pickle, GlobalsReduceBuildBecomeOpaque)
{
    pickle::PickleWriter w(2);
    w.proto();
    w.global("argparse", "Namespace");
    w.empty_tuple();
    w.reduce();
    w.memo_put();
    Node state = Node::map();
    state.set("lr", Node(0.5));
    pickle::write_value(w, state);
    w.build();
    w.stop();
    const Node v = pickle::unpickle(w.take(), "ns");
    ASSERT_EQ(v.kind(), Node::Kind::opaque);
    EXPECT_EQ(v.as_opaque().type, "argparse.Namespace");
    ASSERT_TRUE(v.as_opaque().state);
    EXPECT_EQ(*v.as_opaque().state, state);
    EXPECT_FALSE(pickle::is_global(v));
    // Written back, the opaque value reproduces the same pickle.
    EXPECT_EQ(pickle::unpickle(pickle::pickle_value(v, 2), "again"), v);
}

TEST(Pickle, HooksInterceptCallsAndPersistentIds)
{
    pickle::PickleWriter w(2);
    w.proto();
    w.global("mod", "fn");
    w.mark();
    w.string("pid");
    w.binpersid();
    w.integer(7);
    w.tuple_from_mark();
    w.reduce();
    w.stop();
    pickle::Hooks h;
    h.persistent_load = [](const Node& pid) { return Node("loaded:" + pid.as_string()); };
    h.reduce = [](const std::string& callable, const Node& args) -> std::optional<Node> {
        if (callable != "mod.fn")
            return std::nullopt;
        return Node(args.items()[0].as_string() + "/" + std::to_string(args.items()[1].as_int()));
    };
    EXPECT_EQ(pickle::unpickle(w.take(), "h", h), Node("loaded:pid/7"));
}

TEST(Pickle, PersistentIdWithoutHookIsAnError)
{
    const std::string p = lit("\x80\x02X\x01\x00\x00\x00xQ.");
    EXPECT_THROW(pickle::unpickle(p, "f"), InputError);
}

TEST(Pickle, OrderedDictAndDillDictBecomeMaps)
{
    pickle::PickleWriter w(4);
    w.proto();
    Node m = Node::map();
    m.set("k", Node(1));
    // collections.OrderedDict([("k", 1)])
    w.global("collections", "OrderedDict");
    Node args = Node::tuple();
    Node pairs = Node::list();
    Node pair = Node::tuple();
    pair.push_back(Node("k"));
    pair.push_back(Node(1));
    pairs.push_back(pair);
    args.push_back(pairs);
    pickle::write_value(w, args);
    w.reduce();
    w.stop();
    EXPECT_EQ(pickle::unpickle(w.take(), "od"), m);

    // dill: _load_type('dict') is the dict type; calling it with () builds an empty map.
    pickle::PickleWriter d(4);
    d.proto();
    d.global("dill._dill", "_load_type");
    d.string("dict");
    d.memo_put();
    d.tuple_n(1);
    d.memo_put();
    d.reduce();
    d.memo_put();
    d.stop();
    const Node t = pickle::unpickle(d.take(), "dill");
    EXPECT_TRUE(pickle::is_global(t));
    EXPECT_EQ(pickle::global_name(t), "builtins.dict");
}

// A torch 1.13 pytree TreeSpec as dill pickles it (protocol 4): NEWOBJ + BUILD with a state dict
// whose `type` is dill's spelling of dict.
TEST(Pickle, TreeSpecShapedPickle)
{
    pickle::PickleWriter w(4);
    w.proto();
    w.global("torch.utils._pytree", "TreeSpec");
    w.empty_tuple();
    w.newobj();
    w.memo_put();
    w.empty_dict();
    w.memo_put();
    w.mark();
    w.string_memoised("type");
    w.global("dill._dill", "_load_type");
    w.string("dict");
    w.memo_put();
    w.tuple_n(1);
    w.memo_put();
    w.reduce();
    w.memo_put();
    w.string_memoised("context");
    pickle::write_value(w, Node::list());
    w.string_memoised("num_leaves");
    w.integer(0);
    w.setitems();
    w.build();
    w.stop();
    const Node v = pickle::unpickle(w.take(), "spec");
    ASSERT_EQ(v.kind(), Node::Kind::opaque);
    EXPECT_EQ(v.as_opaque().type, "torch.utils._pytree.TreeSpec");
    ASSERT_TRUE(v.as_opaque().state);
    const Node& st = *v.as_opaque().state;
    ASSERT_TRUE(st.find("type"));
    EXPECT_EQ(pickle::global_name(*st.find("type")), "builtins.dict");
    EXPECT_EQ(st.find("num_leaves")->as_int(), 0);
}

// dill 0.3.6 `dill.dumps(spec)` under torch 1.13 for
// tree_flatten({"model": {"w": t, "b": t}, "step": 1, "lst": [1, (2, 3)]}) — what a Cerebras
// `.mdl` stores (hex) in its `__spec__` attribute.
constexpr std::string_view kDillTreeSpec =
    "800495b1010000000000008c13746f7263682e7574696c732e5f707974726565948c0854726565537065639493942981947d"
    "94288c0474797065948c0a64696c6c2e5f64696c6c948c0a5f6c6f61645f747970659493948c046469637494859452948c07"
    "636f6e74657874945d94288c056d6f64656c948c0473746570948c036c737494658c0e6368696c6472656e5f737065637394"
    "5d942868022981947d94286805680b680c5d94288c0177948c0162946568115d942868008c084c6561665370656394939429"
    "81947d942868054e680c4e68115d948c0a6e756d5f6c6561766573944b017562681a2981947d942868054e680c4e68115d94"
    "681e4b01756265681e4b027562681a2981947d942868054e680c4e68115d94681e4b01756268022981947d9428680568088c"
    "046c6973749485945294680c4e68115d9428681a2981947d942868054e680c4e68115d94681e4b01756268022981947d9428"
    "680568088c057475706c659485945294680c4e68115d9428681a2981947d942868054e680c4e68115d94681e4b017562681a"
    "2981947d942868054e680c4e68115d94681e4b01756265681e4b02756265681e4b03756265681e4b0675622e";

struct Spec {
    std::string type; // "dict", "list", "tuple" or "" for a leaf
    std::vector<std::string> context;
    std::vector<Spec> children;
    int64_t leaves() const
    {
        if (type.empty())
            return 1;
        int64_t n = 0;
        for (const auto& c : children)
            n += c.leaves();
        return n;
    }
};

// Emits a TreeSpec the way dill pickles it, using only PickleWriter primitives.
void emit_spec(pickle::PickleWriter& w, const Spec& s, std::map<std::string, uint32_t>& type_memo)
{
    w.global("torch.utils._pytree", s.type.empty() ? "LeafSpec" : "TreeSpec");
    w.empty_tuple();
    w.newobj();
    w.memo_put();
    w.empty_dict();
    w.memo_put();
    w.mark();
    w.string_memoised("type");
    if (s.type.empty()) {
        w.none();
    } else if (auto it = type_memo.find(s.type); it != type_memo.end()) {
        w.memo_get(it->second);
    } else {
        w.global("dill._dill", "_load_type");
        w.string(s.type);
        w.memo_put();
        w.tuple_n(1);
        w.memo_put();
        w.reduce();
        type_memo[s.type] = w.memo_put();
    }
    w.string_memoised("context");
    if (s.type == "dict") {
        Node keys = Node::list();
        for (const auto& k : s.context)
            keys.push_back(Node(k));
        pickle::write_value(w, keys);
    } else {
        w.none();
    }
    w.string_memoised("children_specs");
    w.empty_list();
    w.memo_put();
    if (s.children.size() > 1)
        w.mark();
    for (const auto& c : s.children)
        emit_spec(w, c, type_memo);
    if (s.children.size() > 1)
        w.appends();
    else if (s.children.size() == 1)
        w.append();
    w.string_memoised("num_leaves");
    w.integer(s.leaves());
    w.setitems();
    w.build();
}

TEST(Pickle, WritesDillTreeSpecByteForByte)
{
    const Spec leaf{};
    const Spec model{"dict", {"w", "b"}, {leaf, leaf}};
    const Spec tuple{"tuple", {}, {leaf, leaf}};
    const Spec lst{"list", {}, {leaf, tuple}};
    const Spec root{"dict", {"model", "step", "lst"}, {model, leaf, lst}};
    pickle::PickleWriter w(4);
    w.proto();
    std::map<std::string, uint32_t> type_memo;
    emit_spec(w, root, type_memo);
    w.stop();
    EXPECT_EQ(w.take(), unhex(kDillTreeSpec));
}

TEST(Pickle, ReadsDillTreeSpec)
{
    const Node v = pickle::unpickle(unhex(kDillTreeSpec), "__spec__");
    ASSERT_EQ(v.kind(), Node::Kind::opaque);
    EXPECT_EQ(v.as_opaque().type, "torch.utils._pytree.TreeSpec");
    const Node& st = *v.as_opaque().state;
    EXPECT_EQ(pickle::global_name(*st.find("type")), "builtins.dict");
    EXPECT_EQ(st.find("num_leaves")->as_int(), 6);
    ASSERT_EQ(st.find("context")->size(), 3u);
    EXPECT_EQ(st.find("context")->items()[2].as_string(), "lst");
    const Node& children = *st.find("children_specs");
    ASSERT_EQ(children.size(), 3u);
    EXPECT_EQ(children.items()[1].as_opaque().type, "torch.utils._pytree.LeafSpec");
    const Node& lst = *children.items()[2].as_opaque().state;
    EXPECT_EQ(pickle::global_name(*lst.find("type")), "builtins.list");
    const Node& tup = *lst.find("children_specs")->items()[1].as_opaque().state;
    EXPECT_EQ(pickle::global_name(*tup.find("type")), "builtins.tuple");
}

void expect_refused(const std::string& bytes, const std::string& what)
{
    try {
        pickle::unpickle(bytes, "evil.pkl");
        FAIL() << "accepted a pickle referencing " << what;
    } catch (const InputError& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("evil.pkl"), std::string::npos) << msg;
        EXPECT_NE(msg.find("refusing to load"), std::string::npos) << msg;
        EXPECT_NE(msg.find(what), std::string::npos) << msg;
    }
}

TEST(Pickle, RefusesCodeExecutionGlobals)
{
    expect_refused(lit("\x80\x02" "cos\nsystem\nX\x02\x00\x00\x00id\x85R."), "os.system");
    expect_refused("cposix\nsystem\n(S'id'\ntR.", "posix.system");
    expect_refused("c__builtin__\neval\n(S'1'\ntR.", "__builtin__.eval");
    expect_refused(lit("\x80\x04\x8c\x08" "builtins\x8c\x04" "exec\x93."), "builtins.exec");
    expect_refused(lit("\x80\x04\x8c\x0a" "subprocess\x8c\x05" "Popen\x93."), "subprocess.Popen");
    expect_refused("csys\nmodules\n.", "sys.modules");
    expect_refused("(S'x'\nios\nsystem\n.", "os.system");
    // dill spelling of a dangerous builtin.
    pickle::PickleWriter w(2);
    w.proto();
    w.global("dill._dill", "_load_type");
    w.string("eval");
    w.tuple_n(1);
    w.reduce();
    w.stop();
    expect_refused(w.take(), "builtins.eval");
}

TEST(Pickle, AllowsDataGlobals)
{
    EXPECT_FALSE(pickle::refused_global("collections", "OrderedDict"));
    EXPECT_FALSE(pickle::refused_global("torch._utils", "_rebuild_tensor_v2"));
    EXPECT_FALSE(pickle::refused_global("numpy.core.multiarray", "scalar"));
    EXPECT_FALSE(pickle::refused_global("builtins", "set"));
    EXPECT_TRUE(pickle::refused_global("os.path", "join"));
    EXPECT_TRUE(pickle::refused_global("builtins", "getattr"));
}

void expect_input_error(const std::string& bytes, const pickle::Limits& limits = {})
{
    try {
        pickle::unpickle(bytes, "bad.pkl", {}, limits);
        FAIL() << "accepted a malformed pickle";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("bad.pkl"), std::string::npos) << e.what();
    }
}

TEST(Pickle, MalformedInputIsAnInputError)
{
    expect_input_error("");
    expect_input_error(lit("\x80\x02"));                        // no STOP
    expect_input_error(lit("\x80\x02X\xff\xff\xff\x7f" "abc.")); // string past the end
    expect_input_error("h\x05.");                                           // memo get of nothing
    expect_input_error(".");                                                // stack underflow
    expect_input_error("t.");                                               // TUPLE without MARK
    expect_input_error("\xff.");                                            // unknown opcode
    expect_input_error(lit("\x80\x09."));                        // protocol 9
    expect_input_error("K\x01K\x02s.");                                      // SETITEM on an int
    expect_input_error("cfoo\n");                                           // truncated GLOBAL
    expect_input_error("N\x82\x01.");                                       // EXT1
}

TEST(Pickle, LimitsStopBombs)
{
    pickle::Limits small;
    small.max_memo = 100;
    small.max_depth = 50;
    small.max_string = 1000;
    small.max_items = 10000;
    // Memo index far beyond the limit.
    expect_input_error(lit("N" "r\xff\xff\xff\x7f" "."), small);
    // Deep MARK chain.
    expect_input_error(std::string(100, '(') + "N.", small);
    // Deep list nesting without marks: ]]]]...aaaa.
    expect_input_error(std::string(200, ']') + std::string(199, 'a') + ".", small);
    // A self-containing list.
    expect_input_error(lit("]q\x00h\x00" "a."), small);
    // Huge declared string.
    expect_input_error(lit("X\x00\x00\x01\x00") + std::string(2000, 'a') + ".", small);
    // Exponential sharing: each list holds the previous twice.
    std::string b = lit("]q\x00");
    for (int i = 1; i < 40; ++i) {
        b += "](h";
        b.push_back(static_cast<char>(i - 1));
        b += "h";
        b.push_back(static_cast<char>(i - 1));
        b += "eq";
        b.push_back(static_cast<char>(i));
    }
    b += ".";
    expect_input_error(b, small);
}

TEST(Pickle, BigIntegersSurviveAsRawBytes)
{
    const std::string p = lit("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.");
    const Node v = pickle::unpickle(p, "magic");
    ASSERT_EQ(v.kind(), Node::Kind::opaque);
    EXPECT_EQ(v.as_opaque().type, "builtins.int");
    EXPECT_EQ(v.as_opaque().raw.size(), 10u);
    EXPECT_EQ(pickle::pickle_value(v, 2), p);
}

TEST(Pickle, TextProtocolZero)
{
    const Node v = pickle::unpickle("(dp0\nS'a'\np1\nI5\nsV\\u00e9t\\u00e9\np2\n(lp3\nF1.5\naL12L\nas.", "p0");
    ASSERT_TRUE(v.is_map());
    EXPECT_EQ(v.find("a")->as_int(), 5);
    const Node* l = v.find("\xc3\xa9t\xc3\xa9");
    ASSERT_TRUE(l);
    ASSERT_EQ(l->size(), 2u);
    EXPECT_EQ(l->items()[0].as_float(), 1.5);
    EXPECT_EQ(l->items()[1].as_int(), 12);
}

} // namespace
} // namespace ckpt

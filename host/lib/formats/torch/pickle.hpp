// SPDX-License-Identifier: Apache-2.0
// The safe pickle machine and writer: Python pickles (protocols 0-5) as data, never as code.
//
// A pickle is a program for a small stack machine. `unpickle` interprets the opcodes that data
// pickles use, but nothing is ever imported or called: a GLOBAL / STACK_GLOBAL becomes a data value
// naming the callable, and REDUCE / NEWOBJ / BUILD either go to caller-supplied hooks (the torch
// reader rebuilds tensors there) or become `Opaque{type, args, state}` values. Globals from
// modules that only exist to run code (os, subprocess, builtins.eval, ...) are refused outright,
// so a hostile file is reported instead of being kept as an inert value.
//
// Value mapping (reader):
//   None/True/False/int/float/str/bytes -> Node null/boolean/integer/floating/string/bytes
//   (Python 2 `str` from STRING/BINSTRING is read as a string; bytes pickled as
//   `_codecs.encode(text, 'latin1')` become Node bytes);
//   ints that do not fit int64 -> Opaque{type "builtins.int", raw = little-endian two's
//   complement bytes as LONG1 stores them};
//   list -> list, tuple -> tuple, dict -> map (keys of any scalar kind, insertion order kept);
//   `collections.OrderedDict(...)`, `builtins.dict(...)` (also `__builtin__.dict`) called via
//   REDUCE or NEWOBJ -> map; BUILD state on a map is dropped (OrderedDict attributes such as a
//   state dict's `_metadata` have no place in a Node map);
//   `dill._dill._load_type('X')` -> the bare global `builtins.X` (dill's spelling of a builtin
//   type), so a later call of it behaves like a call of `builtins.X`;
//   set / frozenset (EMPTY_SET, ADDITEMS, FROZENSET) -> Opaque{type "builtins.set" or
//   "builtins.frozenset", args = (list,)} — the same shape protocol 2 uses;
//   a bare global `module.name` -> Opaque{type "module.name", args null, state null}
//   (see is_global / global_name);
//   any other REDUCE / NEWOBJ / NEWOBJ_EX / INST / OBJ -> the `reduce` hook, else
//   Opaque{type "module.name", args = tuple, state null} (NEWOBJ and REDUCE look the same);
//   BUILD -> the `build` hook, else the object's Opaque gets `state` set.
// Objects shared through the memo (BINGET of a memoised object) are shared in the result where
// sharing is visible: a tensor returned by a hook keeps its identity (same TensorPtr) everywhere
// it is referenced. Containers are copied into the Node tree (Node has value semantics).
#pragma once

#include "core/node.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ckpt::pickle {

/// Hard limits that keep a hostile pickle from exhausting memory or the C++ stack. Exceeding one
/// is an InputError naming the file, the offset and the limit.
struct Limits {
    uint64_t max_memo = 1u << 22;      // memo slots (index of PUT / number of MEMOIZE)
    uint64_t max_depth = 512;          // nesting of MARKs and of containers in the result
    uint64_t max_string = 1ull << 31;  // bytes of one str / bytes object
    uint64_t max_items = 1ull << 23;   // values produced (result nodes, hook arguments, copies)
    /// Bytes of str/bytes values copied into results; 0 = automatic (4 x input size + 64 MiB).
    /// Stops "billion laughs" pickles that reference one big string through a memo many times.
    uint64_t max_total_bytes = 0;
    /// Bytes the machine's objects may take while it runs; 0 = automatic (64 MiB + 16 x input
    /// size). Charged as objects are made, so a pickle of millions of one-byte EMPTY_LIST
    /// opcodes is refused after using at most this much, in proportion to its size.
    uint64_t max_memory = 0;
};

/// Interpretation hooks. Each may be empty. A hook that returns std::nullopt declines, and the
/// machine falls back to its data representation. Hooks may throw InputError to reject input.
struct Hooks {
    /// PERSID / BINPERSID: receives the persistent id (a tuple for torch storages, a string for
    /// PERSID) and returns the value to push. Without a hook, persistent ids are an error.
    std::function<Node(const Node& pid)> persistent_load;
    /// REDUCE / NEWOBJ / NEWOBJ_EX / INST / OBJ of the global `callable` ("module.name") with the
    /// argument tuple `args`.
    std::function<std::optional<Node>(const std::string& callable, const Node& args)> reduce;
    /// BUILD of `obj` (the value below the state on the stack) with `state`.
    std::function<std::optional<Node>(const Node& obj, const Node& state)> build;
};

/// Interprets one pickle at the start of `bytes` and returns the object STOP leaves on the stack.
/// `source_name` (a file name, "data.pkl in x.bin", "__spec__ of y.mdl") starts every error
/// message. Throws InputError for truncated input, malformed or unsupported opcodes (with the
/// byte offset), refused globals ("refusing to load: the pickle references os.system ...") and
/// exceeded limits. Never reads outside `bytes`. Bytes after STOP are ignored.
Node unpickle(std::string_view bytes, const std::string& source_name, const Hooks& hooks = {},
              const Limits& limits = {});

/// Like unpickle, but also returns the offset just past STOP (for files that hold several
/// consecutive pickles, such as torch's legacy format).
std::pair<Node, size_t> unpickle_prefix(std::string_view bytes, const std::string& source_name,
                                        const Hooks& hooks = {}, const Limits& limits = {});

/// True when `n` is a bare global as unpickle produces it (Opaque without args and state).
bool is_global(const Node& n);
/// "module.name" of a bare global or of a called Opaque; empty for anything else.
std::string global_name(const Node& n);

/// Why `module.name` may not appear in a pickle, or nullopt when it may. The machine calls this
/// for every GLOBAL / STACK_GLOBAL / INST; exposed for tests and for writers that want to check.
std::optional<std::string> refused_global(std::string_view module, std::string_view name);

/// Emits pickle opcodes. The caller drives the stack machine (e.g. global + args + reduce),
/// which lets it write any pickle, including torch's; `write_value` handles plain data trees.
/// Protocol 2 uses GLOBAL, BINPUT/LONG_BINPUT, BINUNICODE and `_codecs.encode` for bytes;
/// protocol 4 uses STACK_GLOBAL, MEMOIZE, SHORT_BINUNICODE, BINBYTES and FRAMEs of about 64 KiB
/// exactly like CPython's framer. Not thread safe; one writer per pickle.
class PickleWriter {
public:
    /// Protocol 2..5 (3 and 5 are written as 3 and 4 constructs with their own PROTO byte).
    explicit PickleWriter(int protocol = 2);

    int protocol() const { return m_protocol; }

    /// PROTO n. Call first (CPython always does for protocol >= 2).
    void proto();
    /// STOP, then framing is closed. Call last.
    void stop();

    void mark();
    void pop();
    void none();
    void boolean(bool v);
    /// BININT1 / BININT2 / BININT / LONG1, as CPython chooses.
    void integer(int64_t v);
    /// LONG1 (or LONG4) with little-endian two's complement bytes (empty = 0).
    void long_bytes(std::string_view le_twos_complement);
    /// BINFLOAT (big-endian double).
    void floating(double v);
    /// A str: SHORT_BINUNICODE (protocol >= 4 and < 256 bytes), BINUNICODE or BINUNICODE8.
    /// `text` must be UTF-8.
    void string(std::string_view text);
    /// A bytes object: protocol >= 3 SHORT_BINBYTES/BINBYTES/BINBYTES8; protocol 2 the
    /// `_codecs.encode(latin1-text, 'latin1')` REDUCE construct CPython writes.
    void bytes(std::string_view raw);

    /// A reference to `module.name`. Memoised like CPython: the first use writes GLOBAL (or two
    /// strings + STACK_GLOBAL) and a memo put, later uses write a memo get.
    void global(std::string_view module, std::string_view name);
    /// Same but never memoised (exactly one GLOBAL / STACK_GLOBAL opcode).
    void global_unmemoised(std::string_view module, std::string_view name);

    void empty_tuple();
    /// TUPLE1 / TUPLE2 / TUPLE3 for 1..3 items (protocol >= 2); 0 writes EMPTY_TUPLE.
    void tuple_n(size_t n);
    /// TUPLE: everything above the last mark.
    void tuple_from_mark();
    void empty_list();
    void append();
    void appends(); // after mark + items
    void empty_dict();
    void setitem();
    void setitems(); // after mark + key/value pairs
    void empty_set(); // protocol >= 4
    void additems();  // protocol >= 4, after mark + items

    void reduce();
    void newobj();
    void build();
    void binpersid();

    /// Memoises the top of the stack (BINPUT / LONG_BINPUT, or MEMOIZE for protocol >= 4) and
    /// returns its memo index.
    uint32_t memo_put();
    /// Pushes a memoised object (BINGET / LONG_BINGET).
    void memo_get(uint32_t index);
    /// Memo index of a string written earlier with `string_memoised`, if any.
    std::optional<uint32_t> find_string_memo(std::string_view text) const;
    /// Writes a string and memoises it, or gets it when the same text was memoised through this
    /// function before (how CPython pickles one interned string object used twice).
    void string_memoised(std::string_view text);

    /// Raw bytes inside the current frame (for opcodes this class does not cover).
    void raw(std::string_view bytes);

    /// The finished pickle (after stop()). Resets the writer's output buffer.
    std::string take();

private:
    void op(uint8_t code);
    void put_bytes(const void* p, size_t n);
    void maybe_commit_frame();
    void commit_frame();
    void write_sized(uint8_t short_op, uint8_t op4, uint8_t op8, std::string_view payload);

    int m_protocol;
    std::string m_out;   // committed output
    std::string m_frame; // current frame (protocol >= 4) or pending output
    bool m_framing = false;
    uint32_t m_memo_count = 0;
    std::map<std::string, uint32_t, std::less<>> m_global_memo;
    std::map<std::string, uint32_t, std::less<>> m_string_memo;
};

/// How write_value treats values a plain data pickle cannot express.
struct ValueOptions {
    /// Writes one tensor onto the stack (e.g. torch's _rebuild_tensor_v2 construct). Without it a
    /// tensor is an InputError.
    std::function<void(PickleWriter&, const TensorPtr&)> tensor;
    /// Chooses, per map, `collections.OrderedDict` (true) or a plain dict (false). Default: dict.
    std::function<bool(const Node& map, size_t depth)> ordered_dict;
};

/// Writes `value` onto the writer's stack as CPython would pickle the equivalent Python object:
/// containers and strings memoised, lists/dicts filled in batches of 1000 (APPENDS/SETITEMS),
/// tuples via TUPLEn or MARK ... TUPLE. Opaque values are written back as global + args tuple +
/// REDUCE (+ state BUILD); a bare global as the global; "builtins.int" opaques as LONG1.
void write_value(PickleWriter& w, const Node& value, const ValueOptions& options = {});

/// A complete pickle (PROTO, value, STOP) of a plain data tree.
std::string pickle_value(const Node& value, int protocol = 2, const ValueOptions& options = {});

} // namespace ckpt::pickle

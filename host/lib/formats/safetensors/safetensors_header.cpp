// SPDX-License-Identifier: Apache-2.0
// Parses and validates safetensors headers (every rule of the reference reader, and a few more).
//
// The header is read with RapidJSON's SAX reader and a small state machine rather than a DOM:
// memory stays proportional to the tensors kept (not to the JSON, up to 100 MB of it), anything
// of the wrong shape is refused at its first byte, and the iterative reader cannot overflow the
// stack on deeply nested input.
#include "formats/safetensors/safetensors_header.hpp"

#include "core/error.hpp"
#include "formats/safetensors/json_text.hpp"

#include <rapidjson/encodedstream.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <limits>
#include <numeric>
#include <unordered_set>

namespace ckpt::detail {

namespace {

constexpr std::string_view kMetadataKey = "__metadata__";

uint64_t load_le64(const char* p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i)
        v = (v << 8) | static_cast<unsigned char>(p[i]);
    return v;
}

std::string known_dtypes()
{
    size_t n = 0;
    const DType* all = all_dtypes(&n);
    std::string s;
    for (size_t i = 0; i < n; ++i) {
        if (i)
            s += ", ";
        s += dtype_name(all[i]);
    }
    return s;
}

/// A JSON string for messages: escaped, cut at 60 bytes.
std::string quoted(std::string_view s)
{
    std::string out;
    append_json_string_python(out, s.substr(0, 60));
    if (s.size() > 60)
        out.insert(out.size() - 1, "...");
    return out;
}

/// One JSON event's value, as much as messages need.
struct Value {
    enum Kind { null, boolean, uint, sint, real, string, object, array } kind = null;
    uint64_t u = 0;
    int64_t i = 0;
    double d = 0;
    bool b = false;
    std::string_view s;

    std::string a_kind() const
    {
        switch (kind) {
        case null: return "null";
        case boolean: return "a boolean";
        case uint:
        case sint:
        case real: return "a number";
        case string: return "a string";
        case object: return "an object";
        case array: return "an array";
        }
        return "a value";
    }
    std::string excerpt() const
    {
        switch (kind) {
        case null: return "null";
        case boolean: return b ? "true" : "false";
        case uint: return fmt::format("{}", u);
        case sint: return fmt::format("{}", i);
        case real: return fmt::format("{:#}", d); // "2.0" stays visibly fractional
        case string: return quoted(s);
        case object:
        case array: return a_kind();
        }
        return "a value";
    }
};

/// The SAX state machine. Each handler returns false after recording a message in `error`.
class HeaderHandler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, HeaderHandler> {
public:
    HeaderHandler(SafetensorsHeader& h) : m_h(h) {}

    std::string error;

    bool Null() { return value({Value::null}); }
    bool Bool(bool b)
    {
        Value v{Value::boolean};
        v.b = b;
        return value(v);
    }
    bool Int(int i) { return Int64(i); }
    bool Uint(unsigned u) { return Uint64(u); }
    bool Int64(int64_t i)
    {
        if (i >= 0)
            return Uint64(static_cast<uint64_t>(i));
        Value v{Value::sint};
        v.i = i;
        return value(v);
    }
    bool Uint64(uint64_t u)
    {
        Value v{Value::uint};
        v.u = u;
        return value(v);
    }
    bool Double(double d)
    {
        Value v{Value::real};
        v.d = d;
        return value(v);
    }
    bool String(const char* s, rapidjson::SizeType n, bool)
    {
        Value v{Value::string};
        v.s = std::string_view(s, n);
        return value(v);
    }
    bool StartObject() { return start(Value::object); }
    bool StartArray() { return start(Value::array); }
    bool EndObject(rapidjson::SizeType) { return end(); }
    bool EndArray(rapidjson::SizeType) { return end(); }
    bool Key(const char* s, rapidjson::SizeType n, bool) { return key(std::string_view(s, n)); }

    bool finished() const { return m_state == State::done; }

private:
    enum class State { start, root, metadata, entry, shape, offsets, skip, done };
    enum class Field { none, dtype, shape, offsets, unknown };

    bool fail(std::string message)
    {
        error = std::move(message);
        return false;
    }
    std::string tensor() const { return fmt::format("tensor {}", quoted(m_key)); }

    bool key(std::string_view k)
    {
        switch (m_state) {
        case State::root:
            if (!m_keys.insert(std::string(k)).second)
                return fail(fmt::format("key {} appears twice in the header", quoted(k)));
            m_key.assign(k);
            return true;
        case State::metadata:
            if (!m_meta_keys.insert(std::string(k)).second)
                return fail(fmt::format("__metadata__ key {} appears twice", quoted(k)));
            m_meta_key.assign(k);
            return true;
        case State::entry: {
            m_field = k == "dtype" ? Field::dtype
                    : k == "shape" ? Field::shape
                    : k == "data_offsets" ? Field::offsets
                                          : Field::unknown; // ignored, as the reference reader does
            bool* seen = m_field == Field::dtype ? &m_has_dtype
                       : m_field == Field::shape ? &m_has_shape
                       : m_field == Field::offsets ? &m_has_offsets
                                                   : nullptr;
            if (seen && *seen)
                return fail(fmt::format("{}: field \"{}\" appears twice", tensor(), k));
            if (seen)
                *seen = true;
            return true;
        }
        default:
            return true; // skipped values
        }
    }

    bool start(Value::Kind kind)
    {
        Value v{kind};
        switch (m_state) {
        case State::start:
            if (kind != Value::object)
                return fail("header is a JSON array, expected an object of tensors");
            m_state = State::root;
            return true;
        case State::root:
            if (m_key == kMetadataKey) {
                if (kind != Value::object)
                    return fail(fmt::format("__metadata__ is {}, expected an object of string values", v.a_kind()));
                m_state = State::metadata;
                return true;
            }
            if (kind != Value::object)
                return fail(fmt::format("{}: expected an object with dtype, shape and data_offsets, found {}",
                                        tensor(), v.a_kind()));
            m_entry = SafetensorsEntry{};
            m_numel = 1;
            m_offsets = 0;
            m_has_dtype = m_has_shape = m_has_offsets = false;
            m_state = State::entry;
            return true;
        case State::metadata:
            return value(v);
        case State::entry:
            if (m_field == Field::unknown) {
                m_skip_depth = 1;
                m_state = State::skip;
                return true;
            }
            if (kind == Value::array && m_field == Field::shape) {
                m_state = State::shape;
                return true;
            }
            if (kind == Value::array && m_field == Field::offsets) {
                m_state = State::offsets;
                return true;
            }
            return value(v);
        case State::shape:
        case State::offsets:
            return value(v);
        case State::skip:
            ++m_skip_depth;
            return true;
        case State::done:
            break;
        }
        return fail("unexpected JSON after the header object");
    }

    bool end()
    {
        switch (m_state) {
        case State::root:
            m_state = State::done;
            return true;
        case State::metadata:
            m_state = State::root;
            return true;
        case State::entry:
            m_state = State::root;
            return finish_entry();
        case State::shape:
            m_state = State::entry;
            return true;
        case State::offsets:
            m_state = State::entry;
            if (m_offsets != 2)
                return fail(fmt::format("{}: data_offsets is an array of {} values, expected [begin, end]",
                                        tensor(), m_offsets));
            return true;
        case State::skip:
            if (--m_skip_depth == 0)
                m_state = State::entry;
            return true;
        default:
            return fail("unbalanced JSON");
        }
    }

    bool value(const Value& v)
    {
        switch (m_state) {
        case State::start:
            return fail(fmt::format("header is a JSON {}, expected an object of tensors",
                                    v.a_kind().substr(v.a_kind().find(' ') + 1)));
        case State::root:
            if (m_key == kMetadataKey)
                return fail(fmt::format("__metadata__ is {}, expected an object of string values", v.a_kind()));
            return fail(fmt::format("{}: expected an object with dtype, shape and data_offsets, found {}",
                                    tensor(), v.a_kind()));
        case State::metadata:
            if (v.kind != Value::string)
                return fail(fmt::format("__metadata__ key {} maps to {}, expected a string (safetensors "
                                        "metadata maps strings to strings only)",
                                        quoted(m_meta_key), v.excerpt()));
            m_h.metadata.emplace_back(m_meta_key, std::string(v.s));
            return true;
        case State::entry:
            switch (m_field) {
            case Field::dtype: {
                if (v.kind != Value::string)
                    return fail(fmt::format("{}: dtype is {}, expected a string such as \"F32\"", tensor(),
                                            v.a_kind()));
                const auto dt = dtype_from_name(v.s);
                if (!dt)
                    return fail(fmt::format("{}: unsupported dtype {} (supported: {})", tensor(), quoted(v.s),
                                            known_dtypes()));
                m_entry.info.dtype = *dt;
                return true;
            }
            case Field::shape:
                return fail(fmt::format("{}: shape is {}, expected an array of dimensions", tensor(), v.a_kind()));
            case Field::offsets:
                return fail(fmt::format("{}: data_offsets is {}, expected [begin, end]", tensor(), v.a_kind()));
            default:
                return true; // unknown field with a scalar value
            }
        case State::shape: {
            const size_t index = m_entry.info.shape.size();
            if (!unsigned_value(v, "shape", index))
                return false;
            if (v.u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
                return fail(fmt::format("{}: shape[{}] is {}, larger than any file can hold", tensor(), index, v.u));
            if (v.u != 0 && m_numel > std::numeric_limits<uint64_t>::max() / v.u)
                return fail(fmt::format("{}: shape has more elements than 2^64 (dimension {} is {})", tensor(),
                                        index, v.u));
            m_numel *= v.u;
            m_entry.info.shape.push_back(static_cast<int64_t>(v.u));
            return true;
        }
        case State::offsets:
            if (m_offsets >= 2)
                return fail(fmt::format("{}: data_offsets has more than 2 values, expected [begin, end]", tensor()));
            if (!unsigned_value(v, "data_offsets", m_offsets))
                return false;
            (m_offsets == 0 ? m_entry.begin : m_entry.end) = v.u;
            ++m_offsets;
            return true;
        case State::skip:
            return true;
        case State::done:
            break;
        }
        return fail("unexpected JSON after the header object");
    }

    bool unsigned_value(const Value& v, std::string_view field, size_t index)
    {
        if (v.kind == Value::uint)
            return true;
        if (v.kind == Value::sint)
            return fail(fmt::format("{}: {}[{}] is {}, expected a non-negative integer", tensor(), field, index, v.i));
        return fail(fmt::format("{}: {}[{}] is {}, expected a non-negative integer below 2^64", tensor(), field,
                                index, v.excerpt()));
    }

    bool finish_entry()
    {
        if (!m_has_dtype || !m_has_shape || !m_has_offsets)
            return fail(fmt::format("{}: missing field \"{}\" (each tensor needs dtype, shape and data_offsets)",
                                    tensor(), !m_has_dtype ? "dtype" : !m_has_shape ? "shape" : "data_offsets"));
        SafetensorsEntry& e = m_entry;
        const uint64_t esize = dtype_size(e.info.dtype);
        if (m_numel > std::numeric_limits<uint64_t>::max() / esize)
            return fail(fmt::format("{}: {} needs more than 2^64 bytes", tensor(), describe(e.info)));
        const uint64_t nbytes = m_numel * esize;
        if (e.begin > e.end)
            return fail(fmt::format("{}: data_offsets [{}, {}] end before they begin", tensor(), e.begin, e.end));
        if (e.end > m_h.data_size)
            return fail(fmt::format("{}: data_offsets [{}, {}] run past the data section of {} bytes (file "
                                    "truncated or header corrupt)",
                                    tensor(), e.begin, e.end, m_h.data_size));
        if (e.end - e.begin != nbytes)
            return fail(fmt::format("{}: {} needs {} bytes but data_offsets [{}, {}] hold {}", tensor(),
                                    describe(e.info), nbytes, e.begin, e.end, e.end - e.begin));
        e.name = m_key;
        m_h.tensors.push_back(std::move(e));
        return true;
    }

    SafetensorsHeader& m_h;
    State m_state = State::start;
    std::unordered_set<std::string> m_keys;
    std::unordered_set<std::string> m_meta_keys;
    std::string m_key;
    std::string m_meta_key;
    Field m_field = Field::none;
    SafetensorsEntry m_entry;
    uint64_t m_numel = 1;
    size_t m_offsets = 0;
    bool m_has_dtype = false, m_has_shape = false, m_has_offsets = false;
    int64_t m_skip_depth = 0;
};

/// Tensors sorted by offset must tile [0, data_size) exactly.
void check_tiling(const std::string& file, const SafetensorsHeader& h)
{
    std::vector<size_t> order(h.tensors.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        const auto& x = h.tensors[a];
        const auto& y = h.tensors[b];
        return x.begin != y.begin ? x.begin < y.begin : x.end < y.end;
    });
    uint64_t expected = 0;
    const SafetensorsEntry* prev = nullptr;
    for (size_t i : order) {
        const auto& e = h.tensors[i];
        if (e.begin < expected)
            throw_input("{}: tensor {} at [{}, {}] overlaps tensor {} at [{}, {}]", file, quoted(e.name), e.begin,
                        e.end, quoted(prev->name), prev->begin, prev->end);
        if (e.begin > expected)
            throw_input("{}: {} unused bytes before tensor {} at [{}, {}] (tensors must be packed without gaps)",
                        file, e.begin - expected, quoted(e.name), e.begin, e.end);
        expected = e.end;
        prev = &e;
    }
    if (expected != h.data_size)
        throw_input("{}: {} trailing bytes after the last tensor (data section is {} bytes, tensors cover {})",
                    file, h.data_size - expected, h.data_size, expected);
}

} // namespace

SafetensorsHeader parse_safetensors_header(std::string_view bytes, uint64_t file_size, const std::string& file)
{
    if (file_size < 8 || bytes.size() < 8)
        throw_input("{}: truncated: a safetensors file starts with an 8-byte header length, the file "
                    "has {} bytes",
                    file, std::min<uint64_t>(file_size, bytes.size()));
    SafetensorsHeader h;
    h.header_size = load_le64(bytes.data());
    if (h.header_size > kSafetensorsMaxHeader)
        throw_input("{}: header length {} exceeds the safetensors limit of {} bytes (corrupt or not a "
                    "safetensors file)",
                    file, h.header_size, kSafetensorsMaxHeader);
    if (h.header_size > file_size - 8)
        throw_input("{}: header length {} runs past the end of the file ({} bytes): truncated or not a "
                    "safetensors file",
                    file, h.header_size, file_size);
    if (h.header_size > bytes.size() - 8)
        throw_input("{}: only {} of the {} header bytes are available", file, bytes.size() - 8, h.header_size);
    h.data_start = 8 + h.header_size;
    h.data_size = file_size - h.data_start;

    const std::string_view text = bytes.substr(8, h.header_size);
    // RapidJSON treats a NUL byte as the end of input, which would hide whatever follows it; a raw
    // NUL is never valid JSON (inside strings it must be escaped), so refuse it outright.
    if (const size_t nul = text.find('\0'); nul != std::string_view::npos)
        throw_input("{}: header is not valid UTF-8 JSON: NUL byte at byte {} (of {} header bytes)", file, nul,
                    h.header_size);
    HeaderHandler handler(h);
    rapidjson::MemoryStream ms(text.data(), text.size());
    rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> in(ms);
    rapidjson::Reader reader;
    constexpr unsigned kFlags = rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag;
    const rapidjson::ParseResult ok = reader.Parse<kFlags>(in, handler);
    if (!handler.error.empty())
        throw_input("{}: {}", file, handler.error);
    if (!ok)
        throw_input("{}: header is not valid UTF-8 JSON: {} at byte {} (of {} header bytes)", file,
                    rapidjson::GetParseError_En(ok.Code()), ok.Offset(), h.header_size);
    if (!handler.finished())
        throw_input("{}: header is incomplete JSON", file);
    check_tiling(file, h);
    return h;
}

} // namespace ckpt::detail

// SPDX-License-Identifier: Apache-2.0
// Reading a config file's text and the UTF-8 and key-ordering rules shared by the JSON and YAML code.
#include "config/config_text.hpp"

#include "core/text.hpp"

#include "core/error.hpp"
#include "core/input_file.hpp"
#include "core/mapped_file.hpp"

#include <algorithm>
#include <cmath>
#include <system_error>
#include <unistd.h>

namespace ckpt::detail {

std::string read_config_text(const std::filesystem::path& path)
{
    std::error_code ec;
    auto status = std::filesystem::status(path, ec);
    if (ec || !std::filesystem::exists(status))
        throw_input("{}: cannot open config: {}", path.string(),
                    ec ? ec.message() : std::string("no such file"));
    if (std::filesystem::is_directory(status))
        throw_input("{}: is a directory, expected a config file (config.json or .yaml)", path.string());
    ::close(open_input_file(path)); // refuses a FIFO or device before file_size or a read waits on it
    uint64_t size = std::filesystem::file_size(path, ec);
    if (ec)
        throw_input("{}: cannot read config size: {}", path.string(), ec.message());
    if (size > kMaxConfigBytes)
        throw_input("{}: config file is {} bytes, more than the {} bytes a config may have", path.string(),
                    size, kMaxConfigBytes);
    // One byte more than expected catches a file that grew since stat().
    std::string text = read_head(path, static_cast<size_t>(size) + 1);
    if (text.size() > kMaxConfigBytes)
        throw_input("{}: config file grew past {} bytes while being read", path.string(), kMaxConfigBytes);
    return text;
}

namespace {
} // namespace

bool decode_utf8(std::string_view s, std::u32string& out)
{
    out.clear();
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
        char32_t cp = 0;
        size_t n = decode_utf8_at(s, i, cp);
        if (n == 0)
            return false;
        out.push_back(cp);
        i += n;
    }
    return true;
}

size_t find_invalid_utf8(std::string_view s)
{
    for (size_t i = 0; i < s.size();) {
        char32_t cp = 0;
        size_t n = decode_utf8_at(s, i, cp);
        if (n == 0)
            return i;
        i += n;
    }
    return std::string_view::npos;
}

void append_utf8(std::string& out, char32_t c)
{
    if (c < 0x80) {
        out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (c >> 6)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (c >> 12)));
        out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (c >> 18)));
        out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
}

namespace {
bool is_number(const Node& n)
{
    return n.kind() == Node::Kind::boolean || n.kind() == Node::Kind::integer ||
           n.kind() == Node::Kind::floating;
}

// Exact value of a Python number: long double holds every int64 and every double exactly.
long double number_value(const Node& n)
{
    switch (n.kind()) {
    case Node::Kind::boolean: return n.as_bool() ? 1.0L : 0.0L;
    case Node::Kind::integer: return static_cast<long double>(n.as_int());
    default: return static_cast<long double>(n.as_float());
    }
}
} // namespace

bool python_sort_entries(const std::vector<Node::Entry>& in, std::vector<const Node::Entry*>& out)
{
    out.clear();
    for (const auto& e : in)
        out.push_back(&e);
    if (in.size() < 2)
        return true;
    const Node::Kind first = in.front().first.kind();
    const bool strings = first == Node::Kind::string;
    const bool bytes = first == Node::Kind::bytes;
    for (const auto& e : in) {
        const Node& k = e.first;
        if (strings && k.kind() != Node::Kind::string)
            return false;
        if (bytes && k.kind() != Node::Kind::bytes)
            return false;
        if (!strings && !bytes) {
            if (!is_number(k))
                return false;
            // NaN makes Python's order depend on the sort algorithm; do not guess.
            if (k.kind() == Node::Kind::floating && std::isnan(k.as_float()))
                return false;
        }
    }
    if (strings || bytes) {
        // Byte order of UTF-8 equals code point order, which is how Python compares str.
        std::stable_sort(out.begin(), out.end(), [](const Node::Entry* a, const Node::Entry* b) {
            return a->first.as_string() < b->first.as_string();
        });
    } else {
        std::stable_sort(out.begin(), out.end(), [](const Node::Entry* a, const Node::Entry* b) {
            return number_value(a->first) < number_value(b->first);
        });
    }
    return true;
}

bool python_key_equal(const Node& a, const Node& b)
{
    if (is_number(a) && is_number(b))
        return number_value(a) == number_value(b);
    return a == b;
}

} // namespace ckpt::detail

// SPDX-License-Identifier: Apache-2.0
// The one JSON writer of the CLI's `--json` results: RapidJSON's PrettyWriter, arrays on one line.
#pragma once

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace ckpt::cli {

/// One JSON document being written: escaping, commas and nesting are the writer's. Members are
/// written in call order. Strings are written as UTF-8; bytes that are not valid UTF-8 (a file
/// name) pass through unchecked, as the rest of the CLI prints them.
class JsonOutput {
public:
    JsonOutput();
    rapidjson::PrettyWriter<rapidjson::StringBuffer>& writer() { return m_writer; }

    void begin_object() { m_writer.StartObject(); }
    void end_object() { m_writer.EndObject(); }
    void begin_array() { m_writer.StartArray(); }
    void end_array() { m_writer.EndArray(); }
    void key(std::string_view k) { m_writer.Key(k.data(), static_cast<rapidjson::SizeType>(k.size())); }
    void string(std::string_view v) { m_writer.String(v.data(), static_cast<rapidjson::SizeType>(v.size())); }
    void number(uint64_t v) { m_writer.Uint64(v); }
    void number(double v) { m_writer.Double(v); }
    void boolean(bool v) { m_writer.Bool(v); }
    void null() { m_writer.Null(); }
    void strings(const std::vector<std::string>& v);

    /// key + value in one call, for flat members.
    void member(std::string_view k, std::string_view v) { key(k), string(v); }
    void member(std::string_view k, const char* v) { key(k), string(v); }
    void member(std::string_view k, uint64_t v) { key(k), number(v); }
    void member(std::string_view k, double v) { key(k), number(v); }
    void member(std::string_view k, bool v) { key(k), boolean(v); }
    void member(std::string_view k, const std::vector<std::string>& v) { key(k), strings(v); }

    /// An output written: {"kind", "path", "bytes", "tensors" (when given), "files" (a folder's
    /// files with their bytes, when `path` is a folder)}.
    void output(std::string_view kind, const std::filesystem::path& path, std::optional<uint64_t> tensors = {});

    /// The finished document with a final newline. The document must be complete.
    std::string text() const;
    /// Prints text() to `out` (stdout for results).
    void print(std::ostream& out) const;

private:
    rapidjson::StringBuffer m_buffer;
    rapidjson::PrettyWriter<rapidjson::StringBuffer> m_writer;
};

} // namespace ckpt::cli

// SPDX-License-Identifier: Apache-2.0
// `--src-fmt cs-auto`: which Cerebras release wrote a checkpoint, as the Model Zoo decides it.
#include "formats/mdl/mdl.hpp"

#include <fmt/format.h>

#include <cctype>

namespace ckpt {

const char* const kCsAutoNoMetadataMessage =
    "Metadata not found in checkpoint. Automatic source format detection requires metadata to be present in "
    "the checkpoint, which may not be the case for checkpoints prior to 2.1 release or for checkpoints that were "
    "saved through scripts other than Cerebras ModelZoo. For such checkpoints please provide an explicit source "
    "version to convert from.";

namespace {

// packaging.version.parse(v) → "cs-{major}.{minor}"; accepts "2.3", "2.3.0", "v2.3.0rc1", "2.3.0+g1".
std::optional<std::string> release_of(std::string_view v)
{
    size_t i = 0;
    while (i < v.size() && std::isspace(static_cast<unsigned char>(v[i])))
        ++i;
    if (i < v.size() && (v[i] == 'v' || v[i] == 'V'))
        ++i;
    auto number = [&](uint64_t& out) {
        const size_t start = i;
        out = 0;
        while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i])) && i - start < 9)
            out = out * 10 + static_cast<uint64_t>(v[i++] - '0');
        return i > start;
    };
    uint64_t major = 0, minor = 0;
    if (!number(major))
        return std::nullopt;
    if (i < v.size() && v[i] == '.') {
        ++i;
        if (!number(minor))
            return std::nullopt;
    }
    return fmt::format("cs-{}.{}", major, minor);
}

} // namespace

std::optional<std::string> detect_cs_release(const Checkpoint& checkpoint, std::string* note)
{
    if (const Node* md = checkpoint.root.find("__metadata__"); md && md->is_sequence() && !md->items().empty()) {
        const Node& last = md->items().back();
        if (const Node* v = last.is_map() ? last.find("version") : nullptr; v && v->kind() == Node::Kind::string) {
            if (auto r = release_of(v->as_string()))
                return r;
            if (note)
                *note = fmt::format("__metadata__[-1].version '{}' is not a version number", v->as_string());
            return std::nullopt;
        }
    }
    for (const auto& [name, value] : checkpoint.metadata) {
        if (name != "__cstorch_version__")
            continue;
        if (auto r = release_of(value)) {
            if (note)
                *note = fmt::format("the checkpoint has no __metadata__ (the Model Zoo would stop here); the release "
                                    "{} was taken from the file's __cstorch_version__ attribute '{}'",
                                    *r, value);
            return r;
        }
    }
    return std::nullopt;
}

} // namespace ckpt

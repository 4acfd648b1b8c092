// SPDX-License-Identifier: Apache-2.0
// Reads sharded Hugging Face checkpoints through their index and writes them as the Model Zoo does.
#include "formats/safetensors/hf_index.hpp"

#include "core/atomic_output.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/mapped_file.hpp"
#include "formats/safetensors/json_text.hpp"

#include <limits>
#include <map>
#include <unordered_map>
#include <unordered_set>

namespace ckpt {

namespace fs = std::filesystem;

namespace {

/// An index lists one line per tensor; this is far beyond any real model and keeps a hostile file
/// from making us parse gigabytes of JSON.
constexpr uint64_t kMaxIndexSize = 256ull << 20;

struct IndexEntry {
    std::string name;
    std::string shard;
    TensorPtr tensor;
};

/// A shard name must stay inside the index's directory: relative, without `..` components.
void check_shard_name(const std::string& index, const std::string& tensor, const std::string& shard)
{
    if (shard.empty())
        throw_input("{}: weight_map gives tensor \"{}\" an empty shard file name", index, tensor);
    if (shard.find('\0') != std::string::npos)
        throw_input("{}: weight_map gives tensor \"{}\" a shard name containing a NUL byte", index, tensor);
    const fs::path p(shard);
    if (p.is_absolute() || p.has_root_path())
        throw_input("{}: shard \"{}\" (of tensor \"{}\") is an absolute path; shards must be files in "
                    "the index's directory",
                    index, shard, tensor);
    for (const auto& part : p)
        if (part == "..")
            throw_input("{}: shard \"{}\" (of tensor \"{}\") leaves the index's directory; shards must "
                        "be files in the index's directory",
                        index, shard, tensor);
}

/// True when `p` (resolved) lies inside `dir` (resolved): catches symlinks pointing elsewhere.
bool inside(const fs::path& dir, const fs::path& p)
{
    const fs::path rel = p.lexically_relative(dir);
    return !rel.empty() && *rel.begin() != "..";
}

} // namespace

bool is_hf_index(std::string_view head)
{
    size_t i = 0;
    while (i < head.size() && (head[i] == ' ' || head[i] == '\t' || head[i] == '\n' || head[i] == '\r'))
        ++i;
    if (i == head.size() || head[i] != '{')
        return false;
    return head.find("\"weight_map\"", i) != std::string_view::npos;
}

Checkpoint read_hf_index(const fs::path& index_json, const ShardOpener& open_shard)
{
    const std::string index = index_json.string();
    const auto mapped = MappedFile::open(index_json);
    if (mapped->size() > kMaxIndexSize)
        throw_input("{}: index of {} bytes is larger than the {} bytes any real index needs", index,
                    mapped->size(), kMaxIndexSize);
    const std::string_view text(reinterpret_cast<const char*>(mapped->data()), static_cast<size_t>(mapped->size()));
    rapidjson::Document doc;
    std::string error;
    if (!detail::parse_json_strict(text, doc, error))
        throw_input("{}: not a valid JSON index: {}", index, error);
    if (!doc.IsObject())
        throw_input("{}: index is a JSON {}, expected an object with a \"weight_map\"", index,
                    detail::json_kind(doc));
    std::unordered_set<std::string_view> top_keys;
    for (auto m = doc.MemberBegin(); m != doc.MemberEnd(); ++m)
        if (!top_keys.insert(detail::json_string(m->name)).second)
            throw_input("{}: key {} appears twice in the index", index, detail::json_excerpt(m->name));
    const auto wm = doc.FindMember("weight_map");
    if (wm == doc.MemberEnd())
        throw_input("{}: index has no \"weight_map\" (expected {{\"metadata\": ..., \"weight_map\": "
                    "{{tensor: shard file}}}})",
                    index);
    if (!wm->value.IsObject())
        throw_input("{}: \"weight_map\" is {}, expected an object of tensor name -> shard file", index,
                    detail::json_a_kind(wm->value));

    std::vector<IndexEntry> entries;
    entries.reserve(wm->value.MemberCount());
    std::unordered_map<std::string, size_t> position;
    std::map<std::string, std::vector<size_t>> by_shard; // sorted: deterministic open order
    for (auto m = wm->value.MemberBegin(); m != wm->value.MemberEnd(); ++m) {
        std::string name(detail::json_string(m->name));
        if (!m->value.IsString())
            throw_input("{}: weight_map entry for tensor \"{}\" is {}, expected a shard file name", index,
                        name, detail::json_excerpt(m->value));
        std::string shard(detail::json_string(m->value));
        check_shard_name(index, name, shard);
        // "./a.safetensors", ".//a.safetensors" and "a.safetensors" are one shard, opened once.
        shard = fs::path(shard).lexically_normal().string();
        if (!position.emplace(name, entries.size()).second)
            throw_input("{}: tensor \"{}\" is listed twice in weight_map", index, name);
        by_shard[shard].push_back(entries.size());
        entries.push_back({std::move(name), std::move(shard), nullptr});
    }

    fs::path dir = index_json.parent_path();
    if (dir.empty())
        dir = ".";
    std::error_code ec;
    const fs::path real_dir = fs::weakly_canonical(dir, ec);
    // Every shard is checked before any is opened, so a missing one fails fast.
    for (const auto& [shard, list] : by_shard) {
        const fs::path p = dir / shard;
        if (!fs::exists(p, ec))
            throw_input("{}: missing checkpoint shard {} (needed for tensor \"{}\"{})", index, p.string(),
                        entries[list.front()].name,
                        list.size() > 1 ? fmt::format(" and {} more", list.size() - 1) : std::string());
        const fs::path real = fs::canonical(p, ec);
        if (ec || !inside(real_dir, real))
            throw_input("{}: shard {} resolves to {}, outside the index's directory", index, p.string(),
                        ec ? std::string("an unreadable path") : real.string());
    }

    Checkpoint ck;
    ck.files.push_back(index_json);
    std::string shard_format;
    for (const auto& [shard, list] : by_shard) {
        const fs::path p = dir / shard;
        Checkpoint sc;
        try {
            sc = open_shard(p);
        } catch (const InputError& e) {
            throw InputError(fmt::format("{} (shard of {})", e.what(), index));
        }
        if (shard_format.empty()) {
            shard_format = sc.format;
            ck.metadata = sc.metadata;
        } else if (sc.format != shard_format) {
            throw_input("{}: shard {} is {} but earlier shards are {}; all shards must have one format",
                        index, p.string(), sc.format, shard_format);
        }
        ck.files.insert(ck.files.end(), sc.files.begin(), sc.files.end());
        ck.notes.insert(ck.notes.end(), sc.notes.begin(), sc.notes.end());
        if (!sc.root.is_map())
            throw_input("{}: shard {} holds a {}, expected a map of tensor names to tensors", index,
                        p.string(), Node::kind_name(sc.root.kind()));
        for (const auto& [key, value] : sc.root.entries()) {
            const std::string name = Node::key_text(key);
            const auto it = position.find(name);
            if (it == position.end()) {
                const std::string note = fmt::format(
                    "{}: tensor \"{}\" in shard {} is not listed in the index and was ignored", index,
                    name, shard);
                log::warning("{}", note);
                ck.notes.push_back(note);
                continue;
            }
            IndexEntry& e = entries[it->second];
            if (e.shard != shard)
                throw_input("{}: tensor \"{}\" is found in shard {} but the index places it in {}; a "
                            "tensor must be in exactly one shard",
                            index, name, shard, e.shard);
            if (e.tensor)
                throw_input("{}: tensor \"{}\" appears twice in shard {}", index, name, p.string());
            if (!value.is_tensor())
                throw_input("{}: \"{}\" in shard {} is a {}, expected a tensor", index, name, p.string(),
                            Node::kind_name(value.kind()));
            e.tensor = value.as_tensor();
        }
        for (size_t i : list)
            if (!entries[i].tensor)
                throw_input("{}: shard {} lacks tensor \"{}\" that the index places there", index,
                            p.string(), entries[i].name);
    }

    if (shard_format.empty()) // no shard at all: the index's own name says what it indexes
        shard_format = index_json.filename().string().find(".bin.") != std::string::npos ? "pytorch" : "safetensors";
    ck.format = shard_format + "-sharded";
    for (auto& e : entries) {
        ck.shard_of[e.name] = e.shard;
        ck.root.append(Node(e.name), Node(std::move(e.tensor)));
    }
    return ck;
}

uint64_t parse_size(std::string_view text)
{
    auto bad = [&]() -> UsageError {
        return UsageError(fmt::format(
            "size '{}' is not in a valid format. Use an integer followed by the unit, e.g., '10GB' "
            "(units: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB).",
            text));
    };
    size_t i = 0;
    uint64_t num = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        const auto digit = static_cast<uint64_t>(text[i] - '0');
        if (num > (std::numeric_limits<uint64_t>::max() - digit) / 10)
            throw bad();
        num = num * 10 + digit;
        ++i;
    }
    if (i == 0)
        throw bad();
    static const std::pair<std::string_view, uint64_t> kUnits[] = {
        {"", 1},
        {"B", 1},
        {"KB", 1000ull},
        {"MB", 1000ull * 1000},
        {"GB", 1000ull * 1000 * 1000},
        {"TB", 1000ull * 1000 * 1000 * 1000},
        {"KiB", 1ull << 10},
        {"MiB", 1ull << 20},
        {"GiB", 1ull << 30},
        {"TiB", 1ull << 40},
    };
    const std::string_view unit = text.substr(i);
    for (const auto& [name, factor] : kUnits) {
        if (unit != name)
            continue;
        if (num > std::numeric_limits<uint64_t>::max() / factor)
            throw bad();
        return num * factor;
    }
    throw bad();
}

uint64_t hf_shard_weight_size(const TensorInfo& info)
{
    const uint64_t numel = info.numel();
    if (info.dtype == DType::boolean)
        return numel / 8 + (numel % 8 != 0);
    const uint64_t esize = dtype_size(info.dtype);
    if (esize == 0)
        throw_input("tensor {} has no valid dtype", describe(info));
    if (numel > std::numeric_limits<uint64_t>::max() / esize)
        throw_input("tensor {} needs more than 2^64 bytes", describe(info));
    return numel * esize;
}

namespace {

/// Python's json.dumps({"metadata": {"total_size": N}, "weight_map": {...}}, indent=4).
std::string index_json_text(uint64_t total_size, const std::vector<std::pair<std::string, std::string>>& map)
{
    std::string out = fmt::format("{{\n    \"metadata\": {{\n        \"total_size\": {}\n    }},\n    \"weight_map\": ",
                                  total_size);
    if (map.empty()) {
        out += "{}\n}";
        return out;
    }
    out += "{\n";
    for (size_t i = 0; i < map.size(); ++i) {
        out += "        ";
        detail::append_json_string_python(out, map[i].first);
        out += ": ";
        detail::append_json_string_python(out, map[i].second);
        out += i + 1 < map.size() ? ",\n" : "\n";
    }
    out += "    }\n}";
    return out;
}

} // namespace

ShardedWriteReport write_hf_sharded(
    const fs::path& dir, const std::vector<NamedTensor>& tensors, const ShardOptions& options,
    const std::function<void(const fs::path&, const std::vector<NamedTensor>&)>& write_bin_shard,
    const WriteProgress& progress)
{
    ShardedWriteReport report;
    const std::string where = dir.string();
    if (!options.safetensors && !write_bin_shard)
        throw_input("{}: no writer for PyTorch .bin shards was given", where);

    // Safetensors cannot hold one storage under two names: drop later aliases before sharding so
    // the index lists only what the shards hold.
    std::vector<const NamedTensor*> list;
    list.reserve(tensors.size());
    std::unordered_set<std::string_view> names;
    std::unordered_map<const TensorData*, const std::string*> first_name;
    for (const auto& nt : tensors) {
        if (!names.insert(nt.name).second)
            throw_input("{}: tensor name \"{}\" given twice", where, nt.name);
        if (!nt.tensor)
            throw_input("{}: tensor \"{}\" has no data", where, nt.name);
        if (!detail::is_valid_utf8(nt.name))
            throw_input("{}: tensor name \"{}\" is not valid UTF-8", where, nt.name);
        if (options.safetensors) {
            auto [it, fresh] = first_name.emplace(nt.tensor.get(), &nt.name);
            if (!fresh) {
                report.dropped_aliases.push_back({nt.name, *it->second});
                continue;
            }
        }
        list.push_back(&nt);
    }

    // The Model Zoo's rule: a tensor that would take the current shard over the limit opens a new
    // one (so shard 1 stays empty when the very first tensor alone exceeds the limit).
    std::vector<std::vector<size_t>> shards(1);
    uint64_t current = 0;
    for (size_t i = 0; i < list.size(); ++i) {
        uint64_t w = 0;
        try {
            w = hf_shard_weight_size(list[i]->tensor->info());
        } catch (const InputError& e) {
            throw_input("{}: tensor \"{}\": {}", where, list[i]->name, e.what());
        }
        if (current > options.max_shard_size || w > options.max_shard_size - current) {
            shards.emplace_back();
            current = 0;
        }
        if (report.total_size > std::numeric_limits<uint64_t>::max() - w)
            throw_input("{}: tensors add up to more than 2^64 bytes", where);
        shards.back().push_back(i);
        current += w;
        report.total_size += w;
    }

    const size_t count = shards.size();
    const std::string prefix = options.safetensors ? "" : "pytorch_";
    const std::string ext = options.safetensors ? "safetensors" : "bin";
    std::vector<std::pair<std::string, std::string>> weight_map;
    weight_map.reserve(list.size());
    for (size_t s = 0; s < count; ++s) {
        std::string name = fmt::format("{}model-{:05d}-of-{:05d}.{}", prefix, s + 1, count, ext);
        std::vector<NamedTensor> shard;
        shard.reserve(shards[s].size());
        for (size_t i : shards[s]) {
            shard.push_back(*list[i]);
            weight_map.emplace_back(list[i]->name, name);
        }
        const fs::path path = dir / name;
        if (options.safetensors) {
            if (options.library_order)
                shard = safetensors_library_order(std::move(shard));
            write_safetensors(path, shard, {{"format", "pt"}}, progress);
        } else {
            write_bin_shard(path, shard);
        }
        report.shard_files.push_back(std::move(name));
    }

    report.index_file = options.safetensors ? "model.safetensors.index.json" : "pytorch_model.bin.index.json";
    FileWriter out(dir / report.index_file);
    out.write(index_json_text(report.total_size, weight_map));
    out.close();
    return report;
}

} // namespace ckpt

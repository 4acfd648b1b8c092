// SPDX-License-Identifier: Apache-2.0
// The cs-2.5+ `.mdl` layout, built from the published description (no real cs-2.5 file was
// available to verify it).
//
// What follows the description (modelzoo-converter.md §3.3): an HDF5 file; root attribute
// `__spec__` = JSON `[structure, treespec_dumps(spec)]` with "*" (or null for None) at the leaves;
// one JSON root attribute `<key>.__metadata__` per flattened leaf key holding `__spec__`,
// `__objects__` (the datasets holding data) and `<key>.__metadata__` (the serializer's metadata,
// e.g. `{"__TYPE__": "TorchTensorSerializer", "__TORCH__": true, "shapes": [[…]], "dtypes":
// ["torch.bfloat16"]}` or `{"__TYPE__": "StringSerializer", "string_value": …}`); tied tensors
// stored once, aliases as `LinkedObject`; `__SUCCESS__ = True` written last; LZ4 chunks.
// What is ckptconv's own choice (unverified against cstorch 2.5): the serializer names for
// Python scalars ("ScalarSerializer", `value`), None ("NoneSerializer") and other objects
// ("ObjectSerializer", `object_value` = dill hex); `LinkedObject`'s `key` field; bf16 stored as
// I16LE with `is_bfloat16` as in layout 0.4; `__version__` 0.5; the per-key attribute named by
// the URL-quoted key. The reader is lenient about these (it also accepts the unquoted key and
// any `*.__metadata__` entry inside the per-key JSON).
#include "formats/mdl/mdl_layout5.hpp"

#include "core/error.hpp"
#include "core/log.hpp"
#include "formats/mdl/h5_handle.hpp"
#include "formats/mdl/mdl_names.hpp"
#include "formats/mdl/mdl_reader.hpp"
#include "formats/mdl/mdl_writer.hpp"
#include "formats/mdl/tree_spec.hpp"

#include <map>
#include <unordered_map>

namespace ckpt::detail {

namespace {

struct TorchDTypeName {
    DType dtype;
    const char* name;
};
constexpr TorchDTypeName kTorchNames[] = {
    {DType::f64, "torch.float64"},  {DType::f32, "torch.float32"},   {DType::f16, "torch.float16"},
    {DType::bf16, "torch.bfloat16"}, {DType::i64, "torch.int64"},     {DType::i32, "torch.int32"},
    {DType::i16, "torch.int16"},    {DType::i8, "torch.int8"},       {DType::u64, "torch.uint64"},
    {DType::u32, "torch.uint32"},   {DType::u16, "torch.uint16"},    {DType::u8, "torch.uint8"},
    {DType::boolean, "torch.bool"}, {DType::c64, "torch.complex64"}, {DType::c128, "torch.complex128"},
};

const char* torch_dtype_name(DType d)
{
    for (const auto& n : kTorchNames)
        if (n.dtype == d)
            return n.name;
    return "unknown";
}

const Node* serializer_metadata(const Node& meta, const std::string& key, const std::string& name)
{
    if (!meta.is_map())
        return nullptr;
    if (const Node* n = meta.find(name + ".__metadata__"))
        return n;
    if (const Node* n = meta.find(key + ".__metadata__"))
        return n;
    for (const auto& [k, v] : meta.entries()) {
        const std::string t = Node::key_text(k);
        if (t.size() > 13 && t.compare(t.size() - 13, 13, ".__metadata__") == 0 && v.is_map())
            return &v;
    }
    return meta.find("__TYPE__") ? &meta : nullptr;
}

std::string text_field(const Node& m, std::string_view field, const std::string& where)
{
    const Node* v = m.find(field);
    if (!v || v->kind() != Node::Kind::string)
        throw_input("{}: metadata has no string '{}'", where, field);
    return v->as_string();
}

Node structure_of(const Node& value)
{
    switch (value.kind()) {
    case Node::Kind::map: {
        Node m = Node::map();
        for (const auto& [k, v] : value.entries())
            m.set(Node::key_text(k), structure_of(v));
        return m;
    }
    case Node::Kind::list:
    case Node::Kind::tuple: {
        Node l = Node::list();
        for (const auto& v : value.items())
            l.push_back(structure_of(v));
        return l;
    }
    case Node::Kind::null: return Node();
    default: return Node("*");
    }
}

} // namespace

Node read_layout5(const Reader& r, const std::string& spec_json, Checkpoint& cp)
{
    const std::string& fname = r.name();
    const std::string where = fname + ": __spec__";
    const Node top = parse_json(spec_json, where);
    Node dumps;
    if (top.is_sequence() && top.items().size() == 2 && top.items()[0].kind() != Node::Kind::integer) {
        const Node& second = top.items()[1];
        dumps = second.kind() == Node::Kind::string ? parse_json(second.as_string(), where) : second;
    } else {
        dumps = top;
    }
    const TreeSpecNode spec = spec_from_json(dumps, where);
    if (spec.type == TreeSpecNode::Type::leaf)
        throw_input("{}: __spec__ describes a single value, not a state dict", fname);
    const std::vector<std::string> keys = leaf_keys(spec);
    std::vector<Node> leaves(keys.size());
    std::unordered_map<std::string, size_t> index;
    std::vector<std::pair<size_t, std::string>> links;
    size_t missing = 0;
    for (size_t i = 0; i < keys.size(); ++i) {
        const std::string& key = keys[i];
        index.emplace(key, i);
        const std::string name = url_quote(key);
        std::string attr = name + ".__metadata__";
        if (!h5_has_attr(r.id(), attr.c_str()))
            attr = key + ".__metadata__";
        const std::string kwhere = fmt::format("{}: key '{}'", fname, key);
        const auto text = h5_read_string_attr(r.id(), attr.c_str(), kwhere);
        if (!text) {
            log::warning("{}: key '{}' is in the checkpoint's spec but has no metadata; it is read as None", fname,
                         key);
            ++missing;
            continue;
        }
        const Node meta = parse_json(*text, kwhere + " metadata");
        const Node* ser = serializer_metadata(meta, key, name);
        if (!ser)
            throw_input("{}: metadata names no serializer ('{}.__metadata__')", kwhere, name);
        const std::string type = text_field(*ser, "__TYPE__", kwhere);
        if (type == "TorchTensorSerializer") {
            std::string dname = name;
            if (const Node* objs = meta.find("__objects__"); objs && objs->is_sequence() && !objs->items().empty() &&
                                                             objs->items()[0].kind() == Node::Kind::string)
                dname = objs->items()[0].as_string();
            H5Id d = r.open_dataset(dname, key);
            bool bf16 = h5_read_int_attr(d.get(), "is_bfloat16", kwhere).value_or(0) != 0;
            if (const Node* dt = ser->find("dtypes"); dt && dt->is_sequence() && !dt->items().empty() &&
                                                       dt->items()[0].kind() == Node::Kind::string)
                bf16 = bf16 || dt->items()[0].as_string() == "torch.bfloat16";
            TensorPtr t = r.tensor(d.get(), dname, key, bf16);
            if (const Node* sh = ser->find("shapes"); sh && sh->is_sequence() && !sh->items().empty() &&
                                                       sh->items()[0].is_sequence()) {
                std::vector<int64_t> want;
                for (const auto& x : sh->items()[0].items())
                    want.push_back(x.kind() == Node::Kind::integer ? x.as_int() : -1);
                if (want != t->info().shape)
                    throw_input("{}: metadata says shape [{}] but dataset '{}' is {}", kwhere, fmt::join(want, ", "),
                                dname, describe(t->info()));
            }
            leaves[i] = Node(std::move(t));
        } else if (type == "LinkedObject") {
            links.emplace_back(i, text_field(*ser, "key", kwhere));
        } else if (type == "ScalarSerializer") {
            const Node* v = ser->find("value");
            if (!v || !v->is_scalar())
                throw_input("{}: ScalarSerializer metadata has no bool/int/float 'value'", kwhere);
            leaves[i] = *v;
        } else if (type == "StringSerializer") {
            leaves[i] = Node(text_field(*ser, "string_value", kwhere));
        } else if (type == "NoneSerializer") {
            leaves[i] = Node();
        } else if (type == "ObjectSerializer") {
            leaves[i] = r.object(text_field(*ser, "object_value", kwhere), kwhere);
        } else {
            throw_input("{}: unknown serializer '{}' (ckptconv knows TorchTensorSerializer, LinkedObject, "
                        "ScalarSerializer, StringSerializer, NoneSerializer, ObjectSerializer)",
                        kwhere, type);
        }
    }
    if (!keys.empty() && missing == keys.size())
        throw_input("{}: __spec__ names {} keys (e.g. '{}') but none of them has metadata in the file", fname,
                    keys.size(), keys.front());
    for (const auto& [i, target] : links) {
        auto it = index.find(target);
        if (it == index.end() || !leaves[it->second].is_tensor())
            throw_input("{}: key '{}' links to '{}', which is not a stored tensor of this file", fname, keys[i],
                        target);
        leaves[i] = leaves[it->second]; // the same TensorPtr: the tie survives
    }
    if (!h5_has_attr(r.id(), "__SUCCESS__")) {
        log::warning("{}: no __SUCCESS__ attribute: cstorch may not have finished writing this checkpoint", fname);
        cp.notes.push_back(fmt::format("{} has no __SUCCESS__ marker (possibly incomplete)", fname));
    }
    return unflatten(spec, leaves);
}

void write_layout5(const std::filesystem::path& path, const Node& root, const MdlWriteOptions& options)
{
    const TreeSpecNode spec = spec_of(root);
    const std::vector<std::string> keys = leaf_keys(spec);
    std::vector<const Node*> leaves;
    flatten_leaves(root, leaves);
    Writer w(path, options.compress);
    const std::string leaf_spec = spec_to_json(TreeSpecNode{});
    std::map<const TensorData*, std::string> stored;
    std::map<std::string, std::string> names;
    for (size_t i = 0; i < keys.size(); ++i) {
        const std::string& key = keys[i];
        const Node& leaf = *leaves[i];
        const std::string name = url_quote(key);
        if (!names.emplace(name, key).second)
            throw_input("{}: two keys of the checkpoint flatten to the same name '{}'", w.name(), key);
        const std::string where = fmt::format("{}: key '{}'", w.name(), key);
        Node ser = Node::map();
        Node objects = Node::list();
        switch (leaf_kind(leaf)) {
        case LeafKind::tensor: {
            const TensorPtr& t = leaf.as_tensor();
            if (auto it = stored.find(t.get()); it != stored.end()) {
                ser.set("__TYPE__", "LinkedObject");
                ser.set("key", it->second);
                break;
            }
            stored.emplace(t.get(), key);
            H5Id d = w.tensor(name, *t, key);
            if (t->info().dtype == DType::bf16)
                h5_write_bool_attr(d.get(), "is_bfloat16", true);
            Node shape = Node::list();
            for (int64_t s : t->info().shape)
                shape.push_back(Node(s));
            Node shapes = Node::list();
            shapes.push_back(std::move(shape));
            Node dtypes = Node::list();
            dtypes.push_back(torch_dtype_name(t->info().dtype));
            ser.set("__TYPE__", "TorchTensorSerializer");
            ser.set("__TORCH__", true);
            ser.set("shapes", std::move(shapes));
            ser.set("dtypes", std::move(dtypes));
            ser.set("compressed", options.compress);
            objects.push_back(name);
            break;
        }
        case LeafKind::scalar:
            ser.set("__TYPE__", "ScalarSerializer");
            ser.set("value", leaf);
            break;
        case LeafKind::string:
            ser.set("__TYPE__", "StringSerializer");
            ser.set("string_value", leaf.as_string());
            break;
        case LeafKind::none: ser.set("__TYPE__", "NoneSerializer"); break;
        case LeafKind::object:
            ser.set("__TYPE__", "ObjectSerializer");
            ser.set("object_value", object_hex(leaf, where));
            break;
        }
        Node meta = Node::map();
        meta.set("__spec__", leaf_spec);
        meta.set("__objects__", std::move(objects));
        meta.set(name + ".__metadata__", std::move(ser));
        h5_write_string_attr(w.id(), (name + ".__metadata__").c_str(), to_json(meta));
    }
    Node top = Node::list();
    top.push_back(structure_of(root));
    top.push_back(spec_to_json(spec));
    h5_write_string_attr(w.id(), "__spec__", to_json(top));
    h5_write_double_attr(w.id(), "__version__", 0.5);
    h5_write_string_attr(w.id(), "__cstorch_version__", options.cstorch_version);
    h5_write_bool_attr(w.id(), "__SUCCESS__", true); // last: marks a complete file
    w.close();
}

} // namespace ckpt::detail

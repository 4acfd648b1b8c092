// SPDX-License-Identifier: Apache-2.0
// Small literal config values for plugin tables (defaults, allowed values), written into host
// config nodes and formatted the way Python's str() shows them in the Model Zoo's messages.
#pragma once

#include <ckptconv/cpp/config.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace ckpt::sdk {

/// A JSON/YAML-like literal: null, bool, int, float, string, list or map (ordered).
class Value {
public:
    enum class Kind { null, boolean, integer, floating, string, list, map };

    Value() = default;
    Value(std::nullptr_t) {}
    Value(bool v) : m_kind(Kind::boolean), m_bool(v) {}
    Value(int v) : m_kind(Kind::integer), m_int(v) {}
    Value(int64_t v) : m_kind(Kind::integer), m_int(v) {}
    Value(double v) : m_kind(Kind::floating), m_float(v) {}
    Value(const char* v) : m_kind(Kind::string), m_string(v) {}
    Value(std::string v) : m_kind(Kind::string), m_string(std::move(v)) {}

    static Value list(std::vector<Value> items)
    {
        Value v;
        v.m_kind = Kind::list;
        v.m_items = std::move(items);
        return v;
    }
    static Value map(std::vector<std::pair<std::string, Value>> entries)
    {
        Value v;
        v.m_kind = Kind::map;
        v.m_entries = std::move(entries);
        return v;
    }

    Kind kind() const { return m_kind; }
    const std::vector<std::pair<std::string, Value>>& entries() const { return m_entries; }

    /// Writes this value into `node` (replacing what was there).
    void write(const Node& node) const
    {
        switch (m_kind) {
        case Kind::null: node.set_null(); break;
        case Kind::boolean: node.set(m_bool); break;
        case Kind::integer: node.set(m_int); break;
        case Kind::floating: node.set(m_float); break;
        case Kind::string: node.set(std::string_view(m_string)); break;
        case Kind::list:
            node.make_list();
            for (const auto& i : m_items)
                i.write(node.append());
            break;
        case Kind::map:
            node.make_map();
            for (const auto& [k, v] : m_entries)
                v.write(node.entry(k));
            break;
        }
    }

    /// Reads any config node (absent reads as null).
    static Value read(const ConstNode& n)
    {
        switch (n.kind()) {
        case CKPT_NODE_BOOL: return Value(n.as_bool());
        case CKPT_NODE_INT: return Value(n.as_int());
        case CKPT_NODE_FLOAT: return Value(n.as_float());
        case CKPT_NODE_STRING: return Value(n.as_string());
        case CKPT_NODE_LIST: {
            std::vector<Value> items;
            for (size_t i = 0; i < n.size(); ++i)
                items.push_back(read(n.at(i)));
            return list(std::move(items));
        }
        case CKPT_NODE_MAP: {
            std::vector<std::pair<std::string, Value>> es;
            for (size_t i = 0; i < n.size(); ++i)
                es.emplace_back(n.key_at(i), read(n.value_at(i)));
            return map(std::move(es));
        }
        default: return Value();
        }
    }

    /// Python equality semantics for the kinds configs use (1 == 1.0 == True).
    bool operator==(const Value& o) const
    {
        if (numeric() && o.numeric())
            return as_double() == o.as_double();
        if (m_kind != o.m_kind)
            return false;
        switch (m_kind) {
        case Kind::null: return true;
        case Kind::string: return m_string == o.m_string;
        case Kind::list: return m_items == o.m_items;
        case Kind::map: return m_entries == o.m_entries;
        default: return false;
        }
    }
    bool operator!=(const Value& o) const { return !(*this == o); }

    /// Python's str() of the value: True, None, 0.02, 1e-05, gpt2, ['a', 'b'], {'k': 1}.
    std::string str() const { return format(false); }

private:
    bool numeric() const { return m_kind == Kind::boolean || m_kind == Kind::integer || m_kind == Kind::floating; }
    double as_double() const
    {
        return m_kind == Kind::boolean ? (m_bool ? 1.0 : 0.0)
               : m_kind == Kind::integer ? static_cast<double>(m_int)
                                         : m_float;
    }

    /// Python's repr(float): the shortest digits that round-trip, in fixed notation when the
    /// decimal exponent is in [-4, 16), else as d.ddde±XX.
    static std::string python_float(double v)
    {
        if (std::isnan(v))
            return "nan";
        if (std::isinf(v))
            return v > 0 ? "inf" : "-inf";
        if (v == 0)
            return std::signbit(v) ? "-0.0" : "0.0";
        char buf[64];
        int prec = 0;
        for (; prec < 17; ++prec) {
            std::snprintf(buf, sizeof buf, "%.*e", prec, v);
            if (std::strtod(buf, nullptr) == v)
                break;
        }
        std::string sci(buf); // [-]d[.ddd]e[+-]XX
        const bool neg = sci[0] == '-';
        const size_t epos = sci.find('e');
        std::string digits;
        for (size_t i = neg ? 1 : 0; i < epos; ++i)
            if (sci[i] != '.')
                digits += sci[i];
        const int exp10 = std::atoi(sci.c_str() + epos + 1);
        std::string out = neg ? "-" : "";
        if (exp10 >= -4 && exp10 < 16) {
            if (exp10 < 0) {
                out += "0." + std::string(static_cast<size_t>(-exp10 - 1), '0') + digits;
            } else if (static_cast<size_t>(exp10) + 1 >= digits.size()) {
                out += digits + std::string(static_cast<size_t>(exp10) + 1 - digits.size(), '0') + ".0";
            } else {
                out += digits.substr(0, static_cast<size_t>(exp10) + 1) + "." +
                       digits.substr(static_cast<size_t>(exp10) + 1);
            }
            return out;
        }
        out += digits.substr(0, 1);
        if (digits.size() > 1)
            out += "." + digits.substr(1);
        char eb[16];
        std::snprintf(eb, sizeof eb, "e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
        return out + eb;
    }

    std::string format(bool nested) const
    {
        switch (m_kind) {
        case Kind::null: return "None";
        case Kind::boolean: return m_bool ? "True" : "False";
        case Kind::integer: return std::to_string(m_int);
        case Kind::floating: return python_float(m_float);
        case Kind::string: return nested ? "'" + m_string + "'" : m_string;
        case Kind::list: {
            std::string s = "[";
            for (size_t i = 0; i < m_items.size(); ++i)
                s += (i ? ", " : "") + m_items[i].format(true);
            return s + "]";
        }
        case Kind::map: {
            std::string s = "{";
            for (size_t i = 0; i < m_entries.size(); ++i)
                s += (i ? ", '" : "'") + m_entries[i].first + "': " + m_entries[i].second.format(true);
            return s + "}";
        }
        }
        return "";
    }

    Kind m_kind = Kind::null;
    bool m_bool = false;
    int64_t m_int = 0;
    double m_float = 0;
    std::string m_string;
    std::vector<Value> m_items;
    std::vector<std::pair<std::string, Value>> m_entries;
};

} // namespace ckpt::sdk

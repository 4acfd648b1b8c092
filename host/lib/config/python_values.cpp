// SPDX-License-Identifier: Apache-2.0
// Python's view of config values (truthiness, str()).
#include "config/python_values.hpp"

#include "config/python_float.hpp"

#include <fmt/format.h>

namespace ckpt {

bool python_truthy(const Node& v)
{
    switch (v.kind()) {
    case Node::Kind::null: return false;
    case Node::Kind::boolean: return v.as_bool();
    case Node::Kind::integer: return v.as_int() != 0;
    case Node::Kind::floating: return v.as_float() != 0.0;
    case Node::Kind::string:
    case Node::Kind::bytes: return !v.as_string().empty();
    case Node::Kind::list:
    case Node::Kind::tuple:
    case Node::Kind::map: return v.size() != 0;
    default: return true;
    }
}

std::string python_str(const Node& v)
{
    switch (v.kind()) {
    case Node::Kind::null: return "None";
    case Node::Kind::boolean: return v.as_bool() ? "True" : "False";
    case Node::Kind::integer: return std::to_string(v.as_int());
    case Node::Kind::floating: return python_float_repr(v.as_float());
    case Node::Kind::string: return v.as_string();
    default: return fmt::format("<{}>", Node::kind_name(v.kind()));
    }
}

std::string ascii_lower(std::string s)
{
    for (char& ch : s)
        if (ch >= 'A' && ch <= 'Z')
            ch = char(ch - 'A' + 'a');
    return s;
}

} // namespace ckpt

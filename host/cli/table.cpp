// SPDX-License-Identifier: Apache-2.0
// Text tables in the layout of Python tabulate's "fancy_grid".
#include "table.hpp"

#include <algorithm>
#include <sstream>

namespace ckpt::cli {

namespace {

std::vector<std::string> lines_of(const std::string& cell)
{
    std::vector<std::string> out;
    std::string line;
    std::istringstream in(cell);
    while (std::getline(in, line))
        out.push_back(line);
    if (out.empty())
        out.emplace_back();
    return out;
}

/// Display width of UTF-8 text (one column per code point).
size_t width_of(const std::string& s)
{
    size_t n = 0;
    for (unsigned char c : s)
        if ((c & 0xC0) != 0x80)
            ++n;
    return n;
}

std::string repeat(const char* unit, size_t n)
{
    std::string out;
    for (size_t i = 0; i < n; ++i)
        out += unit;
    return out;
}

std::string rule(const std::vector<size_t>& widths, const char* left, const char* fill, const char* mid,
                 const char* right)
{
    std::string out = left;
    for (size_t i = 0; i < widths.size(); ++i) {
        out += repeat(fill, widths[i] + 2);
        out += i + 1 < widths.size() ? mid : right;
    }
    return out + "\n";
}

std::string row_text(const std::vector<size_t>& widths, const std::vector<std::string>& cells)
{
    std::vector<std::vector<std::string>> split;
    size_t height = 1;
    for (const auto& c : cells) {
        split.push_back(lines_of(c));
        height = std::max(height, split.back().size());
    }
    std::string out;
    for (size_t l = 0; l < height; ++l) {
        out += "│";
        for (size_t i = 0; i < widths.size(); ++i) {
            std::string text = l < split[i].size() ? split[i][l] : "";
            out += " " + text + std::string(widths[i] - width_of(text), ' ') + " │";
        }
        out += "\n";
    }
    return out;
}

} // namespace

std::string fancy_grid(const std::vector<std::string>& headers, const std::vector<std::vector<std::string>>& rows)
{
    std::vector<size_t> widths;
    for (const auto& h : headers)
        widths.push_back(width_of(h) + 2);
    for (const auto& r : rows)
        for (size_t i = 0; i < widths.size() && i < r.size(); ++i)
            for (const auto& l : lines_of(r[i]))
                widths[i] = std::max(widths[i], width_of(l));
    std::string out = rule(widths, "╒", "═", "╤", "╕");
    out += row_text(widths, headers);
    out += rule(widths, "╞", "═", "╪", "╡");
    for (size_t r = 0; r < rows.size(); ++r) {
        std::vector<std::string> cells = rows[r];
        cells.resize(widths.size());
        out += row_text(widths, cells);
        if (r + 1 < rows.size())
            out += rule(widths, "├", "─", "┼", "┤");
    }
    out += rule(widths, "╘", "═", "╧", "╛");
    return out;
}

std::string wrap(const std::string& text, size_t width)
{
    std::istringstream in(text);
    std::string word, line, out;
    while (in >> word) {
        if (!line.empty() && width_of(line) + 1 + width_of(word) > width) {
            out += line + "\n";
            line.clear();
        }
        line += (line.empty() ? "" : " ") + word;
    }
    out += line;
    return out;
}

} // namespace ckpt::cli

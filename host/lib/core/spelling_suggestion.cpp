// SPDX-License-Identifier: Apache-2.0
// "Did you mean ...?": the known word closest to a misspelt one (model names, formats, flags).
#include "core/spelling_suggestion.hpp"

#include <algorithm>
#include <cctype>

namespace ckpt {

namespace {
char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }
} // namespace

size_t edit_distance(std::string_view a, std::string_view b)
{
    // Optimal string alignment: Levenshtein plus adjacent swaps, which is the commonest typo
    // ("gtp2"). Three rows suffice.
    const size_t n = a.size(), m = b.size();
    std::vector<size_t> prev2(m + 1), prev(m + 1), row(m + 1);
    for (size_t j = 0; j <= m; ++j)
        prev[j] = j;
    for (size_t i = 1; i <= n; ++i) {
        row[0] = i;
        for (size_t j = 1; j <= m; ++j) {
            const size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
            row[j] = std::min({prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost});
            if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) && lower(a[i - 2]) == lower(b[j - 1]))
                row[j] = std::min(row[j], prev2[j - 2] + 1);
        }
        std::swap(prev2, prev);
        std::swap(prev, row);
    }
    return prev[m];
}

std::optional<std::string> closest_spelling(std::string_view word, const std::vector<std::string>& candidates)
{
    const size_t limit = std::clamp<size_t>(word.size() / 3, 1, 3);
    std::optional<std::string> best;
    size_t best_distance = limit + 1;
    for (const auto& c : candidates) {
        const size_t d = edit_distance(word, c);
        if (d == 0)
            return std::nullopt;
        if (d < best_distance) {
            best_distance = d;
            best = c;
        }
    }
    return best;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates)
{
    auto best = closest_spelling(word, candidates);
    return best ? " Did you mean '" + *best + "'?" : std::string();
}

} // namespace ckpt

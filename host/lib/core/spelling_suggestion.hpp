// SPDX-License-Identifier: Apache-2.0
// "Did you mean ...?": the known word closest to a misspelt one (model names, formats, flags).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ckpt {

/// Edits (insertions, deletions, substitutions, swaps of two neighbours) between `a` and `b`,
/// ignoring ASCII case.
size_t edit_distance(std::string_view a, std::string_view b);

/// The candidate closest to `word`, when it is close enough to be a slip of the keyboard: at
/// most a third of the word's length in edits (at least one, at most three). Among equally close
/// candidates the first wins. Nullopt when none is close or `word` is itself a candidate.
std::optional<std::string> closest_spelling(std::string_view word, const std::vector<std::string>& candidates);

/// " Did you mean 'x'?" for `word`, or "" when nothing is close: appended to usage errors.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

} // namespace ckpt

// SPDX-License-Identifier: Apache-2.0
// One entry point for config files of either kind: JSON (Hugging Face) or YAML (Cerebras).
#include "config/config_file.hpp"

#include "config/config_text.hpp"
#include "config/json_config.hpp"
#include "config/yaml_config.hpp"

#include <algorithm>
#include <cctype>
#include <string>

namespace ckpt {

ConfigFormat detect_config_format(const std::filesystem::path& path, std::string_view text)
{
    std::string ext = path.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    if (ext == ".json")
        return ConfigFormat::json;
    if (ext == ".yaml" || ext == ".yml")
        return ConfigFormat::yaml;
    if (text.substr(0, 3) == "\xEF\xBB\xBF")
        text.remove_prefix(3);
    const size_t first = text.find_first_not_of(" \t\r\n");
    if (first != std::string_view::npos && text[first] == '{')
        return ConfigFormat::json;
    return ConfigFormat::yaml;
}

Node read_config(const std::filesystem::path& path, ConfigFormat* format)
{
    const std::string text = detail::read_config_text(path);
    const ConfigFormat f = detect_config_format(path, text);
    if (format)
        *format = f;
    if (f == ConfigFormat::json)
        return parse_json_config(text, path.string());
    return parse_yaml_config(text, path.string());
}

void write_config(const std::filesystem::path& path, const Node& config, bool yaml)
{
    if (yaml)
        write_yaml_config(path, config, kModelZooYaml);
    else
        write_json_config(path, config, kModelZooJson);
}

} // namespace ckpt

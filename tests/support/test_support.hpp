// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the tests: data paths, temporary directories, running the real CLI.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace ckpt::test {

/// The model families with a tiny checkpoint in tests/data/hf/<family>/{bin,safetensors}.
inline constexpr const char* kFixtureFamilies[] = {"bert", "bloom", "codegen", "falcon", "gpt2", "gpt_neox",
                                                   "gptj", "llama", "mistral", "mpt", "roberta", "t5"};

/// tests/data/<rel>
std::filesystem::path data_path(const std::string& rel);

/// A fresh directory removed (with everything in it) at scope exit.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return m_path; }
    std::filesystem::path operator/(const std::string& rel) const { return m_path / rel; }

private:
    std::filesystem::path m_path;
};

/// Sets an environment variable for one scope and restores what was there (the switches
/// CKPTCONV_MDL_LZ4_DIRECT and CKPTCONV_COPY_FILE_RANGE are read on every use).
class ScopedEnv {
public:
    ScopedEnv(std::string name, const std::string& value);
    ~ScopedEnv();
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    std::string m_name;
    std::optional<std::string> m_old;
};

struct RunResult {
    int exit_code = -1; // -1 when killed by a signal (then `signal` is set)
    int signal = 0;
    std::string out;
    std::string err;
};

/// Runs the built `ckptconv` with `args` (no shell), capturing stdout and stderr.
/// `env` entries ("NAME=value") are added to the environment; CKPT_PLUGIN_PATH and
/// CKPT_PLUGIN_DEFAULT_DIR are cleared first so the developer's environment cannot leak in.
RunResult run_cli(const std::vector<std::string>& args, const std::vector<std::string>& env = {});

/// The same for any program (an absolute path), e.g. a shell running the completion script.
RunResult run_program(const std::string& exe, const std::vector<std::string>& args,
                      const std::vector<std::string>& env = {});

/// The JSON string escaping of `s` without the quotes (for searching JSON output).
std::string json_escape(const std::string& s);

/// Reads a whole file.
std::string read_file(const std::filesystem::path& p);
void write_file(const std::filesystem::path& p, const std::string& bytes);

/// Every file below `dir` (relative paths, sorted) — to prove no partial output was left.
std::vector<std::string> list_tree(const std::filesystem::path& dir);

} // namespace ckpt::test

// SPDX-License-Identifier: Apache-2.0
// Pickle memory bombs: millions of tiny objects, flat or nested, are refused after using memory
// in proportion to the pickle's size, not gigabytes. Bombs are generated here, not committed.
#include "core/error.hpp"
#include "formats/torch/pickle.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace ckpt {
namespace {

// PROTO 2, `lists` EMPTY_LISTs, `appends` APPENDs (each nests the top list into the one below),
// STOP.
std::string list_bomb(size_t lists, size_t appends)
{
    std::string p = "\x80\x02";
    p.append(lists, ']');
    p.append(appends, 'a');
    p += '.';
    return p;
}

struct ChildRun {
    bool refused = false;  // unpickle threw InputError
    std::string message;   // its first 400 bytes
    long max_rss_kib = 0;  // the child's peak resident memory
    double seconds = 0;
};

// Unpickles in a forked child, so its peak memory is its own (ru_maxrss of the child).
ChildRun unpickle_in_child(const std::string& bytes)
{
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    const auto t0 = std::chrono::steady_clock::now();
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::close(fds[0]);
        std::string msg;
        int code = 1;
        try {
            (void)pickle::unpickle(bytes, "bomb.pkl");
        } catch (const InputError& e) {
            msg = std::string(e.what()).substr(0, 400);
            code = 0;
        } catch (...) {
            code = 2;
        }
        (void)!::write(fds[1], msg.data(), msg.size());
        ::_exit(code);
    }
    ::close(fds[1]);
    ChildRun r;
    char buf[512];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
        r.message.append(buf, static_cast<size_t>(n));
    ::close(fds[0]);
    int status = 0;
    struct rusage ru{};
    EXPECT_EQ(::wait4(pid, &status, 0, &ru), pid);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.refused = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    r.max_rss_kib = ru.ru_maxrss;
    return r;
}

TEST(PickleBomb, NestedListsAreRefusedWithinASmallMultipleOfTheirSize)
{
    // 40 MB: 20 million empty lists, then 20 million appends nesting them. Before the budget it
    // took 5 GB and 16 s to reach the depth check.
    const std::string bomb = list_bomb(20'000'000, 20'000'000);
    const ChildRun r = unpickle_in_child(bomb);
    EXPECT_TRUE(r.refused) << r.message;
    EXPECT_NE(r.message.find("memory bomb"), std::string::npos) << r.message;
    // 64 MiB + 16 bytes per pickle byte is what the machine may hold (~700 MB here); the bound
    // leaves room for the pickle itself, the allocator and sanitizers, and is far below 5 GB.
    EXPECT_LT(r.max_rss_kib, 1800L * 1024) << "peak memory " << r.max_rss_kib / 1024 << " MiB in " << r.seconds << " s";
    std::cout << "nested-list bomb (" << bomb.size() / 1000000 << " MB): refused with a peak of "
              << r.max_rss_kib / 1024 << " MiB in " << r.seconds << " s\n";
}

TEST(PickleBomb, FlatListsAreRefusedWithinASmallMultipleOfTheirSize)
{
    // 16 MB of EMPTY_LIST: 16 million objects on the stack (2.6 GB before the budget).
    const std::string bomb = list_bomb(16'000'000, 0);
    const ChildRun r = unpickle_in_child(bomb);
    EXPECT_TRUE(r.refused) << r.message;
    EXPECT_NE(r.message.find("memory bomb"), std::string::npos) << r.message;
    EXPECT_LT(r.max_rss_kib, 1000L * 1024) << "peak memory " << r.max_rss_kib / 1024 << " MiB";
    std::cout << "flat-list bomb (" << bomb.size() / 1000000 << " MB): refused with a peak of "
              << r.max_rss_kib / 1024 << " MiB in " << r.seconds << " s\n";
}

TEST(PickleBomb, TheBudgetIsChargedAsObjectsAreMade)
{
    // 100 000 lists fit the automatic budget; a budget of 1 MiB refuses them, naming the limit.
    const std::string p = list_bomb(100'000, 0);
    EXPECT_NO_THROW((void)pickle::unpickle(p, "small.pkl"));
    pickle::Limits tight;
    tight.max_memory = 1 << 20;
    try {
        (void)pickle::unpickle(p, "small.pkl", {}, tight);
        ADD_FAILURE() << "1 MiB was enough for 100 000 objects";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("small.pkl: pickle byte "), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("more than 1 MiB"), std::string::npos) << e.what();
    }
}

TEST(PickleBomb, NestingIsCheckedAsListsAreBuilt)
{
    // 600 nested lists (1.2 KB): refused at the APPEND that makes level 513, before STOP.
    pickle::Limits limits;
    const std::string p = list_bomb(600, 599);
    try {
        (void)pickle::unpickle(p, "deep.pkl", {}, limits);
        ADD_FAILURE() << "600 levels were accepted";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("nested deeper than 512 levels"), std::string::npos) << e.what();
        // The APPEND that nests level 513 is at byte 2 + 600 + 512 (before STOP, at byte 1201).
        EXPECT_NE(std::string(e.what()).find("pickle byte 1114:"), std::string::npos) << e.what();
    }
}

} // namespace
} // namespace ckpt

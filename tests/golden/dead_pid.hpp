// SPDX-License-Identifier: Apache-2.0
// A process id no process has, for the tests of stale partial-output removal.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

namespace ckpt::test {

/// The pid of a child that has exited and been reaped (reuse this soon is vanishingly unlikely).
inline pid_t dead_pid()
{
    const pid_t pid = ::fork();
    if (pid == 0)
        ::_exit(0);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return pid;
}

} // namespace ckpt::test

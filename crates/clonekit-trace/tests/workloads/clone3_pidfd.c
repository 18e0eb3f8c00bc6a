/* clone3 with CLONE_PIDFD: the child exits 5, the parent waits through the pidfd. */
#define _GNU_SOURCE
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    int pidfd = -1;
    struct clone_args a;
    memset(&a, 0, sizeof a);
    a.flags = CLONE_PIDFD;
    a.pidfd = (uint64_t)(uintptr_t)&pidfd;
    a.exit_signal = SIGCHLD;
    long r = syscall(SYS_clone3, &a, sizeof a);
    if (r == 0) syscall(SYS_exit_group, 5);
    if (r < 0) return 1;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (syscall(SYS_waitid, 3 /* P_PIDFD */, pidfd, &si, WEXITED, 0) != 0) return 1;
    return si.si_status == 5 ? 0 : 1;
}

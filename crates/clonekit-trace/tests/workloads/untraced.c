/* A CLONE_UNTRACED child: tracers do not follow it. It leaves with a plain exit_group. */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    int st;
    long p = syscall(SYS_clone, (long)(CLONE_UNTRACED | SIGCHLD), 0L, 0L, 0L, 0L);
    if (p == 0) syscall(SYS_exit_group, 4);
    waitpid((pid_t)p, &st, 0);
    return WEXITSTATUS(st) == 4 ? 0 : 1;
}

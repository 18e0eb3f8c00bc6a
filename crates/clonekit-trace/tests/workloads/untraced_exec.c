/* CLONE_UNTRACED children: one made by legacy clone execs a shell, which forks; one made by
   clone3 leaves with exit_group. Tracers follow none of them, and each must run as it would
   untraced (a seccomp filter a tracer gave the parent is inherited by the children, and must
   not fail their calls); the clone3 caller's struct must be as it left it. */
#define _GNU_SOURCE
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    int st;
    long p = syscall(SYS_clone, (long)(CLONE_UNTRACED | SIGCHLD), 0L, 0L, 0L, 0L);
    if (p == 0) {
        execl("/bin/sh", "sh", "-c", "/bin/true; exit 7", (char *)0);
        _exit(1);
    }
    waitpid((pid_t)p, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 7) return 1;
    struct clone_args a;
    memset(&a, 0, sizeof a);
    a.flags = CLONE_UNTRACED;
    a.exit_signal = SIGCHLD;
    p = syscall(SYS_clone3, &a, sizeof a);
    if (p == 0) syscall(SYS_exit_group, 9);
    if (p < 0) return 2;
    waitpid((pid_t)p, &st, 0);
    if (a.flags != CLONE_UNTRACED) return 3;
    return WIFEXITED(st) && WEXITSTATUS(st) == 9 ? 0 : 4;
}

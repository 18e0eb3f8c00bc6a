/* A CLONE_UNTRACED child that execs a shell, which forks: tracers follow none of them, and
   each must run as it would untraced (a seccomp filter a tracer gave the parent is inherited
   by the child, and must not fail its calls). */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
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
    return WIFEXITED(st) && WEXITSTATUS(st) == 7 ? 0 : 1;
}

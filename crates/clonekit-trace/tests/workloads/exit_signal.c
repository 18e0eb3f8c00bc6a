/* Raw clone children with unusual exit signals: SIGUSR1 (handled) and SIGRT_2, plus flags=0. */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
static void on_sig(int s) { (void)s; }
int main(void) {
    struct sigaction sa = {0};
    sa.sa_handler = on_sig;
    sigaction(SIGUSR1, &sa, 0);
    sigaction(34, &sa, 0); /* SIGRT_2 in kernel numbering */
    int st;
    long p = syscall(SYS_clone, (long)SIGUSR1, 0L, 0L, 0L, 0L);
    if (p == 0) syscall(SYS_exit, 7);
    waitpid((pid_t)p, &st, __WALL);
    p = syscall(SYS_clone, 34L /* SIGRT_2 in kernel numbering */, 0L, 0L, 0L, 0L);
    if (p == 0) syscall(SYS_exit, 0);
    waitpid((pid_t)p, &st, __WALL);
    p = syscall(SYS_clone, 0L, 0L, 0L, 0L, 0L);
    if (p == 0) syscall(SYS_exit, 0);
    waitpid((pid_t)p, &st, __WALL);
    return 0;
}

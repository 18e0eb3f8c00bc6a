/* A child killed by a signal (SIGTERM from itself), one killed by SIGKILL from its parent. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    int st;
    pid_t p = fork();
    if (p == 0) { kill(getpid(), SIGTERM); _exit(0); }
    waitpid(p, &st, 0);
    int fds[2];
    if (pipe(fds) != 0) return 1;
    p = fork();
    if (p == 0) { char c; close(fds[1]); read(fds[0], &c, 1); _exit(0); }
    close(fds[0]);
    kill(p, SIGKILL);
    waitpid(p, &st, 0);
    return WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL ? 0 : 1;
}

/* A group-stop: the child stops itself with SIGSTOP, the parent sees it and continues it. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    int st;
    pid_t p = fork();
    if (p == 0) { raise(SIGSTOP); _exit(9); }
    waitpid(p, &st, WUNTRACED);
    if (!WIFSTOPPED(st)) return 1;
    kill(p, SIGCONT);
    waitpid(p, &st, 0);
    return WIFEXITED(st) && WEXITSTATUS(st) == 9 ? 0 : 1;
}

/* posix_spawn of /bin/true (glibc: clone3 CLONE_VM|CLONE_VFORK|CLONE_CLEAR_SIGHAND), then a failing one. */
#include <spawn.h>
#include <sys/wait.h>
extern char **environ;
int main(void) {
    pid_t p;
    int st;
    char *argv[] = {"true", 0};
    if (posix_spawn(&p, "/bin/true", 0, 0, argv, environ) != 0) return 1;
    waitpid(p, &st, 0);
    char *bad[] = {"nope", 0};
    if (posix_spawn(&p, "/nonexistent/program", 0, 0, bad, environ) == 0) return 1;
    return 0;
}

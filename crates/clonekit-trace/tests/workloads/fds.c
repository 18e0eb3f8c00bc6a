/* Every process call that carries a file descriptor, for -y/-yy: clone(CLONE_PIDFD)
   (parent_tid=[fd]), pidfd_send_signal and waitid(P_PIDFD) on that pidfd, execveat on a
   directory fd, on AT_FDCWD, and on the program's own fd (fexecve: AT_EMPTY_PATH). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
static void run_execveat(int dirfd, const char *path, int flags) {
    char *argv[] = {"true", 0};
    pid_t p = fork();
    if (p == 0) { syscall(SYS_execveat, dirfd, path, argv, environ, flags); _exit(127); }
    int st;
    waitpid(p, &st, 0);
}
int main(void) {
    int pidfd = -1;
    long p = syscall(SYS_clone, (long)(CLONE_PIDFD | SIGCHLD), 0L, &pidfd, 0L, 0L);
    if (p == 0) { pause(); _exit(0); }
    if (p < 0) return 1;
    if (syscall(SYS_pidfd_send_signal, pidfd, SIGTERM, 0L, 0L) != 0) return 1;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (syscall(SYS_waitid, 3 /* P_PIDFD */, pidfd, &si, WEXITED, 0) != 0) return 1;
    close(pidfd);
    int bin = open("/bin", O_RDONLY | O_DIRECTORY);
    run_execveat(bin, "true", 0);
    run_execveat(AT_FDCWD, "/bin/true", 0);
    int prog = open("/bin/true", O_RDONLY);
    run_execveat(prog, "", AT_EMPTY_PATH);
    return 0;
}

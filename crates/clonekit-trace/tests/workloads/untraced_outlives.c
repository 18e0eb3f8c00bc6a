/* A CLONE_UNTRACED child that outlives its parent: it writes argv[1] a second later. A
   tracer must neither wait for it nor take it down when it leaves. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 2) return 2;
    long p = syscall(SYS_clone, (long)(CLONE_UNTRACED | SIGCHLD), 0L, 0L, 0L, 0L);
    if (p == 0) {
        sleep(1);
        int fd = open(argv[1], O_CREAT | O_WRONLY | O_TRUNC, 0600);
        if (fd >= 0) { write(fd, "done\n", 5); close(fd); }
        _exit(0);
    }
    return p > 0 ? 0 : 1;
}

/* A process with a second thread that prints its tid, then waits for a line on stdin, and
   exits; the main thread joins it and exits 0. For `-p TID` with a non-leader thread's id. */
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
static void *run(void *arg) {
    printf("%ld\n", (long)syscall(SYS_gettid));
    fflush(stdout);
    char c;
    while (read(0, &c, 1) == 1 && c != '\n') {}
    return arg;
}
int main(void) {
    pthread_t t;
    if (pthread_create(&t, 0, run, 0) != 0) return 1;
    pthread_join(t, 0);
    return 0;
}

/* A non-leader thread calls execve: the thread takes over the leader's pid. It waits until
   the leader has returned from pthread_create, so that the leader's clone3 is complete (in
   the trace too) before the exec: otherwise whether its line ends before the exec is a race. */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
static atomic_int created;
static void *run(void *arg) {
    (void)arg;
    while (!atomic_load(&created)) usleep(1000);
    execl("/bin/true", "true", (char *)0);
    return 0;
}
int main(void) {
    pthread_t t;
    if (pthread_create(&t, 0, run, 0) != 0) return 1;
    atomic_store(&created, 1);
    pthread_join(t, 0);
    return 1;
}

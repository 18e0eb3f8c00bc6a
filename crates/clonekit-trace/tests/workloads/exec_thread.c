/* A non-leader thread calls execve: the thread takes over the leader's pid. */
#include <pthread.h>
#include <unistd.h>
static void *run(void *arg) {
    (void)arg;
    execl("/bin/true", "true", (char *)0);
    return 0;
}
int main(void) {
    pthread_t t;
    if (pthread_create(&t, 0, run, 0) != 0) return 1;
    pthread_join(t, 0);
    return 1;
}

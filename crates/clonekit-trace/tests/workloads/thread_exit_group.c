/* A thread ends the whole process: one thread leaves on its own first (pthread_exit, joined),
   two more wait in pause(), and a fourth calls _exit(5), glibc's exit_group. The threads
   exit_group kills leave with its status and no call of their own. */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
static atomic_int waiting;
static void *leave(void *arg) { (void)arg; pthread_exit(0); }
static void *wait_forever(void *arg) {
    (void)arg;
    atomic_fetch_add(&waiting, 1);
    for (;;) pause();
}
static void *end_all(void *arg) {
    (void)arg;
    while (atomic_load(&waiting) < 2) usleep(1000);
    usleep(20000); /* both are in pause() */
    _exit(5);
}
int main(void) {
    pthread_t t;
    if (pthread_create(&t, 0, leave, 0) != 0) return 1;
    pthread_join(t, 0);
    for (int i = 0; i < 2; i++)
        if (pthread_create(&t, 0, wait_forever, 0) != 0) return 1;
    if (pthread_create(&t, 0, end_all, 0) != 0) return 1;
    for (;;) pause();
}

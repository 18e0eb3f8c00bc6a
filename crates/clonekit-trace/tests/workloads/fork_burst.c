/* 200 children, each of which forks once, and both exit at once: children that die before
 * the tracer has read their creator's fork event. The parent reaps its children; the
 * grandchildren are reaped by whoever they are re-parented to. */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    for (int i = 0; i < 200; i++) {
        pid_t p = fork();
        if (p < 0)
            return 1;
        if (p == 0) {
            if (fork() < 0)
                _exit(1);
            _exit(3);
        }
    }
    while (wait(NULL) > 0) {
    }
    return 0;
}

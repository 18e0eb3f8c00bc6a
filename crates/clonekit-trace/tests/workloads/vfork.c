/* vfork: one child that execs /bin/true, one that _exits with status 3. */
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    int st;
    pid_t p = vfork();
    if (p == 0) { execl("/bin/true", "true", (char *)0); _exit(127); }
    waitpid(p, &st, 0);
    p = vfork();
    if (p == 0) _exit(3);
    waitpid(p, &st, 0);
    return WEXITSTATUS(st) == 3 ? 0 : 1;
}

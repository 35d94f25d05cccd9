/*
 * Modem control lines for the bench's pseudo-terminals (LD_PRELOAD, bench only).
 *
 * A gateway power-cycles an STC89 through DTR or RTS: serialport's set() is
 * ioctl(TIOCMGET) then ioctl(TIOCMSET) on the port. A pseudo-terminal has no modem
 * lines, and Linux refuses those requests on it with ENOTTY. Preloaded into the
 * gateway's process, this library keeps the gateway's code path unchanged: when the
 * kernel refuses a modem-line request on /dev/pts/N and the bench listens on
 * $EDGEPILOT_BENCH_LINES/pts-N (a Unix socket), the new line state is sent there as
 * "dtr=<0|1> rts=<0|1>\n" and the call returns once the bench acknowledged it (one
 * byte), so the power switch on the bench has moved when set() calls back.
 * Every other ioctl, and every request on a real serial port, goes to libc untouched.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

typedef int (*ioctl_fn)(int, unsigned long, ...);

/* Line state per pty number, as TIOCM bits (only DTR and RTS are kept). */
static int line_bits[4096];

static int bench_socket_path(int fd, char *out, size_t size, int *pts)
{
    char link[64];
    char target[256];
    const char *dir = getenv("EDGEPILOT_BENCH_LINES");
    ssize_t n;

    if (dir == NULL || dir[0] == '\0') return -1;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    n = readlink(link, target, sizeof target - 1);
    if (n <= 0) return -1;
    target[n] = '\0';
    if (sscanf(target, "/dev/pts/%d", pts) != 1 || *pts < 0 || *pts >= 4096) return -1;
    if ((size_t)snprintf(out, size, "%s/pts-%d", dir, *pts) >= size) return -1;
    return 0;
}

static int tell_bench(const char *path, int bits)
{
    struct sockaddr_un address;
    struct timeval timeout = { 2, 0 };
    char line[32];
    char ack;
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    int len;

    if (s < 0) return -1;
    memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof address.sun_path) {
        close(s);
        return -1;
    }
    memcpy(address.sun_path, path, strlen(path) + 1);
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    if (connect(s, (struct sockaddr *)&address, sizeof address) != 0) {
        close(s);
        return -1;
    }
    len = snprintf(line, sizeof line, "dtr=%d rts=%d\n", (bits & TIOCM_DTR) ? 1 : 0, (bits & TIOCM_RTS) ? 1 : 0);
    if (write(s, line, (size_t)len) != len || read(s, &ack, 1) != 1) {
        close(s);
        return -1;
    }
    close(s);
    return 0;
}

int ioctl(int fd, unsigned long request, ...)
{
    static ioctl_fn real_ioctl;
    va_list ap;
    void *arg;
    int result;
    int saved;
    int pts;
    int *bits;
    char path[256];

    va_start(ap, request);
    arg = va_arg(ap, void *);
    va_end(ap);
    if (real_ioctl == NULL) real_ioctl = (ioctl_fn)dlsym(RTLD_NEXT, "ioctl");
    result = real_ioctl(fd, request, arg);
    if (result == 0 || errno != ENOTTY) return result;
    if (request != TIOCMGET && request != TIOCMSET && request != TIOCMBIS && request != TIOCMBIC) return result;
    saved = errno;
    if (bench_socket_path(fd, path, sizeof path, &pts) != 0 || access(path, F_OK) != 0) {
        errno = saved;
        return result;
    }
    bits = (int *)arg;
    if (request == TIOCMGET) {
        *bits = line_bits[pts];
        return 0;
    }
    if (request == TIOCMSET) line_bits[pts] = *bits & (TIOCM_DTR | TIOCM_RTS);
    if (request == TIOCMBIS) line_bits[pts] |= *bits & (TIOCM_DTR | TIOCM_RTS);
    if (request == TIOCMBIC) line_bits[pts] &= ~(*bits & (TIOCM_DTR | TIOCM_RTS));
    if (tell_bench(path, line_bits[pts]) != 0) {
        errno = EIO;
        return -1;
    }
    return 0;
}

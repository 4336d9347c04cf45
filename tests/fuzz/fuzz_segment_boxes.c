/*
 * libFuzzer target: segment_whole_length() on an arbitrary file, which
 * is what start-up recovery does with whatever a crash left on disk.
 * The input is written to a memfd. A file cut to the whole length it
 * reports must be whole, with the same fragment count.
 *
 * fuzz-sources: src/storage/segment.c
 * fuzz-packages: libavformat libavcodec libavutil libcrypto
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "storage/segment.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    off_t whole = -1;
    off_t again = -1;
    int fragments = -1;
    int fragments_again = -1;
    int rc;

    if (fd < 0) {
        fd = memfd_create("fuzz-segment", MFD_CLOEXEC);
        if (fd < 0)
            abort();
    }
    if (ftruncate(fd, 0) < 0 ||
        (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size))
        abort();

    rc = segment_whole_length(fd, (off_t)size, &whole, &fragments);
    if (rc == -EINVAL)
        return 0;
    if (rc != 0 || whole < 16 || whole > (off_t)size || fragments < 0)
        abort();

    if (ftruncate(fd, whole) < 0)
        abort();
    rc = segment_whole_length(fd, whole, &again, &fragments_again);
    if (rc != 0 || again != whole || fragments_again != fragments)
        abort();
    return 0;
}

/* Segment file helpers; see segment.h. */
#include "storage/segment.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libavformat/avformat.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Reads the box header at off: size (including the header) and type.
 * Returns 0, or -1 if the header is cut off or invalid. */
static int segment_read_box(int fd, off_t off, off_t size, uint64_t *box_size,
                            char type[5])
{
    uint8_t h[16];
    ssize_t n;
    uint64_t len;
    unsigned header = 8;

    if (size - off < 8)
        return -1;
    n = pread(fd, h, sizeof(h), off);
    if (n < 8)
        return -1;
    len = (uint64_t)h[0] << 24 | (uint64_t)h[1] << 16 | (uint64_t)h[2] << 8 |
          h[3];
    memcpy(type, h + 4, 4);
    type[4] = '\0';
    if (len == 1) {
        if (n < 16)
            return -1;
        len = 0;
        for (int i = 8; i < 16; i++)
            len = len << 8 | h[i];
        header = 16;
    } else if (len == 0) {
        len = (uint64_t)(size - off); /* box runs to the end of file */
    }
    if (len < header || len > (uint64_t)(size - off))
        return -1;
    *box_size = len;
    return 0;
}

int segment_whole_length(int fd, off_t size, off_t *whole, int *fragments)
{
    off_t off = 0;
    off_t good = 0;
    int saw_ftyp = 0;
    int saw_moov = 0;
    int in_fragment = 0;
    int count = 0;

    *whole = 0;
    *fragments = 0;
    while (off < size) {
        uint64_t len;
        char type[5];

        if (segment_read_box(fd, off, size, &len, type) < 0)
            break;
        if (!saw_ftyp) {
            if (strcmp(type, "ftyp") != 0)
                return -EINVAL;
            saw_ftyp = 1;
        } else if (!saw_moov) {
            if (strcmp(type, "moov") != 0)
                return -EINVAL;
            saw_moov = 1;
            good = off + (off_t)len;
        } else if (strcmp(type, "moof") == 0) {
            in_fragment = 1;
        } else if (strcmp(type, "mdat") == 0 && in_fragment) {
            in_fragment = 0;
            count++;
            good = off + (off_t)len;
        } else if (strcmp(type, "mdat") == 0 || strcmp(type, "moov") == 0 ||
                   strcmp(type, "ftyp") == 0) {
            break; /* out of order: treat the rest as damaged */
        }
        off += (off_t)len;
    }
    if (!saw_moov)
        return -EINVAL;
    *whole = good;
    *fragments = count;
    return 0;
}

int segment_probe_duration(const char *path, int64_t *duration_us)
{
    AVFormatContext *ic = NULL;
    AVPacket *pkt = av_packet_alloc();
    int64_t first = AV_NOPTS_VALUE;
    int64_t end = AV_NOPTS_VALUE;
    int video = -1;
    int rc;

    *duration_us = 0;
    if (!pkt)
        return AVERROR(ENOMEM);
    rc = avformat_open_input(&ic, path, NULL, NULL);
    if (rc < 0)
        goto out;
    for (unsigned i = 0; i < ic->nb_streams; i++)
        if (ic->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO) {
            video = (int)i;
            break;
        }
    if (video < 0) {
        rc = AVERROR_STREAM_NOT_FOUND;
        goto out;
    }
    while ((rc = av_read_frame(ic, pkt)) >= 0) {
        if (pkt->stream_index == video && pkt->dts != AV_NOPTS_VALUE) {
            AVRational tb = ic->streams[video]->time_base;
            int64_t dts = av_rescale_q(pkt->dts, tb, AV_TIME_BASE_Q);
            int64_t stop = av_rescale_q(pkt->dts + pkt->duration, tb,
                                        AV_TIME_BASE_Q);
            if (first == AV_NOPTS_VALUE)
                first = dts;
            if (end == AV_NOPTS_VALUE || stop > end)
                end = stop;
        }
        av_packet_unref(pkt);
    }
    rc = first == AV_NOPTS_VALUE ? AVERROR_INVALIDDATA : 0;
    if (rc == 0)
        *duration_us = end - first;
out:
    avformat_close_input(&ic);
    av_packet_free(&pkt);
    return rc;
}

int segment_sha256_fd(int fd, off_t len, char hex[65])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char digest[32];
    unsigned char buf[65536];
    off_t off = 0;
    int rc = 0;

    if (!ctx)
        return -ENOMEM;
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    while (off < len) {
        size_t want = (size_t)(len - off) < sizeof(buf) ? (size_t)(len - off)
                                                        : sizeof(buf);
        ssize_t n = pread(fd, buf, want, off);
        if (n <= 0) {
            rc = n < 0 ? -errno : -EIO;
            goto out;
        }
        EVP_DigestUpdate(ctx, buf, (size_t)n);
        off += n;
    }
    EVP_DigestFinal_ex(ctx, digest, NULL);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
out:
    EVP_MD_CTX_free(ctx);
    return rc;
}

int segment_format_path(int64_t camera_id, const char *stream,
                        int64_t start_us, char *out, size_t len)
{
    time_t secs = (time_t)(start_us / 1000000);
    struct tm tm;
    char day[16];
    int n;

    gmtime_r(&secs, &tm);
    strftime(day, sizeof(day), "%Y-%m-%d", &tm);
    n = snprintf(out, len, "%" PRId64 "/%s/%s/%" PRId64 ".mp4", camera_id,
                 stream, day, start_us);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int segment_parse_path(const char *path, int64_t *camera_id, char *stream,
                       size_t stream_len, int64_t *start_us, int *partial)
{
    char name[32];
    char day[16];
    char suffix[16] = "";
    char canonical[96];
    long long cam;
    long long start;
    int consumed = 0;

    if (sscanf(path, "%lld/%7[a-z]/%15[0-9-]/%lld%15s%n", &cam, name, day,
               &start, suffix, &consumed) < 5 ||
        (size_t)consumed != strlen(path))
        return -EINVAL;
    if (strcmp(suffix, ".mp4") == 0)
        *partial = 0;
    else if (strcmp(suffix, ".mp4" SEGMENT_PARTIAL_SUFFIX) == 0)
        *partial = 1;
    else
        return -EINVAL;
    if (cam <= 0 || start <= 0 || strlen(name) >= stream_len)
        return -EINVAL;
    /* Only the exact name segment_format_path() gives is a segment:
     * sscanf() also takes signs, spaces, leading zeros and any day
     * directory, and such a name would be indexed under another path
     * than the recorder would write. */
    if (segment_format_path(cam, name, start, canonical,
                            sizeof(canonical)) < 0 ||
        strncmp(path, canonical, strlen(canonical)) != 0 ||
        strcmp(path + strlen(canonical), *partial ? SEGMENT_PARTIAL_SUFFIX
                                                  : "") != 0)
        return -EINVAL;
    *camera_id = cam;
    *start_us = start;
    snprintf(stream, stream_len, "%s", name);
    return 0;
}

int segment_fsync_parent(const char *path)
{
    char dir[1024];
    char *slash;
    int fd;
    int rc = 0;

    snprintf(dir, sizeof(dir), "%s", path);
    slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fsync(fd) < 0)
        rc = -errno;
    close(fd);
    return rc;
}

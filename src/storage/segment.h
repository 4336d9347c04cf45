/*
 * Segment files: the on-disk form of a recording.
 *
 * A segment is one fragmented MP4 file per camera stream and time span:
 * the stream's init segment followed by moof+mdat fragments, starting at
 * a keyframe. Its path below the volume root is
 *
 *   <camera id>/<stream>/<YYYY-MM-DD>/<start UTC microseconds>.mp4
 *
 * and, while it is being written, the same path with ".partial"
 * appended. A file gets its final name only after its bytes are fsynced,
 * and its catalog row only after the rename is fsynced too, so a row
 * never points at bytes that are not on disk.
 */
#ifndef VMS_STORAGE_SEGMENT_H
#define VMS_STORAGE_SEGMENT_H

#include <stdint.h>
#include <sys/types.h>

#define SEGMENT_PARTIAL_SUFFIX ".partial"

/* Walks the top-level boxes of the fragmented MP4 open at fd, whose
 * size is size bytes, and stores in *whole the length of the longest
 * prefix that ends after a complete init segment and complete
 * moof+mdat pairs, and in *fragments how many pairs that prefix holds.
 * Returns 0, or -EINVAL if the file does not start with ftyp and moov.
 * Only box headers are read; an invalid box ends the walk. */
int segment_whole_length(int fd, off_t size, off_t *whole,
                         int *fragments);

/* Reads the segment at path with libavformat and stores the duration of
 * its video track (end of the last sample minus the first dts) in
 * microseconds. Returns 0 or a negative AVERROR code. */
int segment_probe_duration(const char *path, int64_t *duration_us);

/* Computes the SHA-256 of the first len bytes of fd as 64 hex digits
 * plus NUL. Returns 0 or a negative errno. */
int segment_sha256_fd(int fd, off_t len, char hex[65]);

/* Writes the relative path of a segment that starts at start_us. */
int segment_format_path(int64_t camera_id, const char *stream,
                        int64_t start_us, char *out, size_t len);

/* Parses a relative segment path back into its parts. Returns 0 or
 * -EINVAL; *partial is set when the name ends in ".partial". */
int segment_parse_path(const char *path, int64_t *camera_id, char *stream,
                       size_t stream_len, int64_t *start_us, int *partial);

/* fsyncs the directory that contains path. */
int segment_fsync_parent(const char *path);

#endif

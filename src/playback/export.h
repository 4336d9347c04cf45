/* Export of recorded video as one downloadable MP4 file.
 *
 * The recorder stores each camera stream as a series of segment files.
 * Each one is a fragmented MP4 (an init segment, then moof+mdat
 * fragments) that starts with a keyframe and contains H.264 or H.265
 * video and optionally one AAC audio track. The export remuxes the
 * segments that cover a wall-clock range into a single regular MP4,
 * without transcoding.
 */
#ifndef PLAYBACK_EXPORT_H
#define PLAYBACK_EXPORT_H

#include <stddef.h>
#include <stdint.h>

typedef struct playback_segment {
    const char *path; /* segment file; borrowed */
    int64_t start_us; /* UTC microseconds of the first sample */
    int64_t end_us;   /* UTC microseconds after the last sample */
} playback_segment_t;

/* Summary of one export, filled by playback_export_mp4_ex(). Times are
 * UTC microseconds unless the field name says otherwise. */
typedef struct playback_export_result {
    int64_t start_us;          /* presentation time of the first frame */
    int64_t end_us;            /* decode time plus duration of the last
                                * exported video frame */
    int64_t duration_us;       /* length of the output, gaps removed */
    size_t segments_used;      /* segments that contributed samples */
    size_t gap_count;          /* gaps between segments that were closed */
    int64_t gap_total_us;      /* wall-clock time removed by closing gaps */
    size_t truncated_count;    /* segments whose tail was unreadable */
    int codec_changed;         /* 1 if the export stopped early because
                                * a segment had different codec
                                * parameters, else 0 */
    size_t codec_change_index; /* index in segs of that segment */
} playback_export_result_t;

/* Remuxes the part of segs (sorted by start_us, non-overlapping) that
 * covers [from_us, to_us) into one MP4 file at out_path, without
 * transcoding.
 *
 * Output: a regular (not fragmented) MP4 with the moov box before the
 * media data, so a browser can start playback and seek over HTTP range
 * requests before the whole file has arrived. It contains the first
 * video track and the first audio track (if any) of the segments. Data
 * and subtitle tracks are dropped. The creation_time metadata is the
 * UTC start of the export. H.264 exports play in Chromium. For H.265
 * the browser needs its own HEVC support, which Chromium on Linux has
 * only with a hardware decoder.
 *
 * Range: the output starts at the last keyframe at or before from_us,
 * so the first frame decodes. If from_us falls before the first
 * segment or in a gap, the output starts at the first segment after
 * from_us. It contains every video frame presented before to_us, so it
 * ends within one frame after to_us. With B-frames it can contain up to
 * one more group of B-frames, because those frames are references of
 * kept frames. Audio packets are kept while their decode time is before
 * to_us. If to_us lies past the last segment, the output ends with the
 * recording.
 *
 * Timeline: within a segment, each sample is decoded at
 * start_us + (its DTS - the first video DTS of that file) and presented
 * PTS - DTS later, so the files' own base media decode times (tfdt) do
 * not matter. Each following segment is appended where the video of
 * the previous one ends. A sample without a duration (the last one of
 * a fragment written from RTSP packets) is given the DTS step of the
 * sample before it. A gap between segments, where seg[i].start_us
 * comes more than one frame after seg[i - 1].end_us (e.g. a camera
 * outage), is therefore closed and never played as a pause, so no
 * player stalls on it. The output duration is the recorded time only,
 * and the result reports the number and total length of closed gaps.
 *
 * Codec change: all segments must have the same track layout and codec
 * parameters (codec, resolution, sample rate, channel count and
 * codec extradata such as SPS/PPS) as the first exported segment. The
 * export stops before the first segment that differs, writes what came
 * before it and sets result->codec_changed.
 *
 * Damaged segments: a segment file that is missing or whose init
 * segment cannot be read makes the export fail, and so does a first
 * segment without any readable sample. A segment whose tail is cut off
 * (e.g. after a crash during a write) contributes the samples that are
 * whole, and the export continues with the next segment. The time lost
 * with the tail is closed like a gap. result->truncated_count counts
 * such segments.
 *
 * The file is written to out_path + ".tmp", synced to disk and renamed
 * to out_path, so a reader never sees a partial file. On failure
 * neither file is left behind. Two exports running at the same time
 * must use different out_path values.
 *
 * segs, out_path and err are borrowed. result may be NULL. err (may be
 * NULL if errlen is 0) receives a NUL-terminated message: the reason
 * on failure, or on success a warning if the output was cut short by a
 * codec change or a truncated segment, else an empty string.
 *
 * Returns 0 on success, -EINVAL for invalid arguments, -ENODATA if no
 * segment covers the range, -ENOENT if a segment file is missing, or
 * another negative errno or AVERROR code from I/O or libavformat. */
int playback_export_mp4_ex(const playback_segment_t *segs, size_t n,
                           int64_t from_us, int64_t to_us, const char *out_path,
                           playback_export_result_t *result, char *err,
                           size_t errlen);

/* Same as playback_export_mp4_ex() without a result. */
int playback_export_mp4(const playback_segment_t *segs, size_t n,
                        int64_t from_us, int64_t to_us, const char *out_path,
                        char *err, size_t errlen);

#endif

/* Real H.264 fragments for tests; see stream_fixture.h. */
#include "stream_fixture.h"

#include <errno.h>
#include <libavformat/avformat.h>
#include <stdlib.h>
#include <string.h>

#include "media/fmp4.h"

int fixture_stream_open(const char *path, size_t max_packets,
                        fixture_stream_t **out)
{
    AVFormatContext *ic = NULL;
    fixture_stream_t *s = calloc(1, sizeof(*s));
    AVPacket *pkt = av_packet_alloc();
    size_t cap = 0;
    int video;
    int rc;

    *out = NULL;
    if (!s || !pkt) {
        rc = AVERROR(ENOMEM);
        goto fail;
    }
    rc = avformat_open_input(&ic, path, NULL, NULL);
    if (rc < 0)
        goto fail;
    rc = avformat_find_stream_info(ic, NULL);
    if (rc < 0)
        goto fail;
    video = av_find_best_stream(ic, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (video < 0) {
        rc = video;
        goto fail;
    }
    s->video = avcodec_parameters_alloc();
    if (!s->video) {
        rc = AVERROR(ENOMEM);
        goto fail;
    }
    rc = avcodec_parameters_copy(s->video, ic->streams[video]->codecpar);
    if (rc < 0)
        goto fail;
    s->time_base = ic->streams[video]->time_base;
    while (max_packets == 0 || s->packet_count < max_packets) {
        rc = av_read_frame(ic, pkt);
        if (rc == AVERROR_EOF)
            break;
        if (rc < 0)
            goto fail;
        if (pkt->stream_index != video) {
            av_packet_unref(pkt);
            continue;
        }
        if (s->packet_count == cap) {
            AVPacket **bigger;

            cap = cap ? cap * 2 : 64;
            bigger = realloc(s->packets, cap * sizeof(*bigger));
            if (!bigger) {
                rc = AVERROR(ENOMEM);
                goto fail;
            }
            s->packets = bigger;
        }
        s->packets[s->packet_count] = av_packet_clone(pkt);
        av_packet_unref(pkt);
        if (!s->packets[s->packet_count]) {
            rc = AVERROR(ENOMEM);
            goto fail;
        }
        s->packets[s->packet_count]->stream_index = 0;
        s->packet_count++;
    }
    avformat_close_input(&ic);
    av_packet_free(&pkt);
    *out = s;
    return 0;

fail:
    avformat_close_input(&ic);
    av_packet_free(&pkt);
    fixture_stream_free(s);
    return rc;
}

/* Frees the fragments and the init segment. */
static void fixture_stream_clear(fixture_stream_t *s)
{
    for (size_t i = 0; i < s->frag_count; i++)
        vms_buf_unref(s->frags[i].data);
    free(s->frags);
    s->frags = NULL;
    s->frag_count = 0;
    vms_buf_unref(s->init);
    s->init = NULL;
}

/* Closes the open fragment, which holds packets [first, end). */
static int fixture_close_fragment(fixture_stream_t *s, fmp4_muxer_t *m,
                                  size_t first, size_t end)
{
    const AVPacket *head = s->packets[first];
    const AVPacket *tail = s->packets[end - 1];
    fixture_fragment_t *f = &s->frags[s->frag_count];
    AVRational us = {1, 1000000};
    int rc;

    rc = fmp4_muxer_flush(m, &f->data);
    if (rc < 0)
        return rc;
    if (!f->data)
        return AVERROR_BUG;
    f->start_us = av_rescale_q(head->pts, s->time_base, us);
    f->duration_us = av_rescale_q(tail->pts + tail->duration - head->pts,
                                  s->time_base, us);
    f->keyframe = (head->flags & AV_PKT_FLAG_KEY) != 0;
    f->first_packet = first;
    f->packet_count = end - first;
    s->frag_count++;
    return 0;
}

int fixture_stream_mux(fixture_stream_t *s, size_t packets_per_fragment)
{
    fmp4_muxer_t *m = NULL;
    size_t first = 0;
    int rc;

    fixture_stream_clear(s);
    s->frags = calloc(s->packet_count + 1, sizeof(*s->frags));
    if (!s->frags)
        return AVERROR(ENOMEM);
    rc = fmp4_muxer_new(s->video, s->time_base, NULL, (AVRational){0, 1},
                        &m, &s->init);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < s->packet_count; i++) {
        int key = (s->packets[i]->flags & AV_PKT_FLAG_KEY) != 0;

        if (i > first && (key || i - first >= packets_per_fragment)) {
            rc = fixture_close_fragment(s, m, first, i);
            if (rc < 0)
                goto out;
            first = i;
        }
        rc = fmp4_muxer_write(m, FMP4_TRACK_VIDEO, s->packets[i]);
        if (rc < 0)
            goto out;
    }
    if (s->packet_count > first)
        rc = fixture_close_fragment(s, m, first, s->packet_count);
out:
    fmp4_muxer_free(m);
    return rc;
}

hub_fragment_t *fixture_hub_fragment(const fixture_stream_t *s,
                                     size_t index, int64_t base_us)
{
    const fixture_fragment_t *f = &s->frags[index];
    hub_fragment_t *frag = hub_fragment_new(f->data, s->init);

    if (!frag)
        return NULL;
    frag->start_us = base_us + f->start_us;
    frag->duration_us = f->duration_us;
    frag->keyframe = f->keyframe;
    return frag;
}

void fixture_stream_free(fixture_stream_t *s)
{
    if (!s)
        return;
    fixture_stream_clear(s);
    for (size_t i = 0; i < s->packet_count; i++)
        av_packet_free(&s->packets[i]);
    free(s->packets);
    avcodec_parameters_free(&s->video);
    free(s);
}

const char *fixture_box_at(const uint8_t *data, size_t len, size_t off,
                           uint64_t *size)
{
    static char type[5];

    *size = 0;
    if (off > len || len - off < 8)
        return "";
    *size = (uint64_t)data[off] << 24 | (uint64_t)data[off + 1] << 16 |
            (uint64_t)data[off + 2] << 8 | data[off + 3];
    memcpy(type, data + off + 4, 4);
    type[4] = '\0';
    return type;
}

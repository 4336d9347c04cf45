/*
 * Planning: execution order, shape inference, constant folding, kernel
 * fusion and the memory arena.  Runs once per model at load time.
 */
#include "nn/nn_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NN_ALIGN 64

/*
 * Order the nodes that the outputs depend on so that every node comes
 * after its inputs (iterative depth-first search; rejects cycles).
 */
static int nn_plan_order(struct nn_model *m, char *err, size_t errlen)
{
    int *state = calloc((size_t)m->n_nodes, sizeof(int));
    int *stack = malloc(((size_t)m->n_nodes + 1) * sizeof(int));
    int *pos = malloc(((size_t)m->n_nodes + 1) * sizeof(int));
    int rc = 0;

    m->order = malloc(((size_t)m->n_nodes + 1) * sizeof(int));
    m->n_order = 0;
    if (!state || !stack || !pos || !m->order) {
        rc = -ENOMEM;
        goto done;
    }
    for (int o = 0; o < m->n_outputs; o++) {
        int root = m->tensors[m->outputs[o]].producer;
        int sp = 0;

        if (state[root] == 2)
            continue;
        stack[sp] = root;
        pos[sp] = 0;
        state[root] = 1;
        sp++;
        while (sp > 0) {
            int cur = stack[sp - 1];
            struct nn_node *n = &m->nodes[cur];

            if (pos[sp - 1] < n->n_in) {
                int next = m->tensors[n->in[pos[sp - 1]++]].producer;

                if (state[next] == 1) {
                    rc = nn_node_error(m, n, err, errlen, -EINVAL,
                                       "graph has a cycle through this node");
                    goto done;
                }
                if (state[next] == 0) {
                    state[next] = 1;
                    stack[sp] = next;
                    pos[sp] = 0;
                    sp++;
                }
            } else {
                state[cur] = 2;
                m->order[m->n_order++] = cur;
                sp--;
            }
        }
    }

done:
    free(state);
    free(stack);
    free(pos);
    return rc;
}

static int nn_plan_placeholder(struct nn_model *m, struct nn_node *n,
                               char *err, size_t errlen)
{
    struct nn_tensor *t = &m->tensors[n->out[0]];

    if (n->a.shape_ndim < 0)
        return nn_node_error(m, n, err, errlen, -EINVAL,
                             "input has no shape attribute");
    t->dtype = n->a.dst_type;
    t->ndim = n->a.shape_ndim;
    t->count = 1;
    for (int d = 0; d < t->ndim; d++) {
        if (n->a.shape[d] < 1 || n->a.shape[d] > (1 << 20))
            return nn_node_error(m, n, err, errlen, -EINVAL,
                                 "input dimension %d is %lld; the runtime "
                                 "needs a fixed size between 1 and 2^20",
                                 d, (long long)n->a.shape[d]);
        t->dims[d] = n->a.shape[d];
        t->count *= t->dims[d];
        if (t->count > (INT64_C(1) << 28))
            return nn_node_error(m, n, err, errlen, -EINVAL,
                                 "input has more than 2^28 elements");
    }
    if (m->opt.max_tensor_bytes &&
        (size_t)t->count * nn_dtype_size(t->dtype) > m->opt.max_tensor_bytes)
        return nn_node_error(m, n, err, errlen, -EFBIG,
                             "input exceeds the limit of %zu bytes",
                             m->opt.max_tensor_bytes);
    t->shaped = true;
    return 0;
}

/* Infer shapes in order and evaluate nodes whose inputs are constant. */
static int nn_plan_shapes(struct nn_model *m, char *err, size_t errlen)
{
    for (int k = 0; k < m->n_order; k++) {
        struct nn_node *n = &m->nodes[m->order[k]];
        bool all_const = true;
        int rc;

        if (n->op == NN_OP_CONST) {
            n->folded = true;
            continue;
        }
        if (n->op == NN_OP_PLACEHOLDER) {
            rc = nn_plan_placeholder(m, n, err, errlen);
            if (rc < 0)
                return rc;
            continue;
        }
        rc = nn_op_infer(m, n, err, errlen);
        if (rc < 0)
            return rc;
        for (int i = 0; i < n->n_in; i++)
            if (!m->tensors[n->in[i]].is_const)
                all_const = false;
        for (int i = 0; i < n->n_out; i++) {
            struct nn_tensor *t = &m->tensors[n->out[i]];
            size_t limit = m->opt.max_tensor_bytes;

            t->shaped = true;
            if (t->count > (INT64_C(1) << 28))
                return nn_node_error(m, n, err, errlen, -EINVAL,
                                     "output has more than 2^28 elements");
            if (limit && (size_t)t->count * nn_dtype_size(t->dtype) > limit)
                return nn_node_error(m, n, err, errlen, -EFBIG,
                                     "output exceeds the limit of %zu "
                                     "bytes", limit);
        }
        if (m->opt.max_tensor_bytes && n->scratch > m->opt.max_tensor_bytes)
            return nn_node_error(m, n, err, errlen, -EFBIG,
                                 "scratch memory exceeds the limit of %zu "
                                 "bytes", m->opt.max_tensor_bytes);
        if (!all_const)
            continue;
        for (int i = 0; i < n->n_out; i++) {
            struct nn_tensor *t = &m->tensors[n->out[i]];

            t->data = calloc((size_t)t->count + 1, nn_dtype_size(t->dtype));
            if (!t->data)
                return -ENOMEM;
            t->is_const = true;
        }
        rc = nn_op_exec(m, n, err, errlen);
        if (rc < 0)
            return rc;
        n->folded = true;
    }
    return 0;
}

/* Count the live nodes that read each tensor. */
static void nn_count_readers(struct nn_model *m, int *readers)
{
    memset(readers, 0, (size_t)m->n_tensors * sizeof(int));
    for (int k = 0; k < m->n_order; k++) {
        struct nn_node *n = &m->nodes[m->order[k]];

        if (n->dead || n->folded)
            continue;
        for (int i = 0; i < n->n_in; i++)
            readers[n->in[i]]++;
    }
}

/* The only live node reading tensor t, or NULL. */
static struct nn_node *nn_sole_reader(struct nn_model *m, const int *readers,
                                      int t)
{
    if (readers[t] != 1 || m->tensors[t].is_io)
        return NULL;
    for (int k = 0; k < m->n_order; k++) {
        struct nn_node *n = &m->nodes[m->order[k]];

        if (n->dead || n->folded)
            continue;
        for (int i = 0; i < n->n_in; i++)
            if (n->in[i] == t)
                return n;
    }
    return NULL;
}

static bool nn_const_scalar(const struct nn_model *m, int t, float value)
{
    const struct nn_tensor *x = &m->tensors[t];

    return x->is_const && x->dtype == NN_DTYPE_FLOAT32 && x->count == 1 &&
           fabsf(((const float *)x->data)[0] - value) < 1e-6f;
}

static bool nn_const_scalar_any(const struct nn_model *m, int t)
{
    const struct nn_tensor *x = &m->tensors[t];

    return x->is_const && x->dtype == NN_DTYPE_FLOAT32 && x->count == 1;
}

/* Position of node n in the execution order, or -1. */
static int nn_order_pos(const struct nn_model *m, int node)
{
    for (int k = 0; k < m->n_order; k++)
        if (m->order[k] == node)
            return k;
    return -1;
}

/* A const float vector of length c usable as a per-channel bias. */
static bool nn_const_channel_vec(const struct nn_model *m, int t, int64_t c)
{
    const struct nn_tensor *x = &m->tensors[t];

    if (!x->is_const || x->dtype != NN_DTYPE_FLOAT32 || x->count != c)
        return false;
    return x->ndim >= 1 && x->dims[x->ndim - 1] == c;
}

/* Make conv write into the tensor of consumer's output, killing consumer. */
static void nn_absorb(struct nn_model *m, struct nn_node *conv,
                      struct nn_node *consumer)
{
    conv->out[0] = consumer->out[0];
    m->tensors[conv->out[0]].producer = (int)(conv - m->nodes);
    consumer->dead = true;
}

/* Try to fuse x*(1/6) * relu6(x+3) after conv; returns true on success. */
static bool nn_fuse_hardswish(struct nn_model *m, struct nn_node *conv,
                              const int *readers)
{
    int x = conv->out[0];
    struct nn_node *mul = NULL, *add = NULL;

    if (readers[x] != 2 || m->tensors[x].is_io)
        return false;
    for (int k = 0; k < m->n_order; k++) {
        struct nn_node *n = &m->nodes[m->order[k]];

        if (n->dead || n->folded || n->n_in != 2)
            continue;
        int other = n->in[0] == x ? n->in[1] : n->in[1] == x ? n->in[0] : -1;

        if (other < 0)
            continue;
        /* float16 weights store 1/6 as 0.16663, so any scalar is kept. */
        if (n->op == NN_OP_MUL && nn_const_scalar_any(m, other))
            mul = n;
        else if (n->op == NN_OP_ADD && nn_const_scalar(m, other, 3.0f))
            add = n;
    }
    if (!mul || !add)
        return false;
    struct nn_node *relu6 = nn_sole_reader(m, readers, add->out[0]);

    if (!relu6 || relu6->op != NN_OP_RELU6)
        return false;
    struct nn_node *fin = nn_sole_reader(m, readers, relu6->out[0]);
    struct nn_node *fin2 = nn_sole_reader(m, readers, mul->out[0]);

    if (!fin || fin != fin2 || fin->op != NN_OP_MUL)
        return false;
    conv->a.act = NN_ACT_HARDSWISH;
    {
        int c = mul->in[0] == x ? mul->in[1] : mul->in[0];

        conv->a.alpha = ((const float *)m->tensors[c].data)[0];
    }
    mul->dead = true;
    add->dead = true;
    relu6->dead = true;
    nn_absorb(m, conv, fin);
    return true;
}

/* Fuse bias adds and activations into the convolution before them. */
static int nn_plan_fuse(struct nn_model *m)
{
    int *readers = malloc(((size_t)m->n_tensors + 1) * sizeof(int));

    if (!readers)
        return -ENOMEM;
    for (int k = 0; k < m->n_order; k++) {
        struct nn_node *conv = &m->nodes[m->order[k]];

        if (conv->dead || conv->folded ||
            (conv->op != NN_OP_CONV2D && conv->op != NN_OP_DEPTHWISE))
            continue;
        for (;;) {
            nn_count_readers(m, readers);
            struct nn_node *next = nn_sole_reader(m, readers, conv->out[0]);
            int64_t c = m->tensors[conv->out[0]].dims[3];

            if (conv->a.act == NN_ACT_NONE && nn_fuse_hardswish(m, conv,
                                                                readers))
                break;
            if (!next)
                break;
            if (next->op == NN_OP_ADD && conv->a.act == NN_ACT_NONE &&
                conv->bias < 0 && next->n_in == 2) {
                int other = next->in[0] == conv->out[0] ? next->in[1]
                                                        : next->in[0];

                if (!nn_const_channel_vec(m, other, c))
                    goto residual;
                conv->bias = other;
                nn_absorb(m, conv, next);
                continue;
            }
residual:
            /*
             * A residual Add of a same-shaped tensor computed earlier joins
             * the epilogue: act(conv + bias + residual).
             */
            if (next->op == NN_OP_ADD && conv->a.act == NN_ACT_NONE &&
                conv->residual < 0 && next->n_in == 2) {
                int other = next->in[0] == conv->out[0] ? next->in[1]
                                                        : next->in[0];
                struct nn_tensor *ot = &m->tensors[other];
                struct nn_tensor *ct = &m->tensors[conv->out[0]];
                int p = ot->producer;

                if (ot->is_const || ot->dtype != NN_DTYPE_FLOAT32 ||
                    ot->count != ct->count || ot->ndim != ct->ndim ||
                    other == conv->in[0] ||
                    (p >= 0 && !m->nodes[p].folded &&
                     m->nodes[p].op != NN_OP_PLACEHOLDER &&
                     nn_order_pos(m, p) > k))
                    break;
                conv->residual = other;
                nn_absorb(m, conv, next);
                continue;
            }
            if (conv->a.act != NN_ACT_NONE)
                break;
            if (next->op == NN_OP_RELU)
                conv->a.act = NN_ACT_RELU;
            else if (next->op == NN_OP_RELU6)
                conv->a.act = NN_ACT_RELU6;
            else if (next->op == NN_OP_SIGMOID)
                conv->a.act = NN_ACT_SIGMOID;
            else if (next->op == NN_OP_LEAKYRELU) {
                conv->a.act = NN_ACT_LEAKY;
                conv->a.alpha = next->a.alpha;
            } else
                break;
            nn_absorb(m, conv, next);
        }
    }
    free(readers);
    return 0;
}

/* Keep only live nodes in the order and compute tensor lifetimes. */
static void nn_plan_liveness(struct nn_model *m)
{
    int n = 0;

    for (int k = 0; k < m->n_order; k++) {
        struct nn_node *node = &m->nodes[m->order[k]];

        if (!node->dead && !node->folded &&
            node->op != NN_OP_PLACEHOLDER)
            m->order[n++] = m->order[k];
    }
    m->n_order = n;
    for (int t = 0; t < m->n_tensors; t++) {
        m->tensors[t].first_step = -1;
        m->tensors[t].last_step = -1;
    }
    for (int k = 0; k < m->n_order; k++) {
        struct nn_node *node = &m->nodes[m->order[k]];
        int extra[2] = {node->bias, node->residual};

        for (int i = 0; i < node->n_in + 2; i++) {
            int t = i < node->n_in ? node->in[i] : extra[i - node->n_in];

            if (t < 0)
                continue;
            if (m->tensors[t].first_step < 0)
                m->tensors[t].first_step = k;
            m->tensors[t].last_step = k;
        }
        for (int i = 0; i < node->n_out; i++) {
            struct nn_tensor *t = &m->tensors[node->out[i]];

            if (t->first_step < 0 || t->first_step > k)
                t->first_step = k;
            if (t->last_step < k)
                t->last_step = k;
        }
    }
    for (int i = 0; i < m->n_inputs; i++)
        m->tensors[m->inputs[i]].first_step = -1;
    for (int i = 0; i < m->n_outputs; i++)
        m->tensors[m->outputs[i]].last_step = m->n_order;
}

static size_t nn_tensor_bytes(const struct nn_tensor *t)
{
    size_t b = (size_t)t->count * nn_dtype_size(t->dtype);

    return (b + NN_ALIGN - 1) / NN_ALIGN * NN_ALIGN;
}

static int nn_cmp_size_desc(const void *a, const void *b, void *arg)
{
    const struct nn_model *m = arg;
    size_t sa = nn_tensor_bytes(&m->tensors[*(const int *)a]);
    size_t sb = nn_tensor_bytes(&m->tensors[*(const int *)b]);

    return sa < sb ? 1 : sa > sb ? -1 : 0;
}

static bool nn_overlap_life(const struct nn_tensor *a,
                            const struct nn_tensor *b)
{
    return !(a->last_step < b->first_step || b->last_step < a->first_step);
}

/*
 * Place every activation tensor in one arena.  Tensors are placed largest
 * first at the lowest offset that does not overlap, in memory, any placed
 * tensor whose lifetime overlaps; a buffer is thus reused once its last
 * reader has run.
 */
static int nn_plan_arena(struct nn_model *m)
{
    int *list = malloc(((size_t)m->n_tensors + 1) * sizeof(int));
    int *placed = malloc(((size_t)m->n_tensors + 1) * sizeof(int));
    int n = 0, np = 0;
    size_t total = 0, scratch = 0;

    if (!list || !placed) {
        free(list);
        free(placed);
        return -ENOMEM;
    }
    for (int t = 0; t < m->n_tensors; t++) {
        struct nn_tensor *x = &m->tensors[t];

        if (!x->is_const && x->shaped &&
            (x->first_step >= -1 && x->last_step >= 0))
            list[n++] = t;
    }
    qsort_r(list, (size_t)n, sizeof(int), nn_cmp_size_desc, m);
    for (int i = 0; i < n; i++) {
        struct nn_tensor *x = &m->tensors[list[i]];
        size_t size = nn_tensor_bytes(x), off = 0;
        bool moved = true;

        while (moved) {
            moved = false;
            for (int j = 0; j < np; j++) {
                struct nn_tensor *y = &m->tensors[placed[j]];
                size_t ysize = nn_tensor_bytes(y);

                if (!nn_overlap_life(x, y))
                    continue;
                if (off < y->arena_off + ysize && y->arena_off < off + size) {
                    off = y->arena_off + ysize;
                    moved = true;
                }
            }
        }
        x->arena_off = off;
        placed[np++] = list[i];
        if (off + size > total)
            total = off + size;
    }
    for (int k = 0; k < m->n_order; k++) {
        size_t s = m->nodes[m->order[k]].scratch;

        if (s > scratch)
            scratch = s;
    }
    m->scratch_per_thread = (scratch + NN_ALIGN - 1) / NN_ALIGN * NN_ALIGN;
    m->arena_size = total;
    if (m->opt.max_tensor_bytes &&
        m->arena_size > 4 * m->opt.max_tensor_bytes) {
        free(list);
        free(placed);
        return -EFBIG;
    }
    m->arena = aligned_alloc(NN_ALIGN, m->arena_size ? m->arena_size
                                                     : NN_ALIGN);
    if (!m->arena) {
        free(list);
        free(placed);
        return -ENOMEM;
    }
    memset(m->arena, 0, m->arena_size ? m->arena_size : NN_ALIGN);
    for (int i = 0; i < n; i++) {
        struct nn_tensor *x = &m->tensors[list[i]];

        x->data = (char *)m->arena + x->arena_off;
    }
    free(list);
    free(placed);
    return 0;
}

int nn_plan(struct nn_model *m, char *err, size_t errlen)
{
    int rc;

    rc = nn_plan_order(m, err, errlen);
    if (rc < 0)
        return rc;
    rc = nn_plan_shapes(m, err, errlen);
    if (rc < 0)
        return rc;
    if (!m->opt.no_fusion) {
        rc = nn_plan_fuse(m);
        if (rc < 0)
            return rc;
    }
    nn_plan_liveness(m);
    m->flops = 0;
    for (int k = 0; k < m->n_order; k++)
        m->flops += m->nodes[m->order[k]].flops;
    /* Graph outputs computed entirely at plan time keep their heap data. */
    rc = nn_plan_arena(m);
    if (rc == 0)
        rc = nn_plan_scratch(m);
    if (rc == -EFBIG)
        return nn_node_error(m, NULL, err, errlen, rc, "activation memory "
                             "exceeds 4 times the limit of %zu bytes",
                             m->opt.max_tensor_bytes);
    return rc;
}

int nn_plan_scratch(struct nn_model *m)
{
    size_t size = m->scratch_per_thread * (size_t)m->threads;

    free(m->scratch);
    m->scratch = NULL;
    if (size == 0)
        return 0;
    m->scratch = aligned_alloc(NN_ALIGN, size);
    return m->scratch ? 0 : -ENOMEM;
}

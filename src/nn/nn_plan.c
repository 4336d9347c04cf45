/*
 * Planning: execution order, shape inference, constant folding, kernel
 * fusion and the memory arena.  Runs once per model at load time.
 */
#include "nn/nn_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
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
        int other;

        if (n->in[0] == x)
            other = n->in[1];
        else if (n->in[1] == x)
            other = n->in[0];
        else
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


/* ---- layout pass: move Transposes so that inverse pairs cancel ---- */

/* Append a node (capacity was reserved at load); returns its index. */
static int nn_new_node(struct nn_model *m, enum nn_op op, const char *name,
                       const char *op_name, int n_in)
{
    struct nn_node *n;

    if (m->n_nodes >= m->cap_nodes)
        return -ENOMEM;
    n = &m->nodes[m->n_nodes];
    memset(n, 0, sizeof(*n));
    n->name = strdup(name);
    n->op_name = strdup(op_name);
    n->in = calloc((size_t)n_in + 1, sizeof(int));
    n->out = calloc(1, sizeof(int));
    if (!n->name || !n->op_name || !n->in || !n->out) {
        free(n->name);
        free(n->op_name);
        free(n->in);
        free(n->out);
        return -ENOMEM;
    }
    n->op = op;
    n->n_in = n_in;
    n->n_out = 1;
    n->bias = -1;
    n->residual = -1;
    n->scale = -1;
    n->dw_node = -1;
    n->expand_node = -1;
    for (int i = 0; i < 4; i++) {
        n->a.strides[i] = 1;
        n->a.dilations[i] = 1;
        n->a.ksize[i] = 1;
    }
    return m->n_nodes++;
}

/* New constant int32 vector tensor with its own folded Const node. */
static int nn_new_const_i32(struct nn_model *m, const char *name,
                            const int32_t *vals, int count, int ndim,
                            const int64_t *dims)
{
    int node = nn_new_node(m, NN_OP_CONST, name, "Const", 0), t;
    struct nn_tensor *x;

    if (node < 0)
        return node;
    t = nn_add_tensor(m, name, node);
    if (t < 0)
        return t;
    m->nodes[node].out[0] = t;
    m->nodes[node].folded = true;
    x = &m->tensors[t];
    x->dtype = NN_DTYPE_INT32;
    x->ndim = ndim;
    x->count = count;
    if (ndim > 0)
        memcpy(x->dims, dims, (size_t)ndim * sizeof(int64_t));
    x->data = malloc((size_t)count * sizeof(int32_t) + 1);
    if (!x->data)
        return -ENOMEM;
    memcpy(x->data, vals, (size_t)count * sizeof(int32_t));
    x->is_const = true;
    x->shaped = true;
    return t;
}

/* perm of a live Transpose node with a constant perm, in p; or 0. */
static int nn_transpose_perm(const struct nn_model *m, int node, int *p)
{
    const struct nn_node *n;
    const struct nn_tensor *pt;

    if (node < 0)
        return 0;
    n = &m->nodes[node];
    if (n->op != NN_OP_TRANSPOSE || n->dead || n->folded || n->n_in != 2)
        return 0;
    pt = &m->tensors[n->in[1]];
    if (!pt->is_const || pt->dtype != NN_DTYPE_INT32 ||
        pt->count > NN_MAX_DIMS)
        return 0;
    for (int i = 0; i < pt->count; i++)
        p[i] = ((const int32_t *)pt->data)[i];
    return (int)pt->count;
}

/* Input indices of n that carry data through a layout-agnostic op. */
static int nn_sink_inputs(const struct nn_model *m, const struct nn_node *n,
                          int *idx)
{
    int k = 0;

    switch (n->op) {
    case NN_OP_RELU:
    case NN_OP_RELU6:
    case NN_OP_LEAKYRELU:
    case NN_OP_SIGMOID:
        idx[k++] = 0;
        return k;
    case NN_OP_CONCAT:
        if (n->n_in > 17 || !m->tensors[n->in[n->n_in - 1]].is_const)
            return 0;
        for (int i = 0; i < n->n_in - 1; i++)
            idx[k++] = i;
        return k;
    case NN_OP_ADD:
    case NN_OP_SUB:
    case NN_OP_MUL:
        /*
         * Scalar constants broadcast in any layout; the other operands must
         * all come from Transposes with the same perm (checked by caller).
         */
        for (int i = 0; i < 2; i++) {
            const struct nn_tensor *t = &m->tensors[n->in[i]];

            if (t->is_const && t->count == 1)
                continue;
            if (t->ndim != m->tensors[n->out[0]].ndim)
                return 0;
            idx[k++] = i;
        }
        return k;
    default:
        return 0;
    }
}

/*
 * Rewrite U(T(x)) as T(U'(x)) when every data input of the layout-agnostic
 * op U is a Transpose with the same perm P.  U' is U with its axis
 * constant permuted.  Returns 1 if rewritten.
 */
static int nn_sink_one(struct nn_model *m, int u, char *err, size_t errlen)
{
    struct nn_node *n = &m->nodes[u];
    int idx[17], nd, perm[NN_MAX_DIMS], np = 0, t0 = -1;
    char name[1024];

    if (n->dead || n->folded || n->n_out != 1 ||
        m->tensors[n->out[0]].dtype != NN_DTYPE_FLOAT32)
        return 0;
    nd = nn_sink_inputs(m, n, idx);
    if (nd == 0)
        return 0;
    for (int i = 0; i < nd; i++) {
        int p[NN_MAX_DIMS];
        int prod = m->tensors[n->in[idx[i]]].producer;
        int k = nn_transpose_perm(m, prod, p);

        if (k == 0 || (np && (k != np || memcmp(p, perm, sizeof(int) *
                                                            (size_t)k))))
            return 0;
        np = k;
        memcpy(perm, p, sizeof(int) * (size_t)k);
        if (t0 < 0)
            t0 = prod;
    }
    int old_out = n->out[0], perm_t = m->nodes[t0].in[1];

    if (n->op == NN_OP_CONCAT) {
        const struct nn_tensor *at = &m->tensors[n->in[n->n_in - 1]];
        int64_t axis = at->dtype == NN_DTYPE_INT32
                           ? ((const int32_t *)at->data)[0] : -1000;
        int32_t na;

        if (axis < 0)
            axis += np;
        if (at->count != 1 || axis < 0 || axis >= np)
            return 0;
        na = perm[axis];
        snprintf(name, sizeof(name), "%s/axis_moved", n->name);
        int c = nn_new_const_i32(m, name, &na, 1, 0, NULL);

        if (c < 0)
            return c;
        n = &m->nodes[u];
        n->in[n->n_in - 1] = c;
    }
    for (int i = 0; i < nd; i++) {
        int prod = m->tensors[n->in[idx[i]]].producer;

        n->in[idx[i]] = m->nodes[prod].in[0];
    }
    snprintf(name, sizeof(name), "%s/moved", n->name);
    int u2 = nn_add_tensor(m, name, u);
    int tn = nn_new_node(m, NN_OP_TRANSPOSE, name, "Transpose", 2);

    if (u2 < 0 || tn < 0)
        return -ENOMEM;
    n = &m->nodes[u];
    n->out[0] = u2;
    m->nodes[tn].in[0] = u2;
    m->nodes[tn].in[1] = perm_t;
    m->nodes[tn].out[0] = old_out;
    m->tensors[old_out].producer = tn;
    int rc = nn_op_infer(m, n, err, errlen);

    if (rc < 0)
        return rc;
    m->tensors[u2].shaped = true;
    return 1;
}

/* Rewrite T(Pad(x)) as Pad'(T(x)) so the pad can join a convolution. */
static int nn_hoist_pad(struct nn_model *m, int b, const int *readers,
                        char *err, size_t errlen)
{
    int perm[NN_MAX_DIMS], np = nn_transpose_perm(m, b, perm);
    struct nn_node *t, *pad;
    char name[1024];

    if (np == 0)
        return 0;
    t = &m->nodes[b];
    int pad_node = m->tensors[t->in[0]].producer;

    if (pad_node < 0)
        return 0;
    pad = &m->nodes[pad_node];
    if (pad->op != NN_OP_PAD || pad->dead || pad->folded ||
        readers[pad->out[0]] != 1 || m->tensors[pad->out[0]].is_io ||
        !m->tensors[pad->in[1]].is_const ||
        m->tensors[pad->in[1]].count != 2 * np ||
        m->tensors[pad->in[1]].dtype != NN_DTYPE_INT32)
        return 0;
    const int32_t *old = m->tensors[pad->in[1]].data;
    int32_t pads[2 * NN_MAX_DIMS];
    int64_t dims[2] = {np, 2};

    /* Output dim j of the transpose is input dim perm[j]. */
    for (int j = 0; j < np; j++) {
        pads[2 * j] = old[2 * perm[j]];
        pads[2 * j + 1] = old[2 * perm[j] + 1];
    }
    snprintf(name, sizeof(name), "%s/paddings_hoisted", pad->name);
    int c = nn_new_const_i32(m, name, pads, 2 * np, 2, dims);

    if (c < 0)
        return c;
    snprintf(name, sizeof(name), "%s/hoisted", m->nodes[b].name);
    int bt = nn_add_tensor(m, name, b);

    if (bt < 0)
        return bt;
    t = &m->nodes[b];
    pad = &m->nodes[pad_node];
    int out = t->out[0];

    t->in[0] = pad->in[0];
    t->out[0] = bt;
    pad->in[0] = bt;
    pad->in[1] = c;
    pad->out[0] = out;
    m->tensors[out].producer = pad_node;
    int rc = nn_op_infer(m, t, err, errlen);

    m->tensors[bt].shaped = true;
    if (rc == 0)
        rc = nn_op_infer(m, pad, err, errlen);
    return rc < 0 ? rc : 1;
}

/* Readers of B(A(x)) read x directly when B undoes A; returns changes. */
static int nn_cancel_transposes(struct nn_model *m)
{
    int changed = 0;

    for (int b = 0; b < m->n_nodes; b++) {
        int q[NN_MAX_DIMS], p[NN_MAX_DIMS], nq, npp;

        nq = nn_transpose_perm(m, b, q);
        if (nq == 0 || m->tensors[m->nodes[b].out[0]].is_io)
            continue;
        int a = m->tensors[m->nodes[b].in[0]].producer;

        npp = nn_transpose_perm(m, a, p);
        if (npp != nq)
            continue;
        bool ident = true;

        for (int i = 0; i < nq; i++)
            if (p[q[i]] != i)
                ident = false;
        if (!ident)
            continue;
        int from = m->nodes[b].out[0], to = m->nodes[a].in[0];

        for (int k = 0; k < m->n_nodes; k++) {
            struct nn_node *r = &m->nodes[k];

            if (r->dead || r->op == NN_OP_CONST)
                continue;
            for (int i = 0; i < r->n_in; i++)
                if (r->in[i] == from) {
                    r->in[i] = to;
                    changed++;
                }
        }
    }
    return changed;
}

/*
 * Move Transposes down past layout-agnostic ops (activations,
 * concatenations, scalar arithmetic) and up above constant pads, then drop
 * pairs that undo each other.  Pads only move one way, or the two rules
 * would undo each other.  Graphs converted from NCHW frameworks wrap
 * every convolution in such pairs.
 */
static int nn_plan_layout(struct nn_model *m, char *err, size_t errlen)
{
    int *readers = NULL;
    int rc = 0;

    /* Each pass makes at most one move; a move never undoes another. */
    for (int iter = 0; iter < 4 * m->n_nodes + 64; iter++) {
        int changed = 0;

        free(readers);
        readers = calloc((size_t)m->n_tensors + 1, sizeof(int));
        if (!readers)
            return -ENOMEM;
        for (int k = 0; k < m->n_order; k++) {
            struct nn_node *n = &m->nodes[m->order[k]];

            if (n->dead || n->folded)
                continue;
            for (int i = 0; i < n->n_in; i++)
                readers[n->in[i]]++;
        }
        int n_order = m->n_order;

        for (int k = 0; k < n_order && rc >= 0; k++) {
            int u = m->order[k];

            rc = nn_sink_one(m, u, err, errlen);
            if (rc > 0) {
                changed++;
                break;          /* readers are stale; recount */
            }
            if (rc < 0)
                break;
            rc = nn_hoist_pad(m, u, readers, err, errlen);
            if (rc > 0) {
                changed++;
                break;
            }
        }
        if (rc < 0)
            break;
        changed += nn_cancel_transposes(m);
        free(m->order);
        m->order = NULL;
        rc = nn_plan_order(m, err, errlen);
        if (rc < 0 || changed == 0)
            break;
    }
    free(readers);
    return rc < 0 ? rc : 0;
}

/* Turn Pad(x) -> VALID Conv/MaxPool into a conv with explicit padding. */
static void nn_fuse_pads(struct nn_model *m, char *err, size_t errlen)
{
    int *readers = calloc((size_t)m->n_tensors + 1, sizeof(int));

    if (!readers)
        return;
    nn_count_readers(m, readers);
    for (int k = 0; k < m->n_order; k++) {
        struct nn_node *n = &m->nodes[m->order[k]];
        bool pool = n->op == NN_OP_MAXPOOL;

        if (n->dead || n->folded || n->a.padding != NN_PAD_VALID ||
            (n->op != NN_OP_CONV2D && n->op != NN_OP_DEPTHWISE && !pool))
            continue;
        int pn = m->tensors[n->in[0]].producer;

        if (pn < 0)
            continue;
        struct nn_node *pad = &m->nodes[pn];

        if (pad->op != NN_OP_PAD || pad->dead || pad->folded ||
            readers[pad->out[0]] != 1 || m->tensors[pad->out[0]].is_io)
            continue;
        const struct nn_tensor *pt = &m->tensors[pad->in[1]];
        float value = 0;

        if (!pt->is_const || pt->count != 8 || pt->dtype != NN_DTYPE_INT32)
            continue;
        if (pad->n_in == 3)
            value = ((const float *)m->tensors[pad->in[2]].data)[0];
        /* Convolutions pad with zeros, max pooling ignores padding. */
        if (pool ? !(value == -INFINITY) : value != 0)
            continue;
        const int32_t *p = pt->data;

        if (p[0] || p[1] || p[6] || p[7])
            continue;
        struct nn_attrs saved = n->a;
        int saved_in = n->in[0];

        n->a.padding = NN_PAD_EXPLICIT;
        memset(n->a.explicit_pad, 0, sizeof(n->a.explicit_pad));
        for (int i = 2; i < 6; i++)
            n->a.explicit_pad[i] = p[i];
        n->in[0] = pad->in[0];
        if (nn_op_infer(m, n, err, errlen) < 0) {
            n->a = saved;
            n->in[0] = saved_in;
            nn_op_infer(m, n, err, errlen);
            continue;
        }
        pad->dead = true;
    }
    if (err && err[0])
        err[0] = '\0';
    free(readers);
}


/*
 * Whether node r can take a per-channel scale of its input x in its
 * filter: a 1x1 stride-1 convolution without explicit padding, or any
 * depthwise convolution (zero padding stays zero when scaled).
 */
static bool nn_scale_reader_ok(const struct nn_model *m,
                               const struct nn_node *r, int x)
{
    if (r->dead || r->folded || r->scale >= 0 || r->in[0] != x)
        return false;
    for (int i = 1; i < r->n_in; i++)
        if (r->in[i] == x)
            return false;
    if (r->bias == x || r->residual == x)
        return false;
    if (r->op == NN_OP_DEPTHWISE)
        return true;
    if (r->op != NN_OP_CONV2D)
        return false;
    const struct nn_tensor *f = &m->tensors[r->in[1]];

    return f->dims[0] == 1 && f->dims[1] == 1 && r->a.strides[1] == 1 &&
           r->a.strides[2] == 1 && r->a.padding != NN_PAD_EXPLICIT;
}

/*
 * Fold Mul(x, s), s a per-channel vector such as a squeeze-and-excite
 * gate, into the convolutions that read it.  conv(x * s) equals x times
 * the filter with the weights of input channel c scaled by s[c], which
 * costs one pass over the filter per run in place of a pass over x.  Every
 * reader must be a 1x1 or a depthwise convolution.
 */
static int nn_fuse_channel_scale(struct nn_model *m)
{
    int *readers = calloc((size_t)m->n_tensors + 1, sizeof(int));

    if (!readers)
        return -ENOMEM;
    nn_count_readers(m, readers);
    for (int k = 0; k < m->n_order; k++) {
        struct nn_node *mul = &m->nodes[m->order[k]];
        int found = 0;

        if (mul->dead || mul->folded || mul->op != NN_OP_MUL ||
            mul->n_in != 2 || readers[mul->out[0]] < 1 ||
            m->tensors[mul->out[0]].is_io)
            continue;
        const struct nn_tensor *y = &m->tensors[mul->out[0]];

        if (y->ndim != 4 || y->dims[0] != 1)
            continue;
        int x = -1, sv = -1;

        for (int i = 0; i < 2; i++) {
            const struct nn_tensor *t = &m->tensors[mul->in[i]];

            if (t->count == y->count && t->ndim == 4)
                x = mul->in[i];
            else if (t->count == y->dims[3] && t->dims[t->ndim - 1] ==
                                                   y->dims[3])
                sv = mul->in[i];
        }
        if (x < 0 || sv < 0 || m->tensors[sv].dtype != NN_DTYPE_FLOAT32)
            continue;
        /* Every reader, through any input or fused tensor, must qualify. */
        for (int j = 0; j < m->n_order && found >= 0; j++) {
            struct nn_node *r = &m->nodes[m->order[j]];
            bool reads = r->bias == mul->out[0] ||
                         r->residual == mul->out[0] ||
                         r->scale == mul->out[0];

            for (int i = 0; i < r->n_in; i++)
                reads = reads || r->in[i] == mul->out[0];
            if (!reads || r->dead || r->folded)
                continue;
            found = nn_scale_reader_ok(m, r, mul->out[0]) ? found + 1 : -1;
        }
        if (found <= 0)
            continue;
        for (int j = 0; j < m->n_order; j++) {
            struct nn_node *r = &m->nodes[m->order[j]];
            const struct nn_tensor *f;

            if (r->dead || r->folded || r->in[0] != mul->out[0])
                continue;
            f = &m->tensors[r->in[1]];
            r->scaled_filter = malloc((size_t)f->count * sizeof(float));
            if (!r->scaled_filter) {
                free(readers);
                return -ENOMEM;
            }
            r->scale = sv;
            r->in[0] = x;
        }
        mul->dead = true;
    }
    free(readers);
    return 0;
}


/*
 * Let the producer of an Identity's input write straight into the
 * Identity's output, and point the input's other readers there too, so
 * the copy disappears (centernet's outputs are Identities of large maps).
 */
static void nn_fuse_identities(struct nn_model *m)
{
    for (int k = 0; k < m->n_order; k++) {
        struct nn_node *id = &m->nodes[m->order[k]];

        if (id->dead || id->folded || id->op != NN_OP_IDENTITY)
            continue;
        int from = id->in[0], to = id->out[0];
        int p = m->tensors[from].producer;

        if (p < 0 || m->tensors[from].is_io || m->tensors[from].is_const ||
            m->nodes[p].folded || m->nodes[p].op == NN_OP_PLACEHOLDER)
            continue;
        struct nn_node *prod = &m->nodes[p];

        for (int i = 0; i < prod->n_out; i++)
            if (prod->out[i] == from)
                prod->out[i] = to;
        m->tensors[to].producer = p;
        for (int j = 0; j < m->n_nodes; j++) {
            struct nn_node *r = &m->nodes[j];

            if (r->dead || r == id)
                continue;
            for (int i = 0; i < r->n_in; i++)
                if (r->in[i] == from)
                    r->in[i] = to;
            if (r->bias == from)
                r->bias = to;
            if (r->residual == from)
                r->residual = to;
            if (r->scale == from)
                r->scale = to;
        }
        id->dead = true;
    }
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

/* Apply a ReLU that is the only reader of a float concatenation in it. */
static int nn_fuse_concat_relu(struct nn_model *m)
{
    int *readers = calloc((size_t)m->n_tensors + 1, sizeof(int));

    if (!readers)
        return -ENOMEM;
    nn_count_readers(m, readers);
    for (int k = 0; k < m->n_order; k++) {
        struct nn_node *cat = &m->nodes[m->order[k]];

        if (cat->dead || cat->folded || cat->op != NN_OP_CONCAT ||
            cat->a.act != NN_ACT_NONE ||
            m->tensors[cat->out[0]].dtype != NN_DTYPE_FLOAT32)
            continue;
        struct nn_node *relu = nn_sole_reader(m, readers, cat->out[0]);

        if (!relu || relu->op != NN_OP_RELU)
            continue;
        cat->a.act = NN_ACT_RELU;
        nn_absorb(m, cat, relu);
    }
    free(readers);
    return 0;
}

/* The only live reader of tensor t if it has operation op, else NULL. */
static struct nn_node *nn_sole_reader_op(struct nn_model *m,
                                         const int *readers, int t,
                                         enum nn_op op)
{
    struct nn_node *r = nn_sole_reader(m, readers, t);

    return r && r->op == op ? r : NULL;
}

/*
 * Fuse the peak test of CenterNet-style heads, Mul(x, Cast(Equal(x,
 * MaxPool(x)))) with a stride-1 MaxPool whose output has x's shape, into
 * the MaxPool: four passes over the map become one.
 */
static int nn_fuse_keep_max(struct nn_model *m)
{
    int *readers = calloc((size_t)m->n_tensors + 1, sizeof(int));

    if (!readers)
        return -ENOMEM;
    nn_count_readers(m, readers);
    for (int k = 0; k < m->n_order; k++) {
        struct nn_node *mp = &m->nodes[m->order[k]];

        if (mp->dead || mp->folded || mp->op != NN_OP_MAXPOOL ||
            mp->a.keep_max)
            continue;
        int x = mp->in[0], pooled = mp->out[0];
        const struct nn_tensor *xt = &m->tensors[x];
        const struct nn_tensor *pt = &m->tensors[pooled];

        if (xt->ndim != 4 || pt->ndim != 4 ||
            memcmp(xt->dims, pt->dims, sizeof(xt->dims)) != 0)
            continue;
        struct nn_node *eq = nn_sole_reader_op(m, readers, pooled,
                                               NN_OP_EQUAL);

        if (!eq || eq->n_in != 2 ||
            !((eq->in[0] == x && eq->in[1] == pooled) ||
              (eq->in[1] == x && eq->in[0] == pooled)))
            continue;
        struct nn_node *cast = nn_sole_reader_op(m, readers, eq->out[0],
                                                 NN_OP_CAST);

        if (!cast || cast->a.dst_type != NN_DTYPE_FLOAT32)
            continue;
        struct nn_node *mul = nn_sole_reader_op(m, readers, cast->out[0],
                                                NN_OP_MUL);

        if (!mul || mul->n_in != 2 ||
            !((mul->in[0] == x && mul->in[1] == cast->out[0]) ||
              (mul->in[1] == x && mul->in[0] == cast->out[0])) ||
            m->tensors[mul->out[0]].count != xt->count)
            continue;
        mp->a.keep_max = true;
        mp->out[0] = mul->out[0];
        m->tensors[mp->out[0]].producer = (int)(mp - m->nodes);
        eq->dead = true;
        cast->dead = true;
        mul->dead = true;
        nn_count_readers(m, readers);
    }
    free(readers);
    return 0;
}

/*
 * Let each 1x1 stride-1 convolution that is the only reader of a depthwise
 * convolution's output compute that depthwise convolution itself, block by
 * block (nn_conv2d_dw), so that the intermediate tensor is never stored.
 */
static int nn_fuse_depthwise(struct nn_model *m, char *err, size_t errlen)
{
    int *readers = calloc((size_t)m->n_tensors + 1, sizeof(int));

    if (!readers)
        return -ENOMEM;
    /* Residual, bias and scale tensors count as reads here. */
    nn_count_readers(m, readers);
    for (int k = 0; k < m->n_order; k++) {
        struct nn_node *n = &m->nodes[m->order[k]];
        int extra[3] = {n->bias, n->residual, n->scale};

        for (int i = 0; i < 3 && !n->dead && !n->folded; i++)
            if (extra[i] >= 0)
                readers[extra[i]]++;
    }
    for (int k = 0; k < m->n_order; k++) {
        struct nn_node *d = &m->nodes[m->order[k]];
        struct nn_conv_args da, pa;

        if (d->dead || d->folded || d->op != NN_OP_DEPTHWISE)
            continue;
        struct nn_node *pw = nn_sole_reader(m, readers, d->out[0]);

        if (!pw || pw->op != NN_OP_CONV2D || pw->in[0] != d->out[0] ||
            pw->scale >= 0 || pw->dw_node >= 0 || pw->wino_filter ||
            nn_order_pos(m, (int)(pw - m->nodes)) <= k)
            continue;
        if (nn_conv_args_fill(m, d, &da, err, errlen) < 0 ||
            nn_conv_args_fill(m, pw, &pa, err, errlen) < 0 ||
            !nn_conv2d_dw_ok(m, &da, &pa))
            continue;
        size_t scratch = nn_conv2d_dw_scratch(&da, false);

        if (scratch > pw->scratch)
            pw->scratch = scratch;
        pw->dw_node = m->order[k];
        pw->flops += d->flops;
        d->dead = true;
    }
    if (err && err[0])
        err[0] = '\0';
    free(readers);
    return 0;
}

/*
 * Let each depthwise convolution fused into a 1x1 convolution also take
 * in the 1x1 stride-1 convolution that computes its input, when that
 * input has no other reader.  nn_conv2d_dw then computes the expanded
 * rows a window at a time, so MobileNet's expanded tensors (16 MiB at
 * centernet's first block) are never stored.
 */
static int nn_fuse_expand(struct nn_model *m, char *err, size_t errlen)
{
    int *readers = calloc((size_t)m->n_tensors + 1, sizeof(int));

    if (!readers)
        return -ENOMEM;
    nn_count_readers(m, readers);
    /*
     * Fused tensors count as reads, and so does the input of each fused
     * depthwise node, which is dead and so not counted above.
     */
    for (int k = 0; k < m->n_order; k++) {
        const struct nn_node *n = &m->nodes[m->order[k]];
        int extra[4] = {n->bias, n->residual, n->scale,
                        n->dw_node >= 0 ? m->nodes[n->dw_node].in[0] : -1};

        for (int i = 0; i < 4 && !n->dead && !n->folded; i++)
            if (extra[i] >= 0)
                readers[extra[i]]++;
    }
    for (int k = 0; k < m->n_order; k++) {
        struct nn_node *pw = &m->nodes[m->order[k]];
        struct nn_conv_args ea, da, pa;

        if (pw->dead || pw->folded || pw->dw_node < 0)
            continue;
        struct nn_node *d = &m->nodes[pw->dw_node];
        int t = d->in[0], p = m->tensors[t].producer;

        /*
         * NOTE: expanded tensors below 4 MiB per image stay in cache, and
         * fusing centernet's (0.1 to 3 MiB) measured within noise, so they
         * keep the plain path.  The bound is a heuristic.
         */
        if (d->expand_node >= 0 || p < 0 || readers[t] != 1 ||
            m->tensors[t].is_io || d->scale >= 0 ||
            (size_t)m->tensors[t].count * sizeof(float) /
                    (size_t)m->tensors[t].dims[0] < (4u << 20))
            continue;
        struct nn_node *ex = &m->nodes[p];

        if (ex->dead || ex->folded || ex->op != NN_OP_CONV2D ||
            ex->scale >= 0 || ex->dw_node >= 0 || ex->residual >= 0 ||
            ex->wino_filter)
            continue;
        if (nn_conv_args_fill(m, ex, &ea, err, errlen) < 0 ||
            nn_conv_args_fill(m, d, &da, err, errlen) < 0 ||
            nn_conv_args_fill(m, pw, &pa, err, errlen) < 0 ||
            !nn_conv2d_expand_ok(&ea, &da))
            continue;
        size_t scratch = nn_conv2d_dw_scratch(&da, true);

        if (scratch > pw->scratch)
            pw->scratch = scratch;
        d->expand_node = p;
        pw->flops += ex->flops;
        ex->dead = true;
    }
    if (err && err[0])
        err[0] = '\0';
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
        int extra[3] = {node->bias, node->residual, node->scale};

        for (int i = 0; i < node->n_in + 3; i++) {
            int t = i < node->n_in ? node->in[i] : extra[i - node->n_in];

            /* A fused depthwise output is replaced by the depthwise inputs. */
            if (t < 0 || (i == 0 && node->dw_node >= 0))
                continue;
            if (m->tensors[t].first_step < 0)
                m->tensors[t].first_step = k;
            m->tensors[t].last_step = k;
        }
        if (node->dw_node >= 0) {
            const struct nn_node *d = &m->nodes[node->dw_node];
            const struct nn_node *ex = d->expand_node >= 0
                                           ? &m->nodes[d->expand_node]
                                           : NULL;
            int ex_n = ex ? ex->n_in : 0;
            int dw_extra[4] = {d->bias, d->residual, d->scale,
                               ex ? ex->bias : -1};

            /* Inputs of the depthwise node, then of the expanding one. */
            for (int i = 0; i < d->n_in + ex_n + 4; i++) {
                int t = i < d->n_in          ? d->in[i]
                        : i < d->n_in + ex_n ? ex->in[i - d->n_in]
                                             : dw_extra[i - d->n_in - ex_n];

                /* An expanded input is never stored. */
                if (t < 0 || (i == 0 && ex))
                    continue;
                if (m->tensors[t].first_step < 0)
                    m->tensors[t].first_step = k;
                m->tensors[t].last_step = k;
            }
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
 * Place every activation tensor in one arena, largest first, at the lowest
 * offset free of every placed tensor whose lifetime overlaps.  A buffer is
 * thus reused once its last reader has run.
 */
/*
 * Let the output of each Reshape, ExpandDims or Identity share the buffer
 * of its input (root[out] = root[in]), whose lifetime then covers both,
 * so that nn_exec_copy finds nothing to copy.  Tensors are written only
 * by their producer, so sharing is safe.
 */
static void nn_plan_aliases(struct nn_model *m, int *root)
{
    for (int t = 0; t < m->n_tensors; t++)
        root[t] = t;
    for (int k = 0; k < m->n_order; k++) {
        const struct nn_node *n = &m->nodes[m->order[k]];

        if (n->op != NN_OP_RESHAPE && n->op != NN_OP_EXPAND_DIMS &&
            n->op != NN_OP_IDENTITY)
            continue;
        struct nn_tensor *in = &m->tensors[n->in[0]];
        struct nn_tensor *out = &m->tensors[n->out[0]];

        if (in->is_const || !in->shaped || !out->shaped ||
            in->dtype != out->dtype || in->count != out->count ||
            in->last_step < 0)
            continue;
        struct nn_tensor *r = &m->tensors[root[n->in[0]]];

        root[n->out[0]] = root[n->in[0]];
        if (out->last_step > r->last_step)
            r->last_step = out->last_step;
    }
}

static int nn_plan_arena(struct nn_model *m)
{
    int *list = malloc(((size_t)m->n_tensors + 1) * sizeof(int));
    int *placed = malloc(((size_t)m->n_tensors + 1) * sizeof(int));
    int *root = malloc(((size_t)m->n_tensors + 1) * sizeof(int));
    int n = 0, np = 0;
    size_t total = 0, scratch = 0;

    if (!list || !placed || !root) {
        free(list);
        free(placed);
        free(root);
        return -ENOMEM;
    }
    nn_plan_aliases(m, root);
    for (int t = 0; t < m->n_tensors; t++) {
        struct nn_tensor *x = &m->tensors[t];

        if (!x->is_const && x->shaped && root[t] == t &&
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
        free(root);
        return -EFBIG;
    }
    m->arena = aligned_alloc(NN_ALIGN, m->arena_size ? m->arena_size
                                                     : NN_ALIGN);
    if (!m->arena) {
        free(list);
        free(placed);
        free(root);
        return -ENOMEM;
    }
    memset(m->arena, 0, m->arena_size ? m->arena_size : NN_ALIGN);
    for (int i = 0; i < n; i++) {
        struct nn_tensor *x = &m->tensors[list[i]];

        x->data = (char *)m->arena + x->arena_off;
    }
    for (int t = 0; t < m->n_tensors; t++) {
        if (root[t] == t)
            continue;
        m->tensors[t].arena_off = m->tensors[root[t]].arena_off;
        m->tensors[t].data = m->tensors[root[t]].data;
    }
    free(list);
    free(placed);
    free(root);
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
        rc = nn_plan_layout(m, err, errlen);
        if (rc < 0)
            return rc;
        nn_fuse_pads(m, err, errlen);
        rc = nn_fuse_channel_scale(m);
        if (rc < 0)
            return rc;
        rc = nn_plan_fuse(m);
        if (rc < 0)
            return rc;
        nn_fuse_identities(m);
        rc = nn_fuse_concat_relu(m);
        if (rc < 0)
            return rc;
        rc = nn_fuse_keep_max(m);
        if (rc < 0)
            return rc;
        rc = nn_fuse_depthwise(m, err, errlen);
        if (rc < 0)
            return rc;
        rc = nn_fuse_expand(m, err, errlen);
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

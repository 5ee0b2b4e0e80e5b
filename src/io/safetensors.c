/* safetensors reader (mmap + full header validation) and atomic writer.
 *
 * The reader trusts nothing in the file: the header length is bounded before anything is
 * allocated, every number in the JSON must be an exact non-negative integer, element counts are
 * multiplied with overflow checks, and the tensors must tile the data buffer exactly (sorted by
 * begin, each begin equal to the previous end, the last end equal to the buffer size), which is
 * what the reference Rust implementation validates.
 *
 * Byte order: the format is little-endian and so is every host we target; tensor bytes are
 * copied as they are (a static check below refuses to compile on a big-endian host). */
#include "io/safetensors.h"

#include "core/error.h"
#include "core/fileio.h"
#include "core/quote.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__)
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors I/O assumes a little-endian host");
#else
#error "cannot determine the byte order; safetensors I/O assumes a little-endian host"
#endif
_Static_assert(CHAR_BIT == 8 && sizeof(float) == 4 && sizeof(double) == 8, "IEEE float32/float64 expected");

/* The Rust reference refuses headers above 100 MB; so do we, before allocating anything. */
#define SG_ST_HEADER_MAX 100000000ull
/* Integers in the JSON header go through cJSON's double: only values up to 2^53 are exact. */
#define SG_ST_INT_MAX (1ull << 53)
#define SG_ST_METADATA "__metadata__"

static const struct {
    const char *name;  /* as in the file */
    const char *lower; /* for messages */
    size_t size;       /* bytes per element */
} sg_dtypes[] = {
    [SG_DT_F32] = {"F32", "f32", 4}, [SG_DT_F16] = {"F16", "f16", 2}, [SG_DT_BF16] = {"BF16", "bf16", 2},
    [SG_DT_F64] = {"F64", "f64", 8}, [SG_DT_I64] = {"I64", "i64", 8}, [SG_DT_I32] = {"I32", "i32", 4},
    [SG_DT_I8] = {"I8", "i8", 1},    [SG_DT_U8] = {"U8", "u8", 1},    [SG_DT_BOOL] = {"BOOL", "bool", 1},
};
#define SG_DT_COUNT ((int)(sizeof sg_dtypes / sizeof sg_dtypes[0]))

/* ---------------------------------------------------------------- small helpers */

static int sg_mul_size(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a) return -1;
    *out = a * b;
    return 0;
}

/* "[2, 3]" (fits easily: 8 dims of at most 16 digits each). */
static const char *sg_fmt_shape(char *buf, size_t cap, const int64_t *shape, int ndim) {
    size_t used = 0;
    buf[0] = '\0';
    used += (size_t)snprintf(buf + used, cap - used, "[");
    for (int i = 0; i < ndim && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%" PRId64, i ? ", " : "", shape[i]);
    if (used < cap) snprintf(buf + used, cap - used, "]");
    return buf;
}

/* An exact integer in [0, min(2^53, SIZE_MAX)]: rejects negatives, fractions, inf and absurd sizes. */
static int sg_json_size(const cJSON *v, size_t *out) {
    if (!cJSON_IsNumber(v)) return -1;
    double d = v->valuedouble;
    if (!(d >= 0.0) || d > (double)SG_ST_INT_MAX) return -1; /* also catches NaN */
    uint64_t u = (uint64_t)d;
    if ((double)u != d || u > SIZE_MAX) return -1;
    *out = (size_t)u;
    return 0;
}

static uint64_t sg_load_le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* ---------------------------------------------------------------- reader */

void sg_st_close(sg_safetensors *st) {
    if (!st) return;
    if (st->map) munmap(st->map, st->map_size);
    free(st->tensors);
    memset(st, 0, sizeof *st);
}

static int sg_st_check_metadata(const char *path, const cJSON *meta) {
    if (!cJSON_IsObject(meta)) return sg_fail("%s: '" SG_ST_METADATA "' is not a JSON object", path);
    for (const cJSON *kv = meta->child; kv; kv = kv->next)
        if (!cJSON_IsString(kv))
            return sg_fail("%s: '" SG_ST_METADATA "' key '%s' is not a string", path, kv->string);
    return 0;
}

/* A tensor name from the file as a quoted, escaped excerpt (buf: SG_QUOTE_BUF bytes). */
static const char *quote_name(char *buf, const char *name) {
    return sg_quote(buf, SG_QUOTE_BUF, name, strlen(name), SG_QUOTE_EXCERPT);
}

/* Fill `t` from one header entry, checking types, dtype, shape and the byte count. */
static int sg_st_load_entry(const sg_safetensors *st, const cJSON *item, sg_st_tensor *t) {
    const char *path = st->path, *name = item->string;
    size_t name_len = strlen(name);
    if (name_len >= SG_ST_NAME_MAX)
        return sg_fail("%s: tensor name %s is longer than the limit of %d bytes", path,
                       sg_quote((char[SG_QUOTE_BUF]){0}, SG_QUOTE_BUF, name, name_len, 60), SG_ST_NAME_MAX - 1);
    memcpy(t->name, name, name_len + 1);
    char quoted[SG_QUOTE_BUF]; /* messages show the name as a quoted, escaped excerpt */
    name = sg_quote(quoted, sizeof quoted, name, name_len, SG_QUOTE_EXCERPT);
    if (!cJSON_IsObject(item)) return sg_fail("%s: tensor %s: entry is not a JSON object", path, name);

    const cJSON *dtype = NULL, *shape = NULL, *offsets = NULL;
    for (const cJSON *f = item->child; f; f = f->next) {
        const cJSON **slot = !strcmp(f->string, "dtype")          ? &dtype
                             : !strcmp(f->string, "shape")        ? &shape
                             : !strcmp(f->string, "data_offsets") ? &offsets
                                                                  : NULL;
        if (!slot) continue; /* unknown fields are ignored, as serde does */
        if (*slot) return sg_fail("%s: tensor %s: duplicate key '%s'", path, name, f->string);
        *slot = f;
    }
    if (!dtype) return sg_fail("%s: tensor %s: missing 'dtype'", path, name);
    if (!shape) return sg_fail("%s: tensor %s: missing 'shape'", path, name);
    if (!offsets) return sg_fail("%s: tensor %s: missing 'data_offsets'", path, name);

    if (!cJSON_IsString(dtype)) return sg_fail("%s: tensor %s: 'dtype' is not a string", path, name);
    int dt = -1;
    for (int i = 0; i < SG_DT_COUNT; i++)
        if (!strcmp(dtype->valuestring, sg_dtypes[i].name)) dt = i;
    if (dt < 0)
        return sg_fail("%s: tensor %s: unsupported dtype %s (expected F32, F16, BF16, F64, I64, I32, "
                       "I8, U8 or BOOL)",
                       path, name, sg_quote((char[SG_QUOTE_BUF]){0}, SG_QUOTE_BUF, dtype->valuestring,
                                            strlen(dtype->valuestring), 40));
    t->dtype = (sg_dtype)dt;

    if (!cJSON_IsArray(shape)) return sg_fail("%s: tensor %s: 'shape' is not an array", path, name);
    int ndim = cJSON_GetArraySize(shape);
    if (ndim > SG_ST_MAX_DIMS)
        return sg_fail("%s: tensor %s: shape has %d dims, more than the limit of %d", path, name, ndim,
                       SG_ST_MAX_DIMS);
    t->ndim = ndim;
    size_t numel = 1;
    int overflow = 0, d = 0;
    for (const cJSON *v = shape->child; v; v = v->next, d++) {
        size_t dim;
        if (sg_json_size(v, &dim) != 0)
            return sg_fail("%s: tensor %s: shape dimension %d is not an integer in [0, 2^53]", path, name, d);
        t->shape[d] = (int64_t)dim;
        if (sg_mul_size(numel, dim, &numel) != 0) overflow = 1;
    }
    size_t need = 0;
    char sbuf[256];
    if (overflow || sg_mul_size(numel, sg_dtypes[dt].size, &need) != 0)
        return sg_fail("%s: tensor %s: shape %s %s: element count overflows", path, name,
                       sg_fmt_shape(sbuf, sizeof sbuf, t->shape, ndim), sg_dtypes[dt].lower);
    t->numel = numel;

    size_t begin, end;
    if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2 || sg_json_size(offsets->child, &begin) != 0 ||
        sg_json_size(offsets->child->next, &end) != 0)
        return sg_fail("%s: tensor %s: 'data_offsets' must be 2 non-negative integers [begin, end]", path, name);
    if (begin > end)
        return sg_fail("%s: tensor %s: data_offsets [%zu, %zu] begin after they end", path, name, begin, end);
    if (end > st->data_size)
        return sg_fail("%s: tensor %s: data_offsets [%zu, %zu] run past the end of the %zu-byte data buffer "
                       "(file truncated?)",
                       path, name, begin, end, st->data_size);
    if (end - begin != need)
        return sg_fail("%s: tensor %s: data_offsets [%zu, %zu] hold %zu bytes but shape %s %s needs %zu", path,
                       name, begin, end, end - begin, sg_fmt_shape(sbuf, sizeof sbuf, t->shape, ndim),
                       sg_dtypes[dt].lower, need);
    t->begin = begin;
    t->end = end;
    return 0;
}

static int sg_cmp_name(const void *a, const void *b) {
    const sg_st_tensor *x = *(const sg_st_tensor *const *)a, *y = *(const sg_st_tensor *const *)b;
    return strcmp(x->name, y->name);
}

static int sg_cmp_offsets(const void *a, const void *b) {
    const sg_st_tensor *x = *(const sg_st_tensor *const *)a, *y = *(const sg_st_tensor *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return x < y ? -1 : x > y; /* header order: keeps the messages deterministic */
}

/* Names unique; tensors tile [0, data_size) with no overlap and no hole. */
static int sg_st_check_layout(const sg_safetensors *st) {
    const char *path = st->path;
    if (st->count == 0) {
        if (st->data_size != 0)
            return sg_fail("%s: data buffer has %zu bytes but no tensors (hole at the end)", path, st->data_size);
        return 0;
    }
    const sg_st_tensor **order = malloc((size_t)st->count * sizeof *order);
    if (!order) return sg_fail("%s: out of memory checking %d tensors", path, st->count);
    for (int i = 0; i < st->count; i++) order[i] = &st->tensors[i];

    int rc = 0;
    char qa[SG_QUOTE_BUF], qb[SG_QUOTE_BUF]; /* names come from the file: quoted excerpts */
    qsort(order, (size_t)st->count, sizeof *order, sg_cmp_name);
    for (int i = 1; i < st->count && rc == 0; i++)
        if (!strcmp(order[i - 1]->name, order[i]->name))
            rc = sg_fail("%s: tensor %s appears twice in the header (duplicate name)", path, quote_name(qa, order[i]->name));

    qsort(order, (size_t)st->count, sizeof *order, sg_cmp_offsets);
    size_t expect = 0;
    for (int i = 0; i < st->count && rc == 0; i++) {
        const sg_st_tensor *t = order[i], *prev = i ? order[i - 1] : NULL;
        if (t->begin < expect)
            rc = sg_fail("%s: tensor %s: data_offsets [%zu, %zu] overlap tensor %s [%zu, %zu]", path,
                         quote_name(qa, t->name), t->begin, t->end, quote_name(qb, prev->name), prev->begin, prev->end);
        else if (t->begin > expect && prev)
            rc = sg_fail("%s: tensor %s: data_offsets [%zu, %zu] leave a hole of %zu bytes after tensor %s "
                         "[%zu, %zu]",
                         path, quote_name(qa, t->name), t->begin, t->end, t->begin - expect, quote_name(qb, prev->name),
                         prev->begin, prev->end);
        else if (t->begin > expect)
            rc = sg_fail("%s: tensor %s: data_offsets [%zu, %zu] leave a hole of %zu bytes at the start of the "
                         "data buffer",
                         path, quote_name(qa, t->name), t->begin, t->end, t->begin);
        expect = t->end;
    }
    if (rc == 0 && expect != st->data_size)
        rc = sg_fail("%s: data buffer has %zu bytes but the tensors end at %zu (hole of %zu bytes at the end)",
                     path, st->data_size, expect, st->data_size - expect);
    free(order);
    return rc;
}

static int sg_st_load_header(sg_safetensors *st, const cJSON *root) {
    const char *path = st->path;
    if (!cJSON_IsObject(root)) return sg_fail("%s: header is not a JSON object", path);
    int count = 0, metas = 0;
    for (const cJSON *c = root->child; c; c = c->next) {
        if (strcmp(c->string, SG_ST_METADATA) != 0) {
            if (count == INT_MAX) return sg_fail("%s: too many tensors in the header", path);
            count++;
            continue;
        }
        if (++metas > 1) return sg_fail("%s: '" SG_ST_METADATA "' appears twice in the header", path);
        if (sg_st_check_metadata(path, c) != 0) return -1;
    }
    /* The array grows with the entries that validate: a header of a million empty entries is
     * refused at the first one instead of first allocating a million descriptions. */
    int cap = 0;
    for (const cJSON *c = root->child; c; c = c->next) {
        if (!strcmp(c->string, SG_ST_METADATA)) continue;
        if (st->count == cap) {
            int grown = cap ? (cap > count / 2 ? count : cap * 2) : (count < 64 ? count : 64);
            sg_st_tensor *more = realloc(st->tensors, (size_t)grown * sizeof *more);
            if (!more) return sg_fail("%s: out of memory for %d tensor descriptions", path, grown);
            st->tensors = more;
            cap = grown;
        }
        memset(&st->tensors[st->count], 0, sizeof st->tensors[st->count]);
        if (sg_st_load_entry(st, c, &st->tensors[st->count]) != 0) return -1;
        st->count++;
    }
    return sg_st_check_layout(st);
}

/* Validate the file's bytes (size >= 8): header length, JSON, entries, layout. */
static int sg_st_parse(sg_safetensors *st, const uint8_t *bytes, size_t size) {
    const char *path = st->path;
    uint64_t n = sg_load_le64(bytes);
    size_t after = size - 8;
    if (n > SG_ST_HEADER_MAX)
        return sg_fail("%s: header length %" PRIu64 " exceeds the limit of %llu bytes (corrupt or not a "
                       "safetensors file)",
                       path, n, SG_ST_HEADER_MAX);
    if (n > after)
        return sg_fail("%s: header length %" PRIu64 " runs past the end of the file (%zu bytes follow the "
                       "length field)",
                       path, n, after);
    st->data = bytes + 8 + n;
    st->data_size = after - (size_t)n;

    /* cJSON wants a NUL-terminated string; the mapped header is not. */
    char *text = malloc((size_t)n + 1);
    if (!text) return sg_fail("%s: out of memory for a %" PRIu64 "-byte header", path, n);
    memcpy(text, bytes + 8, (size_t)n);
    text[n] = '\0';
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, 0);
    if (!root) {
        size_t at = end ? (size_t)(end - text) : 0;
        free(text);
        return sg_fail("%s: header is not valid JSON (error at byte %zu of %" PRIu64 ")", path, at, n);
    }
    /* Only whitespace (the writer's padding) may follow the object; an embedded NUL stops here too. */
    for (const char *p = end; p < text + n; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            size_t at = (size_t)(p - text);
            free(text);
            cJSON_Delete(root);
            return sg_fail("%s: header is not valid JSON (unexpected data at byte %zu of %" PRIu64 " after the "
                           "top-level value)",
                           path, at, n);
        }
    }
    free(text);
    int rc = sg_st_load_header(st, root);
    cJSON_Delete(root);
    return rc;
}

int sg_st_open(sg_safetensors *st, const char *path) {
    memset(st, 0, sizeof *st);
    if (!path) return sg_fail("safetensors: no path given");
    size_t path_len = strlen(path);
    if (path_len >= sizeof st->path)
        return sg_fail("%.200s...: path is longer than %zu bytes", path, sizeof st->path - 1);
    memcpy(st->path, path, path_len + 1);

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return sg_fail_open(path, errno);
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int err = errno;
        close(fd);
        return sg_fail("%s: cannot stat: %s", path, strerror(err));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return sg_fail("%s: %s", path, S_ISDIR(sb.st_mode) ? "is a directory, not a file" : "not a regular file");
    }
    if (sb.st_size < 8) {
        close(fd);
        return sg_fail("%s: file is %lld bytes, too short for the 8-byte header length (truncated?)", path,
                       (long long)sb.st_size);
    }
    if ((uint64_t)sb.st_size > SIZE_MAX) {
        close(fd);
        return sg_fail("%s: file of %lld bytes is too large to map", path, (long long)sb.st_size);
    }
    /* The mapping stays valid after close. If another process truncates the file while it is
     * mapped, touching the lost pages raises SIGBUS: files are written by rename, never in place. */
    size_t size = (size_t)sb.st_size;
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int err = errno;
    close(fd);
    if (map == MAP_FAILED) return sg_fail("%s: cannot mmap %zu bytes: %s", path, size, strerror(err));
    st->map = map;
    st->map_size = size;
    if (sg_st_parse(st, map, size) != 0) {
        sg_st_close(st); /* keeps the recorded message */
        return -1;
    }
    return 0;
}

int sg_st_open_buffer(sg_safetensors *st, const void *bytes, size_t len, const char *name) {
    memset(st, 0, sizeof *st);
    snprintf(st->path, sizeof st->path, "%s", name ? name : "(memory)");
    if (!bytes || len < 8)
        return sg_fail("%s: file is %zu bytes, too short for the 8-byte header length (truncated?)", st->path, len);
    if (sg_st_parse(st, bytes, len) != 0) {
        sg_st_close(st); /* keeps the recorded message */
        return -1;
    }
    return 0;
}

const sg_st_tensor *sg_st_find(const sg_safetensors *st, const char *name) {
    if (!st || !name) return NULL;
    for (int i = 0; i < st->count; i++)
        if (!strcmp(st->tensors[i].name, name)) return &st->tensors[i];
    return NULL;
}

/* ---------------------------------------------------------------- conversion to f32 */

static float sg_bits_to_float(uint32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* IEEE binary16 -> binary32, exact (every half is a float): zeros, subnormals, inf, NaN payloads. */
static float sg_half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    if (exp == 0) {
        float mag = (float)man * 0x1p-24f; /* subnormal (or zero): man * 2^-24, exact */
        return sign ? -mag : mag;
    }
    if (exp == 31) return sg_bits_to_float(sign | 0x7f800000u | (man << 13));
    return sg_bits_to_float(sign | ((exp + 112u) << 23) | (man << 13)); /* rebias 15 -> 127 */
}

/* double -> float with overflow to +-inf spelled out (out-of-range conversion is undefined in C). */
static float sg_double_to_float(double d) {
    if (isfinite(d) && fabs(d) >= 0x1.ffffffp127) return d > 0 ? INFINITY : -INFINITY;
    return (float)d;
}

int sg_st_read_f32(const sg_safetensors *st, const sg_st_tensor *t, float *out) {
    if (!st || !t) return sg_fail("safetensors: read_f32 without a file or tensor");
    if ((int)t->dtype < 0 || (int)t->dtype >= SG_DT_COUNT)
        return sg_fail("%s: tensor '%s': invalid dtype %d", st->path, t->name, (int)t->dtype);
    size_t need;
    if (sg_mul_size(t->numel, sg_dtypes[t->dtype].size, &need) != 0 || t->begin > t->end ||
        t->end > st->data_size || t->end - t->begin != need)
        return sg_fail("%s: tensor '%s' does not belong to this file", st->path, t->name);
    if (t->numel == 0) return 0;
    if (!out) return sg_fail("%s: tensor '%s': no output buffer", st->path, t->name);

    const uint8_t *src = st->data + t->begin; /* may be unaligned: read through memcpy only */
    switch (t->dtype) {
    case SG_DT_F32: memcpy(out, src, need); return 0;
    case SG_DT_F16:
        for (size_t i = 0; i < t->numel; i++) {
            uint16_t h;
            memcpy(&h, src + 2 * i, 2);
            out[i] = sg_half_to_float(h);
        }
        return 0;
    case SG_DT_BF16: /* the top half of a float32 */
        for (size_t i = 0; i < t->numel; i++) {
            uint16_t h;
            memcpy(&h, src + 2 * i, 2);
            out[i] = sg_bits_to_float((uint32_t)h << 16);
        }
        return 0;
    case SG_DT_F64:
        for (size_t i = 0; i < t->numel; i++) {
            double d;
            memcpy(&d, src + 8 * i, 8);
            out[i] = sg_double_to_float(d);
        }
        return 0;
    default:
        return sg_fail("%s: tensor '%s' has dtype %s; only F32, F16, BF16 and F64 convert to f32", st->path,
                       t->name, sg_dtypes[t->dtype].name);
    }
}

/* ---------------------------------------------------------------- writer */

static int sg_cmp_cstr(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Byte size of each entry's data; checks names, dims and the total. */
static int sg_st_check_entries(const char *path, const sg_st_entry *entries, int n, size_t *bytes) {
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        const sg_st_entry *e = &entries[i];
        if (!e->name) return sg_fail("%s: entry %d has no name", path, i);
        if (strlen(e->name) >= SG_ST_NAME_MAX)
            return sg_fail("%s: tensor name '%.40s...' is longer than the limit of %d bytes", path, e->name,
                           SG_ST_NAME_MAX - 1);
        if (!strcmp(e->name, SG_ST_METADATA))
            return sg_fail("%s: '" SG_ST_METADATA "' is reserved and cannot name a tensor", path);
        if (e->ndim < 0 || e->ndim > SG_ST_MAX_DIMS)
            return sg_fail("%s: tensor '%s': %d dims (expected 0..%d)", path, e->name, e->ndim, SG_ST_MAX_DIMS);
        size_t numel = 1;
        for (int d = 0; d < e->ndim; d++) {
            if (e->shape[d] < 0 || (uint64_t)e->shape[d] > SG_ST_INT_MAX)
                return sg_fail("%s: tensor '%s': dimension %d is %" PRId64 " (expected 0..2^53)", path, e->name, d,
                               e->shape[d]);
            if (sg_mul_size(numel, (size_t)e->shape[d], &numel) != 0)
                return sg_fail("%s: tensor '%s': element count overflows", path, e->name);
        }
        if (sg_mul_size(numel, sizeof(float), &bytes[i]) != 0 || bytes[i] > SG_ST_INT_MAX - total)
            return sg_fail("%s: tensor '%s': data too large", path, e->name);
        if (numel > 0 && !e->data) return sg_fail("%s: tensor '%s' has no data", path, e->name);
        total += bytes[i];
    }
    if (n == 0) return 0;
    const char **names = malloc((size_t)n * sizeof *names);
    if (!names) return sg_fail("%s: out of memory", path);
    for (int i = 0; i < n; i++) names[i] = entries[i].name;
    qsort(names, (size_t)n, sizeof *names, sg_cmp_cstr);
    int rc = 0;
    for (int i = 1; i < n && rc == 0; i++)
        if (!strcmp(names[i - 1], names[i])) rc = sg_fail("%s: duplicate tensor name '%s'", path, names[i]);
    free(names);
    return rc;
}

static int sg_st_check_metadata_pairs(const char *path, const char *const *metadata) {
    if (!metadata) return 0;
    for (int i = 0; metadata[i]; i += 2) {
        if (!metadata[i + 1]) return sg_fail("%s: metadata key '%s' has no value", path, metadata[i]);
        for (int j = 0; j < i; j += 2)
            if (!strcmp(metadata[j], metadata[i]))
                return sg_fail("%s: duplicate metadata key '%s'", path, metadata[i]);
    }
    return 0;
}

/* Integers as raw JSON text: cJSON would print large doubles in exponent notation. */
static cJSON *sg_json_uint(uint64_t v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRIu64, v);
    return cJSON_CreateRaw(buf);
}

static int sg_add_uint(cJSON *array, uint64_t v) {
    cJSON *item = sg_json_uint(v);
    if (!item) return -1;
    if (!cJSON_AddItemToArray(array, item)) {
        cJSON_Delete(item);
        return -1;
    }
    return 0;
}

/* Add `item` under `key`; on failure `item` is freed. */
static int sg_add_item(cJSON *object, const char *key, cJSON *item) {
    if (!item) return -1;
    if (!cJSON_AddItemToObject(object, key, item)) {
        cJSON_Delete(item);
        return -1;
    }
    return 0;
}

/* The header JSON, unpadded; NULL when out of memory. */
static char *sg_st_header_json(const sg_st_entry *entries, int n, const size_t *bytes,
                               const char *const *metadata) {
    cJSON *root = cJSON_CreateObject();
    if (!root) return NULL;
    int ok = 1;
    if (metadata) {
        cJSON *meta = cJSON_CreateObject();
        ok = sg_add_item(root, SG_ST_METADATA, meta) == 0;
        for (int i = 0; ok && metadata[i]; i += 2)
            ok = sg_add_item(meta, metadata[i], cJSON_CreateString(metadata[i + 1])) == 0;
    }
    size_t offset = 0;
    for (int i = 0; ok && i < n; i++) {
        /* each item is attached as soon as it exists, so root owns everything (short-circuit: nothing
         * is created after the first failure) */
        cJSON *t = NULL, *shape = NULL, *offs = NULL;
        ok = sg_add_item(root, entries[i].name, t = cJSON_CreateObject()) == 0;
        ok = ok && sg_add_item(t, "dtype", cJSON_CreateString("F32")) == 0;
        ok = ok && sg_add_item(t, "shape", shape = cJSON_CreateArray()) == 0;
        for (int d = 0; ok && d < entries[i].ndim; d++) ok = sg_add_uint(shape, (uint64_t)entries[i].shape[d]) == 0;
        ok = ok && sg_add_item(t, "data_offsets", offs = cJSON_CreateArray()) == 0;
        ok = ok && sg_add_uint(offs, offset) == 0 && sg_add_uint(offs, offset + bytes[i]) == 0;
        offset += bytes[i];
    }
    char *json = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return json;
}

int sg_st_write(const char *path, const sg_st_entry *entries, int n, const char *const *metadata) {
    if (!path) return sg_fail("safetensors: no path given");
    if (n < 0 || (n > 0 && !entries)) return sg_fail("%s: invalid tensor list (n = %d)", path, n);
    size_t *bytes = calloc(n ? (size_t)n : 1, sizeof *bytes);
    if (!bytes) return sg_fail("%s: out of memory", path);
    if (sg_st_check_entries(path, entries, n, bytes) != 0 || sg_st_check_metadata_pairs(path, metadata) != 0) {
        free(bytes);
        return -1;
    }
    char *json = sg_st_header_json(entries, n, bytes, metadata);
    if (!json) {
        free(bytes);
        return sg_fail("%s: out of memory building the header", path);
    }
    /* Pad with spaces so the data buffer starts 8-byte aligned, as the reference writer does. */
    size_t json_len = strlen(json), header_len = (json_len + 7) & ~(size_t)7;
    uint8_t len_le[8];
    for (int i = 0; i < 8; i++) len_le[i] = (uint8_t)((uint64_t)header_len >> (8 * i));

    /* Written beside and renamed over: a reader that has the old file mapped keeps its pages. */
    sg_atomic_file af;
    int rc = sg_atomic_open(&af, path, SG_TEMP_PER_PROCESS);
    if (!rc) rc = sg_atomic_write(&af, len_le, 8) || sg_atomic_write(&af, json, json_len) ||
                  sg_atomic_write(&af, "        ", header_len - json_len);
    for (int i = 0; i < n && !rc; i++) rc = sg_atomic_write(&af, entries[i].data, bytes[i]);
    if (!rc) rc = sg_atomic_commit(&af);
    free(json);
    free(bytes);
    return rc ? -1 : 0;
}

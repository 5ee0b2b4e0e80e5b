/* safetensors files (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
 * length N, N bytes of JSON {name: {dtype, shape, data_offsets:[begin,end]}, "__metadata__": {...}},
 * then the data buffer. Read by mmap with every offset and size checked; f16 and bf16 are
 * converted to f32 on read. Written atomically (temp file, fsync, rename). */
#ifndef SG_SAFETENSORS_H
#define SG_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define SG_ST_MAX_DIMS 8
#define SG_ST_NAME_MAX 256

typedef enum { SG_DT_F32 = 0, SG_DT_F16, SG_DT_BF16, SG_DT_F64, SG_DT_I64, SG_DT_I32, SG_DT_I8, SG_DT_U8, SG_DT_BOOL } sg_dtype;

typedef struct {
    char name[SG_ST_NAME_MAX];
    sg_dtype dtype;
    int ndim;
    int64_t shape[SG_ST_MAX_DIMS];
    size_t numel;
    size_t begin, end; /* byte offsets into the data buffer */
} sg_st_tensor;

typedef struct {
    char path[4096];
    void *map;
    size_t map_size;
    const uint8_t *data; /* start of the data buffer */
    size_t data_size;
    sg_st_tensor *tensors;
    int count;
} sg_safetensors;

/* Open, mmap and validate the whole header. On error: -1 and a one-line message naming the file
 * (and tensor, where one is at fault); nothing stays open. */
int sg_st_open(sg_safetensors *st, const char *path);
/* The same checks on a file's bytes already in memory (`name` stands for the path in messages).
 * st->data points into `bytes`, which must outlive st; sg_st_close frees only what st owns. */
int sg_st_open_buffer(sg_safetensors *st, const void *bytes, size_t len, const char *name);
void sg_st_close(sg_safetensors *st);
const sg_st_tensor *sg_st_find(const sg_safetensors *st, const char *name);
/* Copy a floating tensor (f32/f16/bf16/f64) into `out` as f32 (out holds t->numel floats). */
int sg_st_read_f32(const sg_safetensors *st, const sg_st_tensor *t, float *out);

typedef struct {
    const char *name;
    int ndim;
    int64_t shape[SG_ST_MAX_DIMS];
    const float *data; /* f32, numel = product of shape */
} sg_st_entry;

/* Write f32 tensors in the given order. metadata: NULL or pairs of strings, NULL-terminated
 * (e.g. {"format", "pt", NULL}). */
int sg_st_write(const char *path, const sg_st_entry *entries, int n, const char *const *metadata);

#endif

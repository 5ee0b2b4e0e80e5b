/* safetensors: writer/reader round trip, f16/bf16/f64 decoding on a hand-built file, and one test
 * per rejection of a malformed file (the message must name the file, the reason, and the tensor). */
#include "core/error.h"
#include "io/safetensors.h"
#include "testlib.h"

#include <dirent.h>
#include <float.h>
#include <stdarg.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *g_dir;

static const char *tmp_path(const char *name) {
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    return path;
}

/* Write a raw safetensors file: 8-byte LE `header_len`, the header text, then `data`. */
static void write_raw_len(const char *name, uint64_t header_len, const char *header, size_t header_bytes,
                          const void *data, size_t data_len) {
    FILE *f = fopen(tmp_path(name), "wb");
    if (!f) {
        CHECK_MSG(0, "cannot create %s", tmp_path(name));
        return;
    }
    uint8_t le[8];
    for (int i = 0; i < 8; i++) le[i] = (uint8_t)(header_len >> (8 * i));
    fwrite(le, 1, 8, f);
    if (header_bytes) fwrite(header, 1, header_bytes, f);
    if (data_len) fwrite(data, 1, data_len, f);
    fclose(f);
}

static void write_raw(const char *name, const char *header, const void *data, size_t data_len) {
    write_raw_len(name, strlen(header), header, strlen(header), data, data_len);
}

static void write_bytes(const char *name, const void *bytes, size_t n) {
    FILE *f = fopen(tmp_path(name), "wb");
    if (!f) return;
    if (n) fwrite(bytes, 1, n, f);
    fclose(f);
}

static int has(const char *s) { return strstr(sg_last_error(), s) != NULL; }

/* sg_st_open must fail, leave nothing open, and its message must contain the file name and every
 * fragment given (NULL-terminated). */
static void expect_reject(const char *name, ...) {
    sg_safetensors st;
    sg_clear_error();
    int rc = sg_st_open(&st, tmp_path(name));
    CHECK_MSG(rc == -1, "%s: opened, expected a rejection", name);
    CHECK_MSG(st.map == NULL && st.tensors == NULL && st.count == 0, "%s: state left after failure", name);
    CHECK_MSG(has(name), "%s: message lacks the file name: %s", name, sg_last_error());
    CHECK_MSG(strchr(sg_last_error(), '\n') == NULL, "%s: message is not one line", name);
    va_list ap;
    va_start(ap, name);
    for (const char *frag; (frag = va_arg(ap, const char *));)
        CHECK_MSG(has(frag), "%s: message lacks '%s': %s", name, frag, sg_last_error());
    va_end(ap);
    if (rc == 0) sg_st_close(&st);
}

static void expect_accept(const char *name) {
    sg_safetensors st;
    int rc = sg_st_open(&st, tmp_path(name));
    CHECK_MSG(rc == 0, "%s: rejected: %s", name, sg_last_error());
    if (rc == 0) sg_st_close(&st);
}

static uint32_t float_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static int count_dir_entries(void) {
    DIR *d = opendir(g_dir);
    int n = 0;
    if (!d) return -1;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static void remove_tmpdir(void) {
    DIR *d = opendir(g_dir);
    if (d) {
        for (struct dirent *e; (e = readdir(d));)
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) unlink(tmp_path(e->d_name));
        closedir(d);
    }
    CHECK(rmdir(g_dir) == 0);
}

/* ---------------------------------------------------------------- round trip */

static void test_round_trip(void) {
    float a[6] = {1.0f, -2.0f, 3.25f, 1e-40f /* subnormal */, -0.0f, 65504.0f};
    float scalar = 3.5f;
    float b[5] = {0.1f, 0.2f, -0.3f, INFINITY, 1e30f};
    sg_st_entry entries[] = {
        {.name = "layer.0.a", .ndim = 2, .shape = {2, 3}, .data = a},
        {.name = "empty", .ndim = 2, .shape = {0, 4}, .data = NULL},
        {.name = "scalar", .ndim = 0, .data = &scalar},
        {.name = "b", .ndim = 1, .shape = {5}, .data = b},
    };
    const char *meta[] = {"format", "pt", "note", "round \"trip\"", NULL};
    const char *path = tmp_path("round.safetensors");
    int before = count_dir_entries();
    CHECK_MSG(sg_st_write(path, entries, 4, meta) == 0, "%s", sg_last_error());
    CHECK_MSG(count_dir_entries() == before + 1, "temp file left behind");

    /* Header layout on disk: length multiple of 8, "__metadata__" first, space padding. */
    FILE *f = fopen(path, "rb");
    uint8_t le[8] = {0};
    char head[64] = {0};
    CHECK(f && fread(le, 1, 8, f) == 8 && fread(head, 1, 16, f) == 16);
    if (f) fclose(f);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | le[i];
    CHECK(hlen % 8 == 0);
    CHECK_MSG(strncmp(head, "{\"__metadata__\":", 16) == 0, "header starts %.16s", head);

    sg_safetensors st;
    CHECK_MSG(sg_st_open(&st, path) == 0, "%s", sg_last_error());
    CHECK(st.count == 4);
    CHECK(st.data_size == (6 + 0 + 1 + 5) * 4);
    CHECK(st.map_size == 8 + hlen + st.data_size);
    /* entry order = header order = data order */
    const char *names[] = {"layer.0.a", "empty", "scalar", "b"};
    size_t begins[] = {0, 24, 24, 28}, ends[] = {24, 24, 28, 48}, numels[] = {6, 0, 1, 5};
    for (int i = 0; i < 4 && st.count == 4; i++) {
        const sg_st_tensor *t = &st.tensors[i];
        CHECK_MSG(strcmp(t->name, names[i]) == 0, "tensor %d is '%s'", i, t->name);
        CHECK(t->dtype == SG_DT_F32);
        CHECK(t->begin == begins[i] && t->end == ends[i] && t->numel == numels[i]);
    }
    const sg_st_tensor *ta = sg_st_find(&st, "layer.0.a"), *te = sg_st_find(&st, "empty"),
                       *ts = sg_st_find(&st, "scalar"), *tb = sg_st_find(&st, "b");
    CHECK(ta && ta->ndim == 2 && ta->shape[0] == 2 && ta->shape[1] == 3);
    CHECK(te && te->ndim == 2 && te->shape[0] == 0 && te->shape[1] == 4 && te->numel == 0);
    CHECK(ts && ts->ndim == 0 && ts->numel == 1);
    CHECK(tb && tb->ndim == 1 && tb->shape[0] == 5);

    float got[8];
    if (ta) {
        memset(got, 0xff, sizeof got);
        CHECK(sg_st_read_f32(&st, ta, got) == 0);
        CHECK_MSG(memcmp(got, a, sizeof a) == 0, "f32 data differs (bit-exact expected)");
        CHECK(signbit(got[4]) && got[4] == 0.0f);
    }
    if (te) CHECK(sg_st_read_f32(&st, te, NULL) == 0); /* numel 0: nothing to copy */
    if (ts) {
        CHECK(sg_st_read_f32(&st, ts, got) == 0);
        CHECK(got[0] == 3.5f);
    }
    if (tb) {
        CHECK(sg_st_read_f32(&st, tb, got) == 0);
        CHECK(memcmp(got, b, sizeof b) == 0);
    }
    sg_st_close(&st);
    CHECK(st.map == NULL && st.tensors == NULL && st.count == 0);
    sg_st_close(&st); /* twice is harmless */

    /* Rewriting replaces the file atomically; no metadata, no tensors is legal too. */
    CHECK_MSG(sg_st_write(path, NULL, 0, NULL) == 0, "%s", sg_last_error());
    CHECK(sg_st_open(&st, path) == 0 && st.count == 0 && st.data_size == 0);
    sg_st_close(&st);
    CHECK(count_dir_entries() == before + 1);
    unlink(path);
}

/* ---------------------------------------------------------------- find */

static void test_find(void) {
    float x[2] = {1, 2};
    sg_st_entry e[] = {{.name = "alpha", .ndim = 1, .shape = {2}, .data = x},
                       {.name = "beta", .ndim = 1, .shape = {1}, .data = x}};
    const char *path = tmp_path("find.safetensors");
    CHECK(sg_st_write(path, e, 2, NULL) == 0);
    sg_safetensors st;
    CHECK(sg_st_open(&st, path) == 0);
    const sg_st_tensor *hit = sg_st_find(&st, "beta");
    CHECK(hit && strcmp(hit->name, "beta") == 0 && hit->numel == 1);
    CHECK(sg_st_find(&st, "gamma") == NULL);
    CHECK(sg_st_find(&st, "alph") == NULL);
    CHECK(sg_st_find(&st, NULL) == NULL);
    sg_st_close(&st);
    unlink(path);
}

/* ---------------------------------------------------------------- decoding */

static void test_decode(void) {
    /* F16 bit patterns and their exact values. */
    static const uint16_t f16[] = {0x3C00, 0xC100, 0x7BFF, 0x0001, 0x03FF, 0x0400, 0x7C00, 0xFC00, 0x7E00, 0x8000};
    /* BF16: 1.0, -2.5, 65280 (65504 is not a bf16), max finite, smallest subnormal, inf, nan. */
    static const uint16_t bf16[] = {0x3F80, 0xC020, 0x477F, 0x7F7F, 0x0001, 0x7F80, 0x7FC0};
    static const double f64[] = {1.5, -2.5, 1e300, -1e300, 1e-50, 0x1.fffffep127};
    static const int64_t i64[] = {7};
    uint8_t data[1 + sizeof f16 + sizeof bf16 + sizeof f64 + sizeof i64 + 4];
    size_t off = 0;
    memcpy(data + off, f16, sizeof f16), off += sizeof f16;    /* [0, 20) */
    memcpy(data + off, bf16, sizeof bf16), off += sizeof bf16; /* [20, 34) */
    memcpy(data + off, f64, sizeof f64), off += sizeof f64;    /* [34, 82) */
    memcpy(data + off, i64, sizeof i64), off += sizeof i64;    /* [82, 90) */
    float one = -7.25f;
    memcpy(data + off, &one, 4), off += 4; /* [90, 94): unaligned f32 */
    /* The odd header length leaves the data buffer misaligned on purpose: reads must not care. */
    const char *header = "{\"h\":{\"dtype\":\"F16\",\"shape\":[10],\"data_offsets\":[0,20]},"
                         "\"b\":{\"dtype\":\"BF16\",\"shape\":[7],\"data_offsets\":[20,34]},"
                         "\"d\":{\"dtype\":\"F64\",\"shape\":[2,3],\"data_offsets\":[34,82]},"
                         "\"i\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[82,90]},"
                         "\"f\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[90,94]},"
                         "\"__metadata__\":{\"format\":\"pt\"}}";
    CHECK(strlen(header) % 2 == 1);
    write_raw("decode.safetensors", header, data, off);

    sg_safetensors st;
    if (sg_st_open(&st, tmp_path("decode.safetensors")) != 0) {
        CHECK_MSG(0, "open: %s", sg_last_error());
        return;
    }
    CHECK(st.count == 5);
    float out[10];
    const sg_st_tensor *h = sg_st_find(&st, "h");
    CHECK(h && h->dtype == SG_DT_F16 && sg_st_read_f32(&st, h, out) == 0);
    if (h) {
        CHECK(out[0] == 1.0f);
        CHECK(out[1] == -2.5f);
        CHECK(out[2] == 65504.0f);
        CHECK(out[3] == 0x1p-24f);               /* smallest subnormal */
        CHECK(out[4] == 1023 * 0x1p-24f);        /* largest subnormal */
        CHECK(out[5] == 0x1p-14f);               /* smallest normal */
        CHECK(isinf(out[6]) && out[6] > 0);
        CHECK(isinf(out[7]) && out[7] < 0);
        CHECK(isnan(out[8]));
        CHECK(float_bits(out[9]) == 0x80000000u); /* -0 */
    }
    const sg_st_tensor *b = sg_st_find(&st, "b");
    CHECK(b && b->dtype == SG_DT_BF16 && sg_st_read_f32(&st, b, out) == 0);
    if (b) {
        CHECK(out[0] == 1.0f);
        CHECK(out[1] == -2.5f);
        CHECK(out[2] == 65280.0f);
        CHECK(float_bits(out[3]) == 0x7F7F0000u && out[3] == 0x1.fep127f);
        CHECK(out[4] == 0x1p-133f); /* smallest bf16 subnormal */
        CHECK(isinf(out[5]) && out[5] > 0);
        CHECK(isnan(out[6]));
    }
    const sg_st_tensor *d = sg_st_find(&st, "d");
    CHECK(d && d->numel == 6 && sg_st_read_f32(&st, d, out) == 0);
    if (d) {
        CHECK(out[0] == 1.5f && out[1] == -2.5f);
        CHECK(isinf(out[2]) && out[2] > 0);
        CHECK(isinf(out[3]) && out[3] < 0);
        CHECK(out[4] == 0.0f);
        CHECK(out[5] == FLT_MAX);
    }
    const sg_st_tensor *f = sg_st_find(&st, "f");
    CHECK(f && f->ndim == 0 && sg_st_read_f32(&st, f, out) == 0 && out[0] == -7.25f);

    const sg_st_tensor *i = sg_st_find(&st, "i");
    CHECK(i && i->dtype == SG_DT_I64);
    if (i) {
        sg_clear_error();
        CHECK(sg_st_read_f32(&st, i, out) == -1);
        CHECK_MSG(has("decode.safetensors") && has("'i'") && has("I64"), "%s", sg_last_error());
    }
    sg_st_close(&st);
}

/* ---------------------------------------------------------------- rejections */

static void test_reject_missing_file(void) {
    expect_reject("does-not-exist.safetensors", "cannot open", "No such file", NULL);
    mkdir(tmp_path("adir.safetensors"), 0700);
    expect_reject("adir.safetensors", "is a directory, not a file", NULL);
    rmdir(tmp_path("adir.safetensors"));
}

static void test_reject_truncated(void) {
    write_bytes("empty.safetensors", "", 0);
    expect_reject("empty.safetensors", "too short", NULL);
    write_bytes("short.safetensors", "\x10\0\0\0\0", 5);
    expect_reject("short.safetensors", "5 bytes", "too short", NULL);
    /* Data buffer cut short: the tensor's end runs past it. */
    float x[6] = {0};
    write_raw("cut.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[0,24]}}", x, 12);
    expect_reject("cut.safetensors", "'w'", "[0, 24]", "past the end", NULL);
}

static void test_reject_header_length(void) {
    const char *h = "{}";
    /* Too big for the file (past EOF). */
    write_raw_len("past_eof.safetensors", 1000, h, 2, NULL, 0);
    expect_reject("past_eof.safetensors", "header length 1000", "past the end of the file", NULL);
    /* Above the 100 MB limit. */
    write_raw_len("over_limit.safetensors", 100000001, h, 2, NULL, 0);
    expect_reject("over_limit.safetensors", "header length 100000001", "exceeds the limit", NULL);
    /* Too small: the JSON is cut off. */
    const char *full = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
    float x = 1;
    write_raw_len("len_short.safetensors", strlen(full) - 3, full, strlen(full), &x, 4);
    expect_reject("len_short.safetensors", "not valid JSON", NULL);
}

static void test_reject_terabyte_header(void) {
    /* Must be refused from the length alone: 2^40 bytes (1 TiB) and 2^64-1 (no wrap-around in 8+n). */
    write_raw_len("terabyte.safetensors", 1ull << 40, "{}", 2, NULL, 0);
    expect_reject("terabyte.safetensors", "header length 1099511627776", "exceeds the limit", NULL);
    write_raw_len("u64max.safetensors", UINT64_MAX, "{}", 2, NULL, 0);
    expect_reject("u64max.safetensors", "header length 18446744073709551615", "exceeds the limit", NULL);
}

static void test_reject_bad_json(void) {
    write_raw("badjson.safetensors", "{\"w\": {\"dtype\": \"F32\",", NULL, 0);
    expect_reject("badjson.safetensors", "not valid JSON", NULL);
    write_raw("trailing.safetensors", "{} xyz", NULL, 0);
    expect_reject("trailing.safetensors", "not valid JSON", "unexpected data at byte 3", NULL);
    write_raw_len("nul.safetensors", 8, "{}\0     ", 8, NULL, 0);
    expect_reject("nul.safetensors", "not valid JSON", NULL);
    write_raw("array.safetensors", "[1, 2]  ", NULL, 0);
    expect_reject("array.safetensors", "not a JSON object", NULL);
    write_raw("notobj.safetensors", "{\"w\": [1,2]}", NULL, 0);
    expect_reject("notobj.safetensors", "'w'", "not a JSON object", NULL);
}

static void test_reject_overlap(void) {
    float x[6] = {0};
    write_raw("overlap.safetensors",
              "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
              "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}",
              x, 24);
    expect_reject("overlap.safetensors", "'b'", "[8, 24]", "overlap", "'a'", NULL);
    /* Same range twice; and a zero-length tensor sitting inside another one. */
    write_raw("same.safetensors",
              "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
              "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
              x, 8);
    expect_reject("same.safetensors", "overlap", NULL);
    write_raw("inside.safetensors",
              "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
              "\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}",
              x, 8);
    expect_reject("inside.safetensors", "'z'", "overlap", NULL);
}

static void test_reject_hole(void) {
    float x[6] = {0};
    write_raw("hole.safetensors",
              "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
              "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}",
              x, 20);
    expect_reject("hole.safetensors", "'b'", "[12, 20]", "hole of 4 bytes", "'a'", NULL);
    write_raw("hole_start.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", x, 12);
    expect_reject("hole_start.safetensors", "'a'", "hole of 4 bytes at the start", NULL);
    write_raw("hole_end.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", x, 16);
    expect_reject("hole_end.safetensors", "16 bytes", "end at 8", "hole of 8 bytes at the end", NULL);
    write_raw("hole_none.safetensors", "{\"__metadata__\":{\"a\":\"b\"}}", x, 4);
    expect_reject("hole_none.safetensors", "no tensors", NULL);
    /* Unsorted header order and zero-length tensors at the edges are fine. */
    write_raw("tiled.safetensors",
              "{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]},"
              "\"z0\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[0,0]},"
              "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
              "\"z1\":{\"dtype\":\"BOOL\",\"shape\":[5,0],\"data_offsets\":[12,12]}}",
              x, 12);
    expect_accept("tiled.safetensors");
}

static void test_reject_missing_field(void) {
    float x = 0;
    write_raw("no_dtype.safetensors", "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", &x, 4);
    expect_reject("no_dtype.safetensors", "'w'", "missing 'dtype'", NULL);
    write_raw("no_shape.safetensors", "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", &x, 4);
    expect_reject("no_shape.safetensors", "'w'", "missing 'shape'", NULL);
    write_raw("no_offsets.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", &x, 4);
    expect_reject("no_offsets.safetensors", "'w'", "missing 'data_offsets'", NULL);
}

static void test_reject_wrong_types(void) {
    float x[2] = {0};
    write_raw("dtype_num.safetensors", "{\"w\":{\"dtype\":5,\"shape\":[1],\"data_offsets\":[0,4]}}", x, 4);
    expect_reject("dtype_num.safetensors", "'w'", "'dtype' is not a string", NULL);
    write_raw("shape_str.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":\"1\",\"data_offsets\":[0,4]}}", x, 4);
    expect_reject("shape_str.safetensors", "'w'", "'shape' is not an array", NULL);
    write_raw("dim_str.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", x, 4);
    expect_reject("dim_str.safetensors", "'w'", "dimension 0", NULL);
    write_raw("dim_neg.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1,-1],\"data_offsets\":[0,4]}}", x, 4);
    expect_reject("dim_neg.safetensors", "'w'", "dimension 1", NULL);
    write_raw("dim_frac.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", x, 4);
    expect_reject("dim_frac.safetensors", "'w'", "dimension 0", NULL);
    write_raw("dim_huge.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1e300],\"data_offsets\":[0,4]}}", x, 4);
    expect_reject("dim_huge.safetensors", "'w'", "dimension 0", NULL);
    write_raw("ndim9.safetensors",
              "{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", x, 4);
    expect_reject("ndim9.safetensors", "'w'", "9 dims", NULL);
    write_raw("offs_one.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4]}}", x, 4);
    expect_reject("offs_one.safetensors", "'w'", "2 non-negative integers", NULL);
    write_raw("offs_neg.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", x, 4);
    expect_reject("offs_neg.safetensors", "'w'", "2 non-negative integers", NULL);
    write_raw("offs_obj.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":{\"a\":0}}}", x, 4);
    expect_reject("offs_obj.safetensors", "'w'", "2 non-negative integers", NULL);
    write_raw("offs_rev.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", x, 4);
    expect_reject("offs_rev.safetensors", "'w'", "[4, 0]", "begin after", NULL);
    write_raw("dtype_bad.safetensors", "{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}}", x, 1);
    expect_reject("dtype_bad.safetensors", "'w'", "unsupported dtype 'F8_E4M3'", NULL);
    write_raw("dup_key.safetensors",
              "{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,4]}}", x, 4);
    expect_reject("dup_key.safetensors", "'w'", "duplicate key 'dtype'", NULL);
    write_raw("meta_num.safetensors", "{\"__metadata__\":{\"epoch\":3}}", NULL, 0);
    expect_reject("meta_num.safetensors", "__metadata__", "'epoch'", "not a string", NULL);
    write_raw("meta_ok.safetensors", "{\"__metadata__\":{\"epoch\":\"3\"}}", NULL, 0);
    expect_accept("meta_ok.safetensors");
}

static void test_reject_shape_vs_bytes(void) {
    float x[6] = {0};
    write_raw("shape_bytes.safetensors", "{\"x.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,12]}}",
              x, 12);
    expect_reject("shape_bytes.safetensors",
                  "tensor 'x.weight': data_offsets [0, 12] hold 12 bytes but shape [2, 3] f32 needs 24", NULL);
    write_raw("shape_bytes16.safetensors", "{\"h\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[0,8]}}", x, 8);
    expect_reject("shape_bytes16.safetensors", "'h'", "hold 8 bytes", "f16 needs 6", NULL);
}

static void test_reject_dim_overflow(void) {
    float x = 0;
    /* 2^32 * 2^32 overflows size_t: must be caught, not wrap to 0. */
    write_raw("overflow.safetensors",
              "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}", &x, 0);
    expect_reject("overflow.safetensors", "'w'", "[4294967296, 4294967296]", "overflows", NULL);
    /* Element count fits, bytes do not: 2^62 * 4. */
    write_raw("overflow_bytes.safetensors",
              "{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,0]}}", &x, 0);
    expect_reject("overflow_bytes.safetensors", "dimension 0", NULL); /* above 2^53: refused as absurd */
    write_raw("overflow_3d.safetensors",
              "{\"w\":{\"dtype\":\"F64\",\"shape\":[2097152,2097152,2097152],\"data_offsets\":[0,0]}}", &x, 0);
    expect_reject("overflow_3d.safetensors", "'w'", "overflows", NULL);
    /* A zero dim makes the product 0 even next to huge dims. */
    write_raw("zero_dim.safetensors",
              "{\"w\":{\"dtype\":\"F32\",\"shape\":[9007199254740992,0,9007199254740992],\"data_offsets\":[0,0]}}",
              &x, 0);
    expect_accept("zero_dim.safetensors");
}

static void test_reject_names(void) {
    float x[2] = {0};
    write_raw("dup_name.safetensors",
              "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
              "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
              x, 8);
    expect_reject("dup_name.safetensors", "'w'", "duplicate name", NULL);
    char header[1024], name[300];
    memset(name, 'n', 256);
    name[256] = '\0';
    snprintf(header, sizeof header, "{\"%s\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", name);
    write_raw("long_name.safetensors", header, x, 4);
    expect_reject("long_name.safetensors", "256 bytes", "limit of 255", NULL);
    name[255] = '\0'; /* exactly at the limit: fine */
    snprintf(header, sizeof header, "{\"%s\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", name);
    write_raw("max_name.safetensors", header, x, 4);
    expect_accept("max_name.safetensors");
}

/* ---------------------------------------------------------------- writer errors */

static void test_writer_errors(void) {
    float x[2] = {1, 2}, y[2] = {3, 4};
    const char *path = tmp_path("w.safetensors");
    sg_st_entry good = {.name = "w", .ndim = 1, .shape = {2}, .data = x};
    CHECK(sg_st_write(path, &good, 1, NULL) == 0);
    int before = count_dir_entries();

    sg_st_entry dup[] = {{.name = "a", .ndim = 1, .shape = {2}, .data = y},
                         {.name = "a", .ndim = 1, .shape = {2}, .data = y}};
    CHECK(sg_st_write(path, dup, 2, NULL) == -1);
    CHECK_MSG(has("w.safetensors") && has("duplicate tensor name 'a'"), "%s", sg_last_error());
    sg_st_entry reserved = {.name = "__metadata__", .ndim = 1, .shape = {2}, .data = y};
    CHECK(sg_st_write(path, &reserved, 1, NULL) == -1 && has("reserved"));
    sg_st_entry deep = {.name = "deep", .ndim = 9, .data = y};
    CHECK(sg_st_write(path, &deep, 1, NULL) == -1 && has("'deep'"));
    sg_st_entry neg = {.name = "neg", .ndim = 1, .shape = {-2}, .data = y};
    CHECK(sg_st_write(path, &neg, 1, NULL) == -1 && has("'neg'"));
    sg_st_entry nodata = {.name = "nodata", .ndim = 1, .shape = {2}, .data = NULL};
    CHECK(sg_st_write(path, &nodata, 1, NULL) == -1 && has("'nodata'"));
    const char *odd_meta[] = {"format", NULL};
    CHECK(sg_st_write(path, &good, 1, odd_meta) == -1 && has("'format' has no value"));
    const char *dup_meta[] = {"k", "1", "k", "2", NULL};
    CHECK(sg_st_write(path, &good, 1, dup_meta) == -1 && has("duplicate metadata key 'k'"));

    /* Unwritable destination: errno text, no temp file anywhere. */
    char bad[4200];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.safetensors", g_dir);
    CHECK(sg_st_write(bad, &good, 1, NULL) == -1);
    CHECK_MSG(has("x.safetensors") && has("No such file or directory"), "%s", sg_last_error());

    /* Failed writes left the previous file intact and no temp files behind. */
    CHECK(count_dir_entries() == before);
    sg_safetensors st;
    float got[2] = {0};
    CHECK(sg_st_open(&st, path) == 0);
    const sg_st_tensor *t = sg_st_find(&st, "w");
    CHECK(st.count == 1 && t && sg_st_read_f32(&st, t, got) == 0 && got[0] == 1 && got[1] == 2);
    sg_st_close(&st);
    unlink(path);
}

int main(void) {
    g_dir = sg_test_tmpdir();
    if (!g_dir) {
        CHECK_MSG(0, "cannot create a temporary directory");
        return sg_test_done();
    }
    test_round_trip();
    test_find();
    test_decode();
    test_reject_missing_file();
    test_reject_truncated();
    test_reject_header_length();
    test_reject_terabyte_header();
    test_reject_bad_json();
    test_reject_overlap();
    test_reject_hole();
    test_reject_missing_field();
    test_reject_wrong_types();
    test_reject_shape_vs_bytes();
    test_reject_dim_overflow();
    test_reject_names();
    test_writer_errors();
    remove_tmpdir();
    return sg_test_done();
}

#include "data/token_ids.h"

#include "core/error.h"
#include "core/grow.h"

#include <stdlib.h>
#include <string.h>

int sg_ids_reserve(sg_ids *v, size_t need) {
    void *data = v->data;
    if (sg_grow(&data, &v->cap, need, sizeof *v->data, 64) != 0) return sg_fail("out of memory (%zu token ids)", need);
    v->data = data;
    return 0;
}

void sg_ids_free(sg_ids *v) {
    free(v->data);
    memset(v, 0, sizeof *v);
}

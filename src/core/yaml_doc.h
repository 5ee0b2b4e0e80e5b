/* A small YAML document read with libyaml: scalars, mappings and sequences with the line of
 * each node, so that every error names file:line. Refuses what could make a small file
 * expensive or ambiguous (anchors, aliases, tags, more than SG_YAML_MAX_NODES nodes, nesting
 * deeper than SG_YAML_MAX_DEPTH, more than one document). Shared by the transform-config and
 * job-spec parsers. Children form a linked list; a mapping's children alternate key, value. */
#ifndef SG_YAML_DOC_H
#define SG_YAML_DOC_H

#include "core/error.h"

#include <stddef.h>

#define SG_YAML_MAX_NODES 20000
#define SG_YAML_MAX_DEPTH 32

enum { YN_SCALAR, YN_MAP, YN_SEQ };

typedef struct {
    int kind;
    int line;
    int plain; /* scalar written without quotes */
    char *text;
    int first, next; /* first child and next sibling, -1 = none */
    int last;
} ynode;

typedef struct {
    const char *path;
    ynode *v;
    int n, cap;
} ydoc;

/* "path:line: message" (or "path: message" when line <= 0); returns -1. */
int sg_fail_at(const char *path, int line, const char *fmt, ...) SG_PRINTF(3, 4);
/* Parse text into d (d->path set by the caller, for messages). 0 or -1 (sg_fail); root is node 0. */
int ydoc_parse(ydoc *d, const char *text, size_t len);
void ydoc_free(ydoc *d);

/* Typed reading shared by the parsers built on a ydoc. */
/* A plain scalar spelling YAML's null: empty, ~, null, Null, NULL. */
int ydoc_is_null(const ynode *n);
/* What a node is, for messages: "nothing", "a mapping", "a sequence" or "a scalar". */
const char *ydoc_kind_name(const ynode *n);
/* The value node under scalar key `key` in mapping `map`, or -1; *key_line (may be NULL) gets
 * the key's line. */
int ydoc_map_get(const ydoc *d, int map, const char *key, int *key_line);

#endif

#include "core/yaml_doc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* ---------------------------------------------------------------------------------------------
 * A small YAML document: scalars, mappings and sequences with the line of each node. Children
 * form a linked list; a mapping's children alternate key, value. */

int sg_fail_at(const char *path, int line, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (line > 0) return sg_fail("%s:%d: %s", path, line, msg);
    return sg_fail("%s: %s", path, msg);
}

void ydoc_free(ydoc *d) {
    for (int i = 0; i < d->n; i++) free(d->v[i].text);
    free(d->v);
    d->v = NULL;
    d->n = d->cap = 0;
}

static int ydoc_add(ydoc *d, int kind, int line, int parent) {
    if (d->n >= SG_YAML_MAX_NODES) return sg_fail_at(d->path, line, "document too large (more than %d nodes)", SG_YAML_MAX_NODES);
    if (d->n == d->cap) {
        int cap = d->cap ? d->cap * 2 : 64;
        ynode *p = realloc(d->v, (size_t)cap * sizeof *p);
        if (!p) return sg_fail("%s: out of memory", d->path);
        d->v = p;
        d->cap = cap;
    }
    int i = d->n++;
    d->v[i] = (ynode){.kind = kind, .line = line, .first = -1, .next = -1, .last = -1};
    if (parent >= 0) {
        ynode *p = &d->v[parent];
        if (p->last >= 0) d->v[p->last].next = i;
        else p->first = i;
        p->last = i;
    }
    return i;
}

static int check_props(const ydoc *d, int line, const yaml_char_t *anchor, const yaml_char_t *tag) {
    if (anchor) return sg_fail_at(d->path, line, "YAML anchors and aliases are not supported ('&%s')", (const char *)anchor);
    if (tag) return sg_fail_at(d->path, line, "YAML tags are not supported ('%s')", (const char *)tag);
    return 0;
}

/* Parse `text` into d. Returns the root node index, -2 for an empty stream, or -1 on error. */
int ydoc_parse(ydoc *d, const char *text, size_t len) {
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) return sg_fail("%s: cannot initialise the YAML parser", d->path);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    int stack[SG_YAML_MAX_DEPTH], depth = 0, root = -2, documents = 0, rc = 0, done = 0;
    while (!done && rc == 0) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            int at = (int)parser.problem_mark.line + 1;
            const char *problem = parser.problem ? parser.problem : "malformed input";
            if (parser.context)
                rc = sg_fail_at(d->path, at, "YAML syntax error: %s (%s at line %d)", problem, parser.context,
                             (int)parser.context_mark.line + 1);
            else
                rc = sg_fail_at(d->path, at, "YAML syntax error: %s", problem);
            break;
        }
        int line = (int)ev.start_mark.line + 1;
        int parent = depth > 0 ? stack[depth - 1] : -1;
        int node;
        switch (ev.type) {
        case YAML_DOCUMENT_START_EVENT:
            if (++documents > 1) rc = sg_fail_at(d->path, line, "more than one YAML document");
            break;
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT: {
            int is_map = ev.type == YAML_MAPPING_START_EVENT;
            rc = is_map ? check_props(d, line, ev.data.mapping_start.anchor, ev.data.mapping_start.tag)
                        : check_props(d, line, ev.data.sequence_start.anchor, ev.data.sequence_start.tag);
            if (rc) break;
            if (depth == SG_YAML_MAX_DEPTH) {
                rc = sg_fail_at(d->path, line, "nesting deeper than %d levels", SG_YAML_MAX_DEPTH);
                break;
            }
            node = ydoc_add(d, is_map ? YN_MAP : YN_SEQ, line, parent);
            if (node < 0) {
                rc = -1;
                break;
            }
            if (parent < 0) root = node;
            stack[depth++] = node;
            break;
        }
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
            depth--;
            break;
        case YAML_SCALAR_EVENT:
            rc = check_props(d, line, ev.data.scalar.anchor, ev.data.scalar.tag);
            if (rc) break;
            if (strlen((const char *)ev.data.scalar.value) != ev.data.scalar.length) {
                rc = sg_fail_at(d->path, line, "NUL character in a scalar");
                break;
            }
            node = ydoc_add(d, YN_SCALAR, line, parent);
            if (node < 0) {
                rc = -1;
                break;
            }
            d->v[node].plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
            d->v[node].text = strdup((const char *)ev.data.scalar.value);
            if (!d->v[node].text) rc = sg_fail("%s: out of memory", d->path);
            if (parent < 0) root = node;
            break;
        case YAML_ALIAS_EVENT:
            rc = sg_fail_at(d->path, line, "YAML aliases are not supported ('*%s')", (const char *)ev.data.alias.anchor);
            break;
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    return rc ? -1 : root;
}


int ydoc_is_null(const ynode *n) {
    return n->kind == YN_SCALAR && n->plain &&
           (n->text[0] == '\0' || !strcmp(n->text, "~") || !strcmp(n->text, "null") || !strcmp(n->text, "Null") ||
            !strcmp(n->text, "NULL"));
}

const char *ydoc_kind_name(const ynode *n) {
    if (ydoc_is_null(n)) return "nothing";
    return n->kind == YN_MAP ? "a mapping" : n->kind == YN_SEQ ? "a sequence" : "a scalar";
}

int ydoc_map_get(const ydoc *d, int map, const char *key, int *key_line) {
    for (int k = d->v[map].first; k >= 0; k = d->v[d->v[k].next].next)
        if (d->v[k].kind == YN_SCALAR && !strcmp(d->v[k].text, key)) {
            if (key_line) *key_line = d->v[k].line;
            return d->v[k].next;
        }
    return -1;
}

/* ytree: a YAML document read into a small tree of scalars, mappings and
 * sequences, each node with its 1-based line:column. Built on libyaml's event
 * parser with hard bounds (input size, nesting depth, node count) so that any
 * input, including binary garbage, gives either a tree or one error with a
 * position, in time linear in the input. Anchors and aliases are rejected
 * (no alias expansion, hence no "billion laughs").
 *
 * Only the config loader uses it; it knows nothing about HIPPO keys. */
#ifndef HIPPO_CORE_YTREE_H
#define HIPPO_CORE_YTREE_H

#include <stdbool.h>
#include <stddef.h>

enum ytree_kind { YTREE_SCALAR = 0, YTREE_MAP, YTREE_SEQ };

struct ytree_node {
	enum ytree_kind kind;
	int line, col;        /* 1-based start of the node */
	bool plain;           /* scalar written without quotes or !!str: may be null/bool/number */
	char *text;           /* scalar bytes, NUL-terminated; may contain NUL bytes (see len) */
	size_t len;
	struct ytree_node **items; /* map: key0, value0, key1, value1...; seq: the items */
	size_t n;             /* number of pointers in items (even for a map) */
	size_t cap;
};

struct ytree_limits {
	size_t max_bytes;  /* longer input is rejected before parsing */
	int max_depth;     /* mappings/sequences nested deeper are an error */
	size_t max_nodes;  /* more nodes in total are an error */
};

struct ytree_error {
	int line, col;     /* 1-based; 0 when the error is about the whole input */
	char message[256];
};

/* Parses LEN bytes of BUF (the first document only; a second one is an error).
 * Returns 0 and *ROOT (NULL for an empty document; owned by the caller, free
 * with ytree_free), or -1 with ERR filled. */
int ytree_parse(const char *buf, size_t len, const struct ytree_limits *lim,
		struct ytree_node **root, struct ytree_error *err);

void ytree_free(struct ytree_node *n);

/* "a mapping", "a list", "text": for messages. */
const char *ytree_kind_name(const struct ytree_node *n);

#endif

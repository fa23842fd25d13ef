#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "core/buf.h"
#include "core/ytree.h"

#define YTREE_TAG_STR "tag:yaml.org,2002:str"

struct builder {
	const struct ytree_limits *lim;
	struct ytree_node *root;
	struct ytree_node *stack[256]; /* open containers; depth is also bounded by lim */
	int depth;
	size_t nodes;
	int ndocs;
};

static void set_error(struct ytree_error *err, int line, int col, const char *fmt, const char *a)
{
	err->line = line;
	err->col = col;
	snprintf(err->message, sizeof err->message, fmt, a ? a : "");
}

void ytree_free(struct ytree_node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++)
		ytree_free(n->items[i]);
	free(n->items);
	free(n->text);
	free(n);
}

const char *ytree_kind_name(const struct ytree_node *n)
{
	if (!n)
		return "nothing";
	switch (n->kind) {
	case YTREE_MAP:
		return "a mapping";
	case YTREE_SEQ:
		return "a list";
	case YTREE_SCALAR:
		break;
	}
	return "text";
}

static int append(struct ytree_node *parent, struct ytree_node *child)
{
	if (buf_grow_array((void **)&parent->items, &parent->cap, parent->n + 1,
			   sizeof *parent->items, 8, 0) < 0)
		return -1;
	parent->items[parent->n++] = child;
	return 0;
}

/* Creates a node at MARK and hangs it under the innermost open container (or
 * makes it the root). Returns NULL on a bound or allocation failure (ERR set). */
static struct ytree_node *add_node(struct builder *b, enum ytree_kind kind, yaml_mark_t mark,
				   struct ytree_error *err)
{
	int line = (int)(mark.line + 1), col = (int)(mark.column + 1);
	if (++b->nodes > b->lim->max_nodes) {
		char lim[32];
		snprintf(lim, sizeof lim, "%zu", b->lim->max_nodes);
		set_error(err, line, col, "too many YAML nodes (more than %s)", lim);
		return NULL;
	}
	struct ytree_node *n = calloc(1, sizeof *n);
	if (!n) {
		set_error(err, line, col, "out of memory%s", NULL);
		return NULL;
	}
	n->kind = kind;
	n->line = line;
	n->col = col;
	if (b->depth == 0) {
		if (b->root) { /* cannot happen with one document; be safe */
			free(n);
			set_error(err, line, col, "unexpected second root node%s", NULL);
			return NULL;
		}
		b->root = n;
	} else if (append(b->stack[b->depth - 1], n) < 0) {
		free(n);
		set_error(err, line, col, "out of memory%s", NULL);
		return NULL;
	}
	return n;
}

static int push(struct builder *b, enum ytree_kind kind, yaml_mark_t mark, struct ytree_error *err)
{
	int max = b->lim->max_depth;
	if (max > (int)(sizeof b->stack / sizeof b->stack[0]))
		max = (int)(sizeof b->stack / sizeof b->stack[0]);
	if (b->depth >= max) {
		char lim[32];
		snprintf(lim, sizeof lim, "%d", max);
		set_error(err, (int)mark.line + 1, (int)mark.column + 1,
			  "nesting too deep (more than %s levels)", lim);
		return -1;
	}
	struct ytree_node *n = add_node(b, kind, mark, err);
	if (!n)
		return -1;
	b->stack[b->depth++] = n;
	return 0;
}

static int add_scalar(struct builder *b, const yaml_event_t *ev, struct ytree_error *err)
{
	struct ytree_node *n = add_node(b, YTREE_SCALAR, ev->start_mark, err);
	if (!n)
		return -1;
	size_t len = ev->data.scalar.length;
	n->text = malloc(len + 1);
	if (!n->text) {
		set_error(err, n->line, n->col, "out of memory%s", NULL);
		return -1;
	}
	if (len)
		memcpy(n->text, ev->data.scalar.value, len);
	n->text[len] = '\0';
	n->len = len;
	const char *tag = (const char *)ev->data.scalar.tag;
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		   !(tag && strcmp(tag, YTREE_TAG_STR) == 0);
	return 0;
}

/* Turns a byte offset into a 1-based line:column (reader errors carry only an
 * offset). */
static void offset_to_pos(const char *buf, size_t len, size_t off, int *line, int *col)
{
	int l = 1, c = 1;
	if (off > len)
		off = len;
	for (size_t i = 0; i < off; i++) {
		if (buf[i] == '\n') {
			l++;
			c = 1;
		} else {
			c++;
		}
	}
	*line = l;
	*col = c;
}

static void parser_error(const yaml_parser_t *p, const char *buf, size_t len,
			 struct ytree_error *err)
{
	char msg[200];
	int line, col;
	const char *problem = p->problem ? p->problem : "unknown error";
	switch (p->error) {
	case YAML_MEMORY_ERROR:
		set_error(err, 0, 0, "out of memory while parsing YAML%s", NULL);
		return;
	case YAML_READER_ERROR:
		offset_to_pos(buf, len, p->problem_offset, &line, &col);
		if (p->problem_value != -1)
			snprintf(msg, sizeof msg, "%s (byte 0x%02x)", problem,
				 (unsigned)(p->problem_value & 0xff));
		else
			snprintf(msg, sizeof msg, "%s", problem);
		break;
	default:
		line = (int)p->problem_mark.line + 1;
		col = (int)p->problem_mark.column + 1;
		if (p->context && (p->context_mark.line != p->problem_mark.line ||
				   p->context_mark.column != p->problem_mark.column))
			snprintf(msg, sizeof msg, "%s at line %d, column %d: %s", p->context,
				 (int)p->context_mark.line + 1, (int)p->context_mark.column + 1,
				 problem);
		else if (p->context)
			snprintf(msg, sizeof msg, "%s: %s", p->context, problem);
		else
			snprintf(msg, sizeof msg, "%s", problem);
		if (p->problem_mark.index < len && buf[p->problem_mark.index] == '\t' &&
		    !strstr(problem, "tab")) {
			size_t n = strlen(msg);
			snprintf(msg + n, sizeof msg - n, " (a tab: indent with spaces)");
		}
		break;
	}
	set_error(err, line, col, "invalid YAML: %s", msg);
}

/* Feeds the events of the first document to the builder. Returns 0 at the end
 * of the stream, -1 on any error. */
static int build(yaml_parser_t *p, struct builder *b, const char *buf, size_t len,
		 struct ytree_error *err)
{
	for (;;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(p, &ev)) {
			parser_error(p, buf, len, err);
			return -1;
		}
		int rc = 0;
		int line = (int)ev.start_mark.line + 1, col = (int)ev.start_mark.column + 1;
		const char *anchor = NULL;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			yaml_event_delete(&ev);
			return 0;
		case YAML_DOCUMENT_START_EVENT:
			if (++b->ndocs > 1) {
				set_error(err, line, col,
					  "only one YAML document is allowed (found a second '---')%s",
					  NULL);
				rc = -1;
			}
			break;
		case YAML_ALIAS_EVENT:
			set_error(err, line, col, "YAML aliases (*%s) are not supported",
				  (const char *)ev.data.alias.anchor);
			rc = -1;
			break;
		case YAML_SCALAR_EVENT:
			anchor = (const char *)ev.data.scalar.anchor;
			rc = anchor ? -1 : add_scalar(b, &ev, err);
			break;
		case YAML_SEQUENCE_START_EVENT:
			anchor = (const char *)ev.data.sequence_start.anchor;
			rc = anchor ? -1 : push(b, YTREE_SEQ, ev.start_mark, err);
			break;
		case YAML_MAPPING_START_EVENT:
			anchor = (const char *)ev.data.mapping_start.anchor;
			rc = anchor ? -1 : push(b, YTREE_MAP, ev.start_mark, err);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (b->depth > 0)
				b->depth--;
			break;
		default:
			break;
		}
		if (anchor)
			set_error(err, line, col, "YAML anchors (&%s) are not supported", anchor);
		yaml_event_delete(&ev);
		if (rc < 0)
			return -1;
	}
}

int ytree_parse(const char *buf, size_t len, const struct ytree_limits *lim,
		struct ytree_node **root, struct ytree_error *err)
{
	*root = NULL;
	memset(err, 0, sizeof *err);
	if (len > lim->max_bytes) {
		char msg[64];
		snprintf(msg, sizeof msg, "%zu bytes, the limit is %zu", len, lim->max_bytes);
		set_error(err, 0, 0, "file too large (%s)", msg);
		return -1;
	}
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p)) {
		set_error(err, 0, 0, "out of memory%s", NULL);
		return -1;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	struct builder b = {.lim = lim};
	int rc = build(&p, &b, buf, len, err);
	yaml_parser_delete(&p);
	if (rc < 0) {
		ytree_free(b.root);
		return -1;
	}
	*root = b.root;
	return 0;
}

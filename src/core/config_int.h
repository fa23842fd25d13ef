/* config internals shared by the files of the config module (cfg__ prefix):
 *
 *   config.c        the table of keys (config_table.h), defaults, the entry
 *                   points (cfg_load*, cfg_free)
 *   config_diag.c   diagnostics: adding, sorting, printing, positions
 *   config_parse.c  the YAML tree into struct cfg: scalars, lists, JSON
 *                   values, the walk of every mapping against the table
 *   config_steps.c  project.steps and the step files in StepFiles/
 *   config_check.c  rules across keys, after the walk */
#ifndef HIPPO_CORE_CONFIG_INT_H
#define HIPPO_CORE_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "core/config_table.h"
#include "core/ytree.h"

/* Longest dotted key path a message names. */
#define CFG__PATH_LEN 256
/* Bound on the table's length (the loader keeps one key and value per entry). */
#define CFG__NENTRIES_MAX 128

/* The field of entry E in the struct cfg C, as TYPE. */
#define CFG__FIELD(c, e, type) ((type *)(void *)((char *)(c) + (e)->off))

/* The loader's state during one cfg_load. */
struct cfg__ld {
	struct cfg *c;
	struct cfg_diags *d;
	const char *dir;                                  /* NULL: step files not checked */
	struct cfg_load_opts opts;
	bool refused_code;                                /* a CFG_F_CODE key was refused */
	const struct ytree_node *key[CFG__NENTRIES_MAX]; /* key node of each entry seen */
	const struct ytree_node *val[CFG__NENTRIES_MAX]; /* its value node */
	const struct ytree_node *root;
};

/* ---- diagnostics (config_diag.c) ---------------------------------------- */

/* Adds a problem at LINE:COL (0: the whole file) about PATH (NULL: none). */
void cfg__diag(struct cfg_diags *d, enum cfg_severity sev, int line, int col, const char *path,
	       const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Sorts the problems from index FROM on by position. */
void cfg__diags_sort(struct cfg_diags *d, size_t from);
/* An error or a warning at node N (NULL: no position) about PATH. */
void cfg__err_at(struct cfg__ld *l, const struct ytree_node *n, const char *path, const char *fmt,
		 ...) __attribute__((format(printf, 4, 5)));
void cfg__warn_at(struct cfg__ld *l, const struct ytree_node *n, const char *path,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Copies user text into OUT for a message: control bytes become '?', long
 * text is cut with "...". Returns OUT. */
const char *cfg__clean(const char *s, size_t len, char *out, size_t cap);
#define CFG__CLEAN(node, buf) cfg__clean((node)->text, (node)->len, buf, sizeof buf)

/* ---- scalars and the walk (config_parse.c) ------------------------------ */

bool cfg__is_scalar(const struct ytree_node *n);
/* Whether N's text is one of WORDS (NULL-terminated). */
bool cfg__text_is(const struct ytree_node *n, const char *const *words);
/* YAML 1.1 null, as PyYAML (the original's parser) reads it; NULL too. */
bool cfg__is_null(const struct ytree_node *n);
/* YAML 1.1 booleans (True, yes, on...). */
bool cfg__parse_bool(const struct ytree_node *n, bool *out);
/* Decimal integer with an optional sign, the whole text. */
bool cfg__parse_ll(const char *s, size_t len, long long *out);
/* N's text as a new string, or NULL (reported at PATH). */
char *cfg__dup_text(struct cfg__ld *l, const struct ytree_node *n, const char *path);
/* The table entry of a dotted PATH and its index, or NULL. */
const struct cfg__entry *cfg__find_entry(const char *path, size_t *idx);
/* Visits the mapping MAP at PREFIX ("" for the top): every key is converted
 * through its table entry or reported as unknown; required keys of this
 * section that are absent are reported at WHERE (the section's key). */
void cfg__walk_map(struct cfg__ld *l, const char *prefix, const struct ytree_node *map,
		   const struct ytree_node *where);

/* ---- steps (config_steps.c) --------------------------------------------- */

/* project.steps (entry E, key KEY, value V) into the project's steps. */
void cfg__set_steps(struct cfg__ld *l, const struct cfg__entry *e, const struct ytree_node *key,
		    const struct ytree_node *v);

/* ---- rules across keys (config_check.c) --------------------------------- */

/* Runs the rules that involve several keys once the walk is done (frame-rate
 * order, events within the steps, trial.env, trial.game, storage resolution). */
void cfg__check(struct cfg__ld *l);
/* The key or value node of a dotted PATH as written, or NULL. */
const struct ytree_node *cfg__key_of(struct cfg__ld *l, const char *path);

#endif

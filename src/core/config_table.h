/* config_table: the table of every config.yml key, shared inside the config
 * module and with its unit test (which walks the whole table). Runtime modules
 * use config.h only. */
#ifndef HIPPO_CORE_CONFIG_TABLE_H
#define HIPPO_CORE_CONFIG_TABLE_H

#include <stddef.h>

#include "core/config.h"

enum cfg__type {
	CFG_T_SECTION,      /* a mapping of further keys (null: empty) */
	CFG_T_STR,          /* any scalar as text; null: unset */
	CFG_T_BOOL,         /* true/false (YAML 1.1 spellings: True, yes, on...) */
	CFG_T_INT,          /* int within [min, max] */
	CFG_T_INT_NULL,     /* int within [min, max], or null (stored as def) */
	CFG_T_SIZE,         /* size_t within [min, max] */
	CFG_T_LLONG,        /* long long within [min, max]; null: def */
	CFG_T_ENUM,         /* one of names[]; stored as an int-sized enum */
	CFG_T_STRLIST,      /* non-empty list of non-empty strings: char ** + size_t count (off_n) */
	CFG_T_ARGV,         /* non-empty list of strings: NULL-terminated char ** */
	CFG_T_UI,           /* mapping name -> bool, or a list of names */
	CFG_T_JSON_MAP,     /* any mapping, kept as a json_t object */
	CFG_T_JSON,         /* any value, kept as json_t */
	CFG_T_JSON_STRLIST, /* list of strings (or one string), kept as a json_t array */
	CFG_T_STEPS,        /* project.steps */
	CFG_T_STORAGE,      /* project.storage: local | s3 | {s3: {...}} */
	CFG_T_IGNORED,      /* accepted for compatibility, not used */
};

enum {
	CFG_F_REQUIRED = 1 << 0, /* missing -> error */
	CFG_F_HIPPO = 1 << 1,    /* a hippo addition (not in the original format) */
	CFG_F_CODE = 1 << 2,     /* names a program or a shared library (CFG_LOAD_NO_CODE) */
};

struct cfg__entry {
	const char *path;           /* "trial.maxEpisodes" */
	enum cfg__type type;
	size_t off;                 /* target: offsetof(struct cfg, ...) */
	size_t off_n;               /* CFG_T_STRLIST: offset of the size_t count */
	long long min, max;         /* numeric bounds (inclusive) */
	long long def;              /* default of numeric, bool and enum entries */
	const char *const *names;   /* CFG_T_ENUM: NULL-terminated spellings, index = value */
	unsigned flags;
	/* Extra check of a value already stored; returns a message or NULL. */
	const char *(*check)(const struct cfg *c);
};

/* The table, in documentation order. */
const struct cfg__entry *cfg__table(size_t *n);

/* The control names the participant UI knows (SPEC §3), NULL-terminated. */
extern const char *const cfg__ui_controls[];

#define CFG_MAX_BYTES (1024 * 1024)
#define CFG_MAX_DEPTH 64
#define CFG_MAX_NODES 100000
#define CFG_MAX_STEPS 1000
#define CFG_MAX_VARIANTS 100
#define CFG_MAX_UI 64
#define CFG_DIAGS_MAX 500

#endif

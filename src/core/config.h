/* config: a study folder (config.yml + StepFiles/) in the original HIPPO Gym
 * format, turned into plain typed structs with defaults (docs/config.md lists
 * every key). Runtime modules take these structs and never see YAML; tests may
 * build them directly (cfg_defaults + field assignments).
 *
 * Loading collects every problem instead of stopping at the first, each with
 * its position: "config.yml:LINE:COL: key.path: message". */
#ifndef HIPPO_CORE_CONFIG_H
#define HIPPO_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "core/id.h"

#define CFG_ID_MAX ID_MAX /* projectId: id_valid_project() */

enum cfg_data_file { CFG_DATA_EPISODE = 0, CFG_DATA_TRIAL };
enum cfg_input_mode { CFG_INPUT_HOLD = 0, CFG_INPUT_PRESS, CFG_INPUT_TURN };
enum cfg_trial_mode { CFG_MODE_PLAY = 0, CFG_MODE_FEEDBACK, CFG_MODE_ADVISE, CFG_MODE_WATCH };
enum cfg_group_strategy { CFG_GROUPS_BALANCED = 0, CFG_GROUPS_HASH };
enum cfg_storage_kind { CFG_STORAGE_LOCAL = 0, CFG_STORAGE_S3 };
/* What the flow does when the node running a participant's game is lost. */
enum cfg_node_loss { CFG_NODE_LOSS_RESTART = 0, CFG_NODE_LOSS_SKIP_GAME, CFG_NODE_LOSS_END_STUDY };

/* One numbered step of the flow. */
struct cfg_step {
	int number;       /* 1..N as written in `steps:` */
	char *file;       /* file name in StepFiles/, or "game" */
	bool is_game;     /* file is the literal "game" */
	int nvariants;    /* > 0 when StepFiles/ holds <stem>-0.html .. <stem>-(n-1).html */
	int line, col;    /* position of the entry in config.yml */
};

struct cfg_s3 {
	char *bucket;
	char *prefix;     /* key prefix, may be NULL */
	char *region;     /* default "us-east-1" */
	char *endpoint;   /* NULL: AWS; "http://127.0.0.1:4569" for a compatible store */
};

/* `trial.env`: where the environment comes from (hippo addition). Without it
 * `trial.game` names a built-in environment. */
struct cfg_env_source {
	char *plugin;     /* path to a shared library (C plug-in), relative to the project dir */
	char **command;   /* argv of an external process (NULL-terminated), or NULL */
	char *id;         /* environment id inside the plug-in/process (default: trial.game) */
	json_t *options;  /* passed verbatim to the env (may be NULL) */
	int start_timeout_s;  /* external process: hello answered within (default 60) */
	int step_timeout_ms;  /* external process: each reply within (default 5000) */
};

struct cfg_project {
	char *id;                 /* required */
	char *name, *researcher, *team_members;
	bool live;                /* default true */
	int max_runtime_min;      /* default 60 */
	int start_server_step;    /* 0 = none (null) */
	int stop_server_step;     /* 0 = none (null) */
	struct cfg_step *steps;   /* sorted by number */
	size_t nsteps;
	struct cfg_step final_step; /* required */
	bool log_ip;              /* hippo: store the client IP with requests; default false */
	enum cfg_group_strategy groups; /* hippo: default balanced */
	enum cfg_node_loss on_node_loss; /* hippo (cluster): default restart_episode */
	/* original AWS keys, accepted; bucket/region reused by S3 storage */
	bool use_aws;
	char *aws_bucket, *aws_region, *aws_root_domain, *aws_cpu, *aws_memory;
	char *ssl_fullchain, *ssl_privkey, *ssl_bucket;
	/* hippo: where data goes; trial.s3upload/awsSetup.bucket imply S3 */
	enum cfg_storage_kind storage;
	struct cfg_s3 s3;
};

struct cfg_trial {
	char *game;                  /* environment id, e.g. "CartPole-v1" */
	int max_episodes;            /* default 20 */
	enum cfg_data_file data_file;/* default episode */
	bool s3upload;               /* default false */
	char **action_space;         /* names; index = integer action */
	size_t naction_space;
	int action_buffer_lifespan;  /* default 1 */
	int starting_frame_rate;     /* default 30 */
	bool allow_frame_rate_change;/* default false */
	int frame_rate_step_size;    /* default 5 */
	int min_frame_rate;          /* default 1 */
	int max_frame_rate;          /* default 90 */
	char **ui;                   /* control names set true, in file order */
	size_t nui;                  /* cfg_load fills left,right,up,down,start,pause when trial.ui
				      * is absent; cfg_defaults leaves it NULL/0 */
	json_t *variables;           /* sent verbatim after the UI list (may be NULL) */
	json_t *instructions;        /* hippo: list of strings sent as {"Instructions":[...]} */
	/* hippo additions */
	enum cfg_input_mode input_mode;  /* default hold */
	enum cfg_trial_mode mode;        /* default play */
	char *agent;                     /* built-in agent for feedback/advise/watch, e.g. "tamer" */
	char **agent_command;            /* argv of an external agent process, or NULL */
	json_t *agent_options;           /* passed to the agent as JSON (may be NULL) */
	struct cfg_env_source env;
	int input_budget;                /* feedback budget, 0 = unlimited */
	bool pause_when_hidden;          /* default true */
	int reconnect_grace_s;           /* default 60 */
	int connect_timeout_s;           /* default 60 */
	int jpeg_quality;                /* default 80 */
	bool record_frames;              /* hippo: keep each frame sent; default false */
	size_t max_message_bytes;        /* default 65536 */
	int max_messages_per_s;          /* default 200 */
	long long seed;                  /* -1: fresh random seed per episode 1 */
};

struct cfg {
	char *dir;        /* the project folder */
	struct cfg_project project;
	struct cfg_trial trial;
};

enum cfg_severity { CFG_WARNING = 0, CFG_ERROR = 1 };

struct cfg_diag {
	enum cfg_severity severity;
	int line, col;    /* 1-based; 0 when not tied to a position */
	char *path;       /* "project.events.startServerStep" (may be "") */
	char *message;
};

struct cfg_diags {
	struct cfg_diag *items;
	size_t n, cap;
	size_t nerrors;
	size_t nwarnings;
	size_t ndropped;  /* problems counted but not stored (more than 500) */
	size_t nrefused;  /* errors from CFG_LOAD_NO_CODE (keys naming code) */
};

/* Fills C with the defaults above (all strings NULL). */
void cfg_defaults(struct cfg *c);

/* Loads DIR/config.yml and checks DIR/StepFiles/: step files must lie inside
 * DIR, also through symbolic links, and so must trial.env.plugin (a relative
 * path). Appends every problem to DIAGS (warnings and errors). Returns 0 when
 * there is no error (C is then complete; the caller frees it with cfg_free),
 * -1 otherwise (C is freed). */
int cfg_load(const char *dir, struct cfg *c, struct cfg_diags *diags);

/* What a caller adds to the checks of cfg_load (cfg_load_with). */
enum {
	/* Keys that name a program or a shared library (trial.env.command,
	 * trial.env.plugin, trial.agentCommand) are errors: the study came from
	 * someone who may not run code on this host (a deploy through the admin
	 * API). Counted in diags->nrefused too. */
	CFG_LOAD_NO_CODE = 1 << 0,
};

struct cfg_load_opts {
	unsigned flags; /* CFG_LOAD_* */
	/* When not NULL: without trial.env, trial.game must name an environment
	 * this returns true for; otherwise it writes suggestions ("CartPole-v1,
	 * Acrobot-v1") into NEAR and trial.game is an error. The config layer
	 * does not know the environments: the caller passes the registry's
	 * lookup (tenv_game_known). */
	bool (*game_known)(const char *id, char *near, size_t nearlen);
};

/* cfg_load with OPTS (may be NULL: the same as cfg_load). */
int cfg_load_with(const char *dir, const struct cfg_load_opts *opts, struct cfg *c,
		  struct cfg_diags *diags);
/* cfg_load_buffer with OPTS (may be NULL). */
int cfg_load_buffer_with(const char *dir, const struct cfg_load_opts *opts, const char *yaml,
			 size_t len, struct cfg *c, struct cfg_diags *diags);

/* Same from memory: YAML text of LEN bytes; step files are looked up in
 * DIR/StepFiles when DIR is not NULL (otherwise not checked). Used by the fuzz
 * target and by deploy uploads. */
int cfg_load_buffer(const char *dir, const char *yaml, size_t len, struct cfg *c,
		    struct cfg_diags *diags);

void cfg_free(struct cfg *c);

/* "config.yml:12:5: project.id: must match [A-Za-z0-9-]{1,64}" with a
 * "warning: " or "error: " prefix, one per line, to F. */
void cfg_diags_print(const struct cfg_diags *d, const char *file_label, FILE *f);
void cfg_diags_free(struct cfg_diags *d);

/* The step with NUMBER, or NULL (numbers past the last are the final step). */
const struct cfg_step *cfg_step_get(const struct cfg *c, int number);

#endif

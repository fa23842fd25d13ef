/* mode: human-in-the-loop modes; see mode.h. */
#include "trial/mode.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "core/config.h"
#include "env/external.h"

struct mode {
	enum cfg_trial_mode kind;
	struct agent agent;
	const struct hippo_env_info *info;
	char record[160];
};

static const char *const mode_names[] = {"play", "feedback", "advise", "watch"};

int mode_open(const struct cfg *cfg, const struct hippo_env_info *info, int fps, uint64_t seed,
	      const char *log_ctx, struct mode **out, char *err, size_t errlen)
{
	const struct cfg_trial *ct = &cfg->trial;
	*out = NULL;
	if (ct->mode == CFG_MODE_PLAY)
		return 0;
	if (hippo_space_size(&info->action_space) > MODE_MAX_ACTION) {
		snprintf(err, errlen, "agents handle actions of at most %d values", MODE_MAX_ACTION);
		return -1;
	}
	struct mode *m = calloc(1, sizeof *m);
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	m->kind = ct->mode;
	m->info = info;
	char *opts;
	if (ct->agent_command)
		opts = ext_env_spec(ct->agent_command, cfg->dir, ct->agent_options,
				    ct->env.start_timeout_s * 1000,
				    ct->env.step_timeout_ms);
	else
		opts = ct->agent_options ? json_dumps(ct->agent_options, JSON_COMPACT) : NULL;
	struct agent_args args = {
		.env = info, .options_json = opts, .seed = seed, .fps = fps, .log_ctx = log_ctx,
		.nonblocking = true};
	int rc = agent_open(&m->agent, ct->agent_command ? NULL : ct->agent ? ct->agent : "tamer",
			    &args, err, errlen);
	free(opts);
	if (rc < 0) {
		free(m);
		return -1;
	}
	*out = m;
	return 0;
}

int mode_ready(struct mode *m, char *err, size_t errlen)
{
	if (!m)
		return 1;
	int r = agent_ready(&m->agent);
	if (r < 0)
		snprintf(err, errlen, "the agent failed: %s", m->agent.err);
	return r;
}

int mode_act(struct mode *m, const double *obs, long long t, int human, int *code,
	     double *action, char *err, size_t errlen)
{
	const struct hippo_space *as = &m->info->action_space;
	bool discrete = as->kind == HIPPO_SPACE_DISCRETE;
	int r = agent_act(&m->agent, obs, (long)t, action);
	if (r != 0) {
		if (r < 0)
			snprintf(err, errlen, "the agent: %s", m->agent.err);
		return r;
	}
	int agent_code = discrete ? (int)(action[0] - (double)as->start) : 0;
	*code = agent_code;
	if (m->kind == CFG_MODE_ADVISE && human >= 0 && discrete && human < as->n) {
		*code = human;
		action[0] = (double)(as->start + human);
	}
	snprintf(m->record, sizeof m->record, "\"mode\":\"%s\",\"agentAction\":%d,",
		 mode_names[m->kind], agent_code);
	if (m->kind == CFG_MODE_ADVISE) {
		size_t n = strlen(m->record);
		if (human >= 0)
			snprintf(m->record + n, sizeof m->record - n, "\"humanAction\":%d,", human);
		else
			snprintf(m->record + n, sizeof m->record - n, "\"humanAction\":null,");
	}
	return 0;
}

void mode_observe(struct mode *m, long long t, const double *action,
		  const struct hippo_step_result *r, const double *next_obs)
{
	agent_observe(&m->agent, (long)t, action, r->reward, next_obs, r->terminated, r->truncated);
}

void mode_feedback(struct mode *m, double value, long long t_ref)
{
	agent_feedback(&m->agent, (long)(t_ref < 0 ? 0 : t_ref), value);
}

void mode_episode_end(struct mode *m, int episode, double ret, long long steps)
{
	agent_episode_end(&m->agent, episode, ret, (long)steps);
}

const char *mode_record(const struct mode *m)
{
	return m ? m->record : "";
}

bool mode_takes_actions(const struct mode *m)
{
	return !m || m->kind == CFG_MODE_ADVISE;
}

void mode_close(struct mode *m)
{
	if (!m)
		return;
	agent_close(&m->agent);
	free(m);
}

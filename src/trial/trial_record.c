/* trial_record: the trial's record lines (docs/data.md, "Step lines" and
 * "Metadata lines"), handed to its recorder: one per step and per episode
 * start, the participant's messages since the last step inside it, and the
 * trial's start and end lines. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/config.h"
#include "trial/recorder.h"
#include "trial/trial_int.h"

int trial__meta_line(struct trial *t, const char *event, enum sess_end_reason reason, char *err,
		     size_t errlen)
{
	json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s}", "event", event, "trialId", t->trial_id,
			      "projectId", t->project_id, "userId", t->user_id, "t",
			      (json_int_t)clock_wall_ms(), "game",
			      t->cfg->trial.game ? t->cfg->trial.game : "");
	if (strcmp(event, "start") == 0) {
		json_object_set_new(j, "seed", json_integer((json_int_t)(t->seed & INT64_MAX)));
		json_object_set_new(j, "maxEpisodes", json_integer(t->max_episodes));
		if (t->episodes_before > 0) /* a game going on from an earlier session */
			json_object_set_new(j, "episodesBefore", json_integer(t->episodes_before));
		json_object_set_new(j, "dataFile", json_string(t->cfg->trial.data_file ==
									CFG_DATA_TRIAL
								? "trial"
								: "episode"));
		static const char *const modes[] = {"hold", "press", "turn"};
		json_object_set_new(j, "inputMode", json_string(modes[t->cfg->trial.input_mode % 3]));
		json_t *as = json_array();
		for (size_t i = 0; i < t->cfg->trial.naction_space; i++)
			json_array_append_new(as, json_string(t->cfg->trial.action_space[i]));
		json_object_set_new(j, "actionSpace", as);
		json_object_set_new(j, "renderWidth", json_integer(t->env.info->meta.render_width));
		json_object_set_new(j, "renderHeight",
				    json_integer(t->env.info->meta.render_height));
		/* what a replay needs (hippo verify): the environment actually opened */
		const struct cfg_env_source *es = &t->cfg->trial.env;
		const char *eid = es->id ? es->id : t->cfg->trial.game;
		const char *src = es->command ? "command" : es->plugin ? "plugin" : "builtin";
		json_object_set_new(j, "env", json_pack("{s:s,s:s,s:O*}", "id",
							eid ? eid : t->env.info->id, "source", src,
							"options", es->options));
		json_object_set_new(j, "hippoVersion", json_string(HIPPO_VERSION));
	} else {
		json_object_set_new(j, "reason", json_string(sess_end_reason_name(reason)));
		json_object_set_new(j, "episodes", json_integer(t->episode));
		json_object_set_new(j, "steps", json_integer(t->total_steps));
		json_object_set_new(j, "frames", json_integer((json_int_t)t->frame_id));
		json_object_set_new(j, "droppedLines", json_integer((json_int_t)rec_dropped(t->rec)));
	}
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	int rc = s ? rec_meta(t->rec, s, strlen(s), err, errlen) : -1;
	if (!s)
		snprintf(err, errlen, "out of memory");
	free(s);
	return rc;
}

/* Appends J as JSON text (any value). Returns 0 or -1. */
static int put_json(struct buf *b, const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	int rc = s ? buf_puts(b, s) : -1;
	free(s);
	return rc;
}

void trial__record(struct trial *t, int action, const struct hippo_step_result *res,
		   const char *end)
{
	struct buf *b = &t->line;
	buf_reset(b);
	int rc = buf_printf(b,
			    "{\"userId\":\"%s\",\"projectId\":\"%s\",\"trialId\":\"%s\",\"episode\":%d,"
			    "\"step\":%lld,\"frameId\":%llu,\"t\":%lld,",
			    t->user_id, t->project_id, t->trial_id, t->episode, t->step,
			    t->frame_id + 1, (long long)clock_wall_ms());
	if (res) {
		const char *name = (size_t)action < t->cfg->trial.naction_space
					   ? t->cfg->trial.action_space[action]
					   : "";
		json_t *jn = json_string(name);
		rc |= buf_printf(b, "\"action\":%d,\"actionName\":", action);
		rc |= put_json(b, jn);
		json_decref(jn);
		rc |= buf_printf(b, ",\"reward\":%.17g,\"terminated\":%s,\"truncated\":%s,",
				 isfinite(res->reward) ? res->reward : 0.0,
				 res->terminated ? "true" : "false",
				 res->truncated ? "true" : "false");
		rc |= buf_puts(b, mode_record(t->mode));
		if (t->env.info->action_space.kind != HIPPO_SPACE_DISCRETE) { /* the vector applied */
			size_t n = t->npend;
			for (size_t i = 0; i < n; i++)
				rc |= buf_printf(b, "%s%.17g", i ? "," : "\"envAction\":[",
						 t->pend_action[i]);
			rc |= buf_append(b, "],", n ? 2 : 0);
		}
	} else if (end) {
		rc |= buf_printf(b, "\"end\":\"%s\",", end);
	} else {
		rc |= buf_puts(b, "\"reset\":true,");
	}
	rc |= buf_puts(b, "\"inputs\":[");
	rc |= buf_append(b, t->inputs.data, t->inputs.len);
	rc |= buf_puts(b, "],");
	if (t->inputs_dropped)
		rc |= buf_printf(b, "\"inputsDropped\":%u,", t->inputs_dropped);
	rc |= buf_puts(b, "\"observation\":[");
	bool f32 = t->env.info->observation_space.dtype != HIPPO_DTYPE_FLOAT64;
	for (size_t i = 0; i < t->env.obs_n; i++) {
		double v = t->env.obs[i];
		if (!isfinite(v))
			rc |= buf_printf(b, "%snull", i ? "," : "");
		else
			rc |= buf_printf(b, f32 ? "%s%.9g" : "%s%.17g", i ? "," : "", v);
	}
	rc |= buf_printf(b, "],\"fps\":%d", t->fps);
	if (t->seen_frame >= 0)
		rc |= buf_printf(b, ",\"seenFrameId\":%lld", t->seen_frame);
	if (t->reaction_ms >= 0)
		rc |= buf_printf(b, ",\"reactionMs\":%.1f", t->reaction_ms);
	if (t->rtt_ms >= 0)
		rc |= buf_printf(b, ",\"rttMs\":%.2f", t->rtt_ms);
	if (t->info[0] && strcmp(t->info, "{}") != 0) {
		rc |= buf_puts(b, ",\"info\":");
		rc |= buf_puts(b, t->info);
	}
	rc |= buf_putc(b, '}');
	if (rc == 0)
		rec_append(t->rec, b->data, b->len);
	buf_reset(&t->inputs);
	t->ninputs = 0;
	t->inputs_dropped = 0;
	t->seen_frame = -1;
	t->reaction_ms = -1;
}

void trial__keep_input(struct trial *t, const struct trial_msg *m)
{
	char *s = json_dumps(m->root, JSON_COMPACT);
	if (!s)
		return;
	size_t n = strlen(s);
	char stamp[48];
	int sn = snprintf(stamp, sizeof stamp, "{\"t\":%lld,\"msg\":",
			  (long long)clock_wall_ms());
	/* the inputs are bounded (TRIAL_MAX_INPUT_BYTES): past that they are counted */
	if (buf_reserve(&t->inputs, (size_t)sn + n + 3) < 0) {
		t->inputs_dropped++;
		free(s);
		return;
	}
	if (t->inputs.len)
		buf_putc(&t->inputs, ',');
	buf_append(&t->inputs, stamp, (size_t)sn);
	buf_append(&t->inputs, s, n);
	buf_putc(&t->inputs, '}');
	t->ninputs++;
	free(s);
}

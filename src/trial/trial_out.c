/* trial_out: what the participant receives (docs/protocol.md, "Server -> client"):
 * the welcome after a handshake, errors, the UI list, the display panel, the
 * feedback budget and the frames. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "render/encode.h"
#include "trial/trial_int.h"

void trial__send_json(const struct trial_sink *sink, json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	if (s) {
		sink->text(sink->user, s, strlen(s));
		free(s);
	}
	json_decref(j);
}

void trial__send_error(const struct trial_sink *sink, const char *msg)
{
	trial__send_json(sink, json_pack("{s:s}", "error", msg));
}

/* The display panel's values as a JSON object: the episode of the game ("k /
 * max", episodes of earlier sessions included), its
 * return so far (rounded to 2 decimals) and the step in the episode. */
static void display_obj(const struct trial *t, char *buf, size_t len)
{
	double s = isfinite(t->score) ? round(t->score * 100) / 100 : 0;
	if (s == 0)
		s = 0; /* no "-0" */
	snprintf(buf, len, "{\"episode\":\"%d / %d\",\"score\":%.15g,\"step\":%lld}",
		 t->episodes_before + t->episode, t->cfg->trial.max_episodes, s, t->step);
}

void trial__send_display_text(struct trial *t, const struct trial_sink *sink, bool force)
{
	if (!trial__attached(t) || !(t->disp_dirty || t->disp_force || force))
		return;
	int64_t now = clock_mono_ns();
	force = force || t->disp_force;
	if (!force && now < t->disp_at)
		return;
	char obj[TRIAL_DISPLAY_MAX], msg[TRIAL_DISPLAY_MAX + 16];
	display_obj(t, obj, sizeof obj);
	t->disp_dirty = t->disp_force = false;
	if (strcmp(obj, t->disp_sent) == 0)
		return;
	int n = snprintf(msg, sizeof msg, "{\"display\":%s}", obj);
	if (n <= 0 || (size_t)n >= sizeof msg)
		return;
	sink->text(sink->user, msg, (size_t)n);
	snprintf(t->disp_sent, sizeof t->disp_sent, "%s", obj);
	t->disp_at = now + TRIAL_DISPLAY_NS;
}

void trial__send_budget_text(const struct trial *t, const struct trial_sink *sink)
{
	if (!t->binary || t->cfg->trial.input_budget <= 0)
		return;
	char msg[80];
	int n = snprintf(msg, sizeof msg, "{\"inputBudget\":%d,\"usedInputBudget\":%d}",
			 t->cfg->trial.input_budget, t->used_budget);
	if (n > 0 && (size_t)n < sizeof msg)
		sink->text(sink->user, msg, (size_t)n);
}

void trial__send_ui(struct trial *t, const struct trial_sink *sink)
{
	json_t *ui = json_array();
	for (size_t i = 0; i < t->cfg->trial.nui; i++)
		json_array_append_new(ui, json_string(t->cfg->trial.ui[i]));
	trial__send_json(sink, json_pack("{s:o}", "UI", ui));
}

void trial__send_welcome(struct trial *t, const struct trial_msg *hs, const struct trial_sink *sink)
{
	if (hs && hs->want_hello) {
		json_t *sup = json_pack("[s,s,s,s,s]", "binary", "feedback", "visibility", "ping",
					"sinceFrameMs");
		trial__send_json(sink, json_pack("{s:{s:s,s:s,s:i,s:s,s:s,s:s,s:o}}", "hello",
						 "server", "hippo", "version", HIPPO_VERSION,
						 "protocol", 1, "userId", t->user_id, "trialId",
						 t->trial_id, "frames",
						 hs->accept_binary ? "binary" : "json", "supports",
						 sup));
	}
	trial__send_ui(t, sink);
	if (t->cfg->trial.variables)
		trial__send_json(sink, json_incref(t->cfg->trial.variables));
	if (t->cfg->trial.instructions)
		trial__send_json(sink, json_pack("{s:O}", "Instructions", t->cfg->trial.instructions));
	trial__send_budget_text(t, sink);
}

void trial__send_frame(struct trial *t, struct trial_scratch *sc, const struct trial_sink *sink)
{
	const struct hippo_env_meta *meta = &t->env.info->meta;
	int w = meta->render_width, h = meta->render_height;
	if (w <= 0 || h <= 0)
		return;
	size_t need = (size_t)w * (size_t)h * 3;
	if (sc->rgb_cap < need) {
		uint8_t *p = realloc(sc->rgb, need);
		if (!p)
			return;
		sc->rgb = p;
		sc->rgb_cap = need;
	}
	if (env_render(&t->env, sc->rgb, (size_t)w * 3) < 0) {
		log_warn("trial", "render failed", "user=%s err=\"%s\"", t->user_id, t->env.err);
		return;
	}
	if (!sc->enc && !(sc->enc = enc_frame_new(sc->cache)))
		return;
	size_t len = 0;
	const uint8_t *jpeg = enc_frame(sc->enc, sc->rgb, w, h, (size_t)w * 3,
					t->cfg->trial.jpeg_quality, &len);
	if (!jpeg) {
		log_warn("trial", "JPEG encoding failed", "user=%s", t->user_id);
		return;
	}
	char extra[96 + TRIAL_DISPLAY_MAX] = "";
	size_t xn = 0;
	if (t->cfg->trial.input_budget > 0 && !t->binary)
		xn = (size_t)snprintf(extra, sizeof extra,
				      ",\"inputBudget\":%d,\"usedInputBudget\":%d",
				      t->cfg->trial.input_budget, t->used_budget);
	if (!t->binary && (t->disp_dirty || t->disp_force)) { /* the display rides along */
		char obj[TRIAL_DISPLAY_MAX];
		display_obj(t, obj, sizeof obj);
		if (strcmp(obj, t->disp_sent) != 0 && xn < sizeof extra) {
			snprintf(extra + xn, sizeof extra - xn, ",\"display\":%s", obj);
			snprintf(t->disp_sent, sizeof t->disp_sent, "%s", obj);
		}
		t->disp_dirty = t->disp_force = false;
	}
	sink->frame(sink->user, jpeg, len, ++t->frame_id, extra);
	if (t->cfg->trial.record_frames)
		rec_frame(t->rec, t->frame_id, jpeg, len);
	t->want_frame = false;
	if (t->binary)
		trial__send_display_text(t, sink, false);
}

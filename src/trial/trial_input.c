/* trial_input: what the participant does (docs/protocol.md, "Client ->
 * server"): connecting and leaving, commands, actions into the action queue,
 * frame-rate changes, feedback and visibility. Cheap: called on the I/O
 * thread; the work they ask for is done by trial_run on a worker. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"
#include "trial/trial_int.h"

void trial_on_attach(struct trial *t, const struct trial_msg *hs, const struct trial_sink *sink)
{
	if (t->client == TRIAL_DETACHED)
		t->client = TRIAL_PAUSED; /* a connection that replaces another keeps playing */
	t->hidden = false;
	t->binary = hs && hs->accept_binary;
	t->disp_sent[0] = '\0'; /* a new connection: the display is sent again */
	t->disp_force = t->episode > 0;
	trial__send_welcome(t, hs, sink);
	t->want_frame = true;
}

void trial_on_detach(struct trial *t)
{
	t->client = TRIAL_DETACHED;
	t->next_tick = INT64_MAX;
}

void trial_on_rtt(struct trial *t, double rtt_ms)
{
	t->rtt_ms = rtt_ms;
}

static int action_code(const struct trial *t, const struct trial_msg *m)
{
	const struct cfg_trial *ct = &t->cfg->trial;
	if (m->action_code >= 0)
		return (size_t)m->action_code < ct->naction_space ? (int)m->action_code : 0;
	for (size_t i = 0; i < ct->naction_space; i++)
		if (strcasecmp(ct->action_space[i], m->action) == 0)
			return (int)i;
	return 0;
}

/* Queues CODE for the next steps (trial.actionBufferLifespan steps each). */
static void push_action(struct trial *t, int code)
{
	int lifespan = t->cfg->trial.action_buffer_lifespan;
	if (t->qlen == TRIAL_QUEUE) { /* full: the newest replaces the last queued */
		int last = (t->qhead + t->qlen - 1) % TRIAL_QUEUE;
		t->q[last].code = code;
		t->q[last].left = lifespan;
		return;
	}
	int i = (t->qhead + t->qlen) % TRIAL_QUEUE;
	t->q[i].code = code;
	t->q[i].left = lifespan;
	t->qlen++;
}

static void change_fps(struct trial *t, const struct trial_msg *m, const struct trial_sink *sink)
{
	const struct cfg_trial *ct = &t->cfg->trial;
	if (!ct->allow_frame_rate_change) {
		trial__send_error(sink, "frame rate changes are not allowed in this trial");
		return;
	}
	int fps = m->fps_delta ? t->fps + m->fps_delta * ct->frame_rate_step_size : m->fps_value;
	if (fps < ct->min_frame_rate)
		fps = ct->min_frame_rate;
	if (fps > ct->max_frame_rate)
		fps = ct->max_frame_rate;
	t->fps = fps;
}

static void command(struct trial *t, const struct trial_msg *m, int64_t now,
		    const struct trial_sink *sink)
{
	switch (m->command) {
	case MSG_CMD_START:
		if (t->client == TRIAL_PAUSED) {
			t->client = TRIAL_PLAYING;
			t->next_tick = now + trial__period_ns(t);
		}
		break;
	case MSG_CMD_PAUSE:
		if (t->client == TRIAL_PLAYING)
			t->client = TRIAL_PAUSED;
		t->next_tick = INT64_MAX;
		break;
	case MSG_CMD_STOP:
		t->pending_end = SESS_END_STOP;
		break;
	case MSG_CMD_RESET:
		t->pending_reset = true;
		break;
	case MSG_CMD_REQUEST_UI:
		trial__send_ui(t, sink);
		break;
	default:
		break;
	}
}

void trial_on_message(struct trial *t, const struct trial_msg *m, int64_t now,
		      const struct trial_sink *sink)
{
	if (t->state == TRIAL_ENDED)
		return;
	trial__keep_input(t, m);
	if (m->has & MSG_COMMAND)
		command(t, m, now, sink);
	if (m->has & MSG_FRAMERATE)
		change_fps(t, m, sink);
	if (m->has & MSG_ACTION) {
		push_action(t, action_code(t, m));
		if (!t->lag_from)
			t->lag_from = now;
		t->seen_frame = m->frame_id;
		t->reaction_ms = m->since_frame_ms;
	}
	if (m->has & MSG_FEEDBACK) {
		t->used_budget++;
		trial__send_budget_text(t, sink);
		int budget = t->cfg->trial.input_budget;
		if (t->mode && (budget == 0 || t->used_budget <= budget)) {
			/* the step whose outcome was on screen: frame ids and steps advance together */
			long long lag = m->frame_id >= 0 && (unsigned long long)m->frame_id <= t->frame_id
						? (long long)(t->frame_id - (unsigned long long)m->frame_id)
						: 0;
			mode_feedback(t->mode, m->feedback_good ? 1 : -1, t->total_steps - 1 - lag);
		}
	}
	if ((m->has & MSG_VISIBILITY) && t->cfg->trial.pause_when_hidden) {
		bool was = t->hidden;
		t->hidden = !m->visible;
		if (was && !t->hidden && t->client == TRIAL_PLAYING)
			t->next_tick = now + trial__period_ns(t);
	}
}

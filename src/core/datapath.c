#include "core/datapath.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Formats into OUT; "" and -1 when it does not fit. */
__attribute__((format(printf, 3, 4))) static int fmt(char *out, size_t len, const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	int n = vsnprintf(out, len, f, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len) {
		if (len)
			out[0] = '\0';
		return -1;
	}
	return 0;
}

/* DATA/REST, or REST alone when DATA is NULL. */
#define UNDER(out, len, data, f, ...)                                                          \
	((data) ? fmt(out, len, "%s/" f, data, __VA_ARGS__) : fmt(out, len, f, __VA_ARGS__))

int datapath_store(char *out, size_t len, const char *data)
{
	return UNDER(out, len, data, "%s", "hippo.db");
}

int datapath_spool_dir(char *out, size_t len, const char *data)
{
	return UNDER(out, len, data, "%s", "spool");
}

int datapath_spool_db(char *out, size_t len, const char *data)
{
	return UNDER(out, len, data, "%s", "spool/uploads.db");
}

int datapath_projects(char *out, size_t len, const char *data)
{
	return UNDER(out, len, data, "%s", "projects");
}

int datapath_trials(char *out, size_t len, const char *data, const char *project)
{
	return UNDER(out, len, data, "%s/trials", project);
}

int datapath_participant(char *out, size_t len, const char *data, const char *project,
			 const char *user)
{
	return UNDER(out, len, data, "%s/trials/%s", project, user);
}

int datapath_users(char *out, size_t len, const char *data, const char *project)
{
	return UNDER(out, len, data, "%s/users", project);
}

int datapath_user_record(char *out, size_t len, const char *data, const char *project,
			 const char *user)
{
	return UNDER(out, len, data, "%s/users/%s.json", project, user);
}

int datapath_data_name(char *out, size_t len, bool per_episode, int episode,
		       const char *trial_id)
{
	bool own = trial_id && trial_id[0];
	if (per_episode)
		return own ? fmt(out, len, "episode_%d-%s.jsonl", episode, trial_id)
			   : fmt(out, len, "episode_%d.jsonl", episode);
	return own ? fmt(out, len, "trial-%s.jsonl", trial_id) : fmt(out, len, "trial.jsonl");
}

bool datapath_is_data_file(const char *name)
{
	size_t n = strlen(name);
	return n > 6 && strcmp(name + n - 6, ".jsonl") == 0 && strcmp(name, DATAPATH_META) != 0;
}

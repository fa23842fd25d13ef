#include "trial/end_reason.h"

#include <string.h>

static const char *const reason_names[] = {
	"none",	    "done",	"stop",	    "stop_step",       "max_runtime",
	"grace",    "error",	"shutdown", "connect_timeout", "record_error",
	"node_lost", "drained",
};

const char *sess_end_reason_name(enum sess_end_reason r)
{
	return (unsigned)r < sizeof reason_names / sizeof reason_names[0] ? reason_names[r]
									  : "unknown";
}

bool sess_end_name_final(const char *name)
{
	static const enum sess_end_reason final[] = {SESS_END_DONE,	   SESS_END_STOP,
						     SESS_END_STOP_STEP,   SESS_END_MAX_RUNTIME,
						     SESS_END_GRACE,	   SESS_END_ERROR};
	for (size_t i = 0; name && i < sizeof final / sizeof final[0]; i++)
		if (strcmp(name, reason_names[final[i]]) == 0)
			return true;
	return false;
}

bool sess_end_retry(enum sess_end_reason r)
{
	return r == SESS_END_RECORD || r == SESS_END_NODE_LOST || r == SESS_END_DRAINED;
}

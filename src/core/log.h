/* log: one line per event on stderr (or a chosen stream), with a level, a
 * component tag and key=value fields:
 *
 *   2026-11-23T21:30:00.123Z level=info comp=trial msg="session started" user=u1 fps=30
 *
 * Formatting is skipped below the current level. Safe to call from any thread:
 * each line is built in a local buffer and written with one call.
 * Low-level modules return errors; their callers log. */
#ifndef HIPPO_CORE_LOG_H
#define HIPPO_CORE_LOG_H

#include <stdbool.h>
#include <stdio.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* "debug" | "info" | "warn" | "error" | "off"; returns false if unknown. */
bool log_level_parse(const char *name, enum log_level *out);
/* Where lines go; NULL restores stderr. The caller keeps ownership of F. */
void log_set_stream(FILE *f);

/* COMP is a short component tag, MSG a human sentence (quoted in the output),
 * FIELDS a printf format producing "key=value key2=value2" (may be NULL). */
void log_emit(enum log_level level, const char *comp, const char *msg, const char *fields, ...)
	__attribute__((format(printf, 4, 5)));

#define log_enabled(level) ((level) >= log_get_level())
#define log_at(level, comp, msg, ...)                                   \
	do {                                                            \
		if (log_enabled(level))                                 \
			log_emit(level, comp, msg, __VA_ARGS__);        \
	} while (0)
#define log_debug(comp, msg, ...) log_at(LOG_DEBUG, comp, msg, __VA_ARGS__)
#define log_info(comp, msg, ...)  log_at(LOG_INFO, comp, msg, __VA_ARGS__)
#define log_warn(comp, msg, ...)  log_at(LOG_WARN, comp, msg, __VA_ARGS__)
#define log_error(comp, msg, ...) log_at(LOG_ERROR, comp, msg, __VA_ARGS__)

#endif

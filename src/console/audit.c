/* audit: see audit.h. */
#include "console/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "core/clock.h"
#include "export/records.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void path_of(const char *data_dir, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", data_dir, AUDIT_FILE);
}

int audit_append(const char *data_dir, json_t *entry, char *id, size_t idlen, char *err,
		 size_t errlen)
{
	char path[4200], now[CLOCK_ISO_LEN];
	unsigned char r[4] = {0};
	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
		memset(r, 0, sizeof r);
	clock_iso8601_now(now, sizeof now);
	snprintf(id, idlen, "%.4s%.2s%.2sT%.2s%.2s%.2sZ-%02x%02x%02x%02x", now, now + 5, now + 8,
		 now + 11, now + 14, now + 17, r[0], r[1], r[2], r[3]);
	json_object_set_new(entry, "id", json_string(id));
	json_object_set_new(entry, "time", json_string(now));
	char *line = json_dumps(entry, JSON_COMPACT | JSON_SORT_KEYS);
	if (!line) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	path_of(data_dir, path, sizeof path);
	pthread_mutex_lock(&mu);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	int rc = -1;
	if (fd >= 0) {
		size_t n = strlen(line);
		line[n] = '\n';
		rc = write(fd, line, n + 1) == (ssize_t)(n + 1) && fsync(fd) == 0 ? 0 : -1;
		if (rc < 0)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
	} else {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	}
	pthread_mutex_unlock(&mu);
	free(line);
	return rc;
}

json_t *audit_tail(const char *data_dir, size_t max, char *err, size_t errlen)
{
	char path[4200];
	path_of(data_dir, path, sizeof path);
	json_t *ring = json_array();
	FILE *f = fopen(path, "r");
	if (!f) {
		if (errno == ENOENT)
			return ring;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		json_decref(ring);
		return NULL;
	}
	struct rr rd;
	rr_init(&rd, f, 1u << 20);
	json_t *j;
	char e[256];
	int k;
	while ((k = rr_next(&rd, &j, e, sizeof e)) != 0 && k != -2) {
		if (k < 0)
			continue;
		json_array_append_new(ring, j);
		if (json_array_size(ring) > max)
			json_array_remove(ring, 0);
	}
	rr_free(&rd);
	fclose(f);
	json_t *out = json_array();
	for (size_t i = json_array_size(ring); i-- > 0;)
		json_array_append(out, json_array_get(ring, i));
	json_decref(ring);
	return out;
}

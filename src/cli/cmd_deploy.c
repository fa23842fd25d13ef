/* hippo deploy PROJECT_DIR --server URL: validates a study folder and publishes
 * it (config.yml + StepFiles/) to a running hippo serve through the admin API.
 * The server replaces the previous version atomically and keeps its
 * participants. The token comes from HIPPO_ADMIN_TOKEN or --token-file. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <curl/curl.h>
#include <jansson.h>

#include "cli/commands.h"
#include "core/config.h"

#define DEPLOY_MAX_FILE (4 * 1024 * 1024)

static const char *opt_server = NULL;
static const char *opt_token_file = NULL;

static const struct opt opts[] = {
	{"server", OPT_STRING, &opt_server, "URL", "the running server, e.g. http://127.0.0.1:8080",
	 0, 0},
	{"token-file", OPT_STRING, &opt_token_file, "FILE",
	 "file holding the admin token (else HIPPO_ADMIN_TOKEN)", 0, 0},
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

static const struct opt_cmd spec = {
	.name = "deploy",
	.args = "PROJECT_DIR",
	.summary = "publish a study folder to a running hippo serve (admin API)",
	.min_pos = 1,
	.max_pos = 1,
	.opts = opts,
};

/* Reads a whole file of at most DEPLOY_MAX_FILE bytes; NULL on error. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(DEPLOY_MAX_FILE + 1);
	size_t n = buf ? fread(buf, 1, DEPLOY_MAX_FILE + 1, f) : 0;
	fclose(f);
	if (!buf || n > DEPLOY_MAX_FILE) {
		free(buf);
		errno = EFBIG;
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* {"config": text, "files": {name: text}} for DIR, or NULL after printing why. */
static json_t *build_upload(const char *dir)
{
	char path[PATH_MAX];
	size_t len;
	snprintf(path, sizeof path, "%s/config.yml", dir);
	char *config = slurp(path, &len);
	if (!config) {
		fprintf(stderr, "hippo deploy: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	json_t *files = json_object();
	json_t *up = json_pack("{s:s%,s:o}", "config", config, len, "files", files);
	free(config);
	if (!up) {
		fprintf(stderr, "hippo deploy: %s: not UTF-8 text\n", path);
		return NULL;
	}
	snprintf(path, sizeof path, "%s/StepFiles", dir);
	DIR *d = opendir(path);
	if (!d) {
		fprintf(stderr, "hippo deploy: %s: %s\n", path, strerror(errno));
		json_decref(up);
		return NULL;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char fpath[PATH_MAX + 256];
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		snprintf(fpath, sizeof fpath, "%s/%s", path, e->d_name);
		if (stat(fpath, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		char *text = slurp(fpath, &len);
		json_t *v = text ? json_stringn(text, len) : NULL;
		free(text);
		if (!v) {
			fprintf(stderr, "hippo deploy: %s: unreadable or not UTF-8 text\n", fpath);
			closedir(d);
			json_decref(up);
			return NULL;
		}
		json_object_set_new(files, e->d_name, v);
	}
	closedir(d);
	return up;
}

static size_t collect(char *ptr, size_t size, size_t nmemb, void *user)
{
	FILE *m = user;
	return fwrite(ptr, size, nmemb, m);
}

static char *token_from(const char *file)
{
	if (!file) {
		const char *t = getenv("HIPPO_ADMIN_TOKEN");
		return t && t[0] ? strdup(t) : NULL;
	}
	size_t len;
	char *t = slurp(file, &len);
	if (!t)
		return NULL;
	char *s = t;
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	size_t n = strcspn(s, "\r\n");
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	s[n] = '\0';
	char *r = s[0] ? strdup(s) : NULL;
	free(t);
	return r;
}

static int run(int argc, char **argv)
{
	int npos, rc = 1;
	int prc = opt_parse(&spec, argc, argv, &npos);
	if (prc != OPT_OK)
		return prc;
	if (!opt_server) {
		fprintf(stderr, "hippo deploy: --server URL is required\n");
		return 2;
	}
	const char *dir = argv[1];
	struct cfg c;
	struct cfg_diags d = {0};
	char label[PATH_MAX], url[2048], auth[1200];
	snprintf(label, sizeof label, "%s/config.yml", dir);
	if (cfg_load(dir, &c, &d) < 0) {
		cfg_diags_print(&d, label, stderr);
		fprintf(stderr, "hippo deploy: %s is not a valid study folder (see hippo check)\n",
			dir);
		cfg_diags_free(&d);
		return 1;
	}
	cfg_diags_print(&d, label, stderr);
	cfg_diags_free(&d);
	char id[CFG_ID_MAX + 1];
	snprintf(id, sizeof id, "%s", c.project.id);
	cfg_free(&c);

	char *token = token_from(opt_token_file);
	json_t *up = build_upload(dir);
	char *body = up ? json_dumps(up, JSON_COMPACT) : NULL;
	json_decref(up);
	char *answer = NULL;
	size_t alen = 0;
	FILE *m = NULL;
	CURL *curl = NULL;
	struct curl_slist *hdrs = NULL;
	if (!token) {
		fprintf(stderr, "hippo deploy: no admin token: set HIPPO_ADMIN_TOKEN or --token-file\n");
		goto out;
	}
	if (!body)
		goto out;
	size_t sl = strlen(opt_server);
	while (sl > 0 && opt_server[sl - 1] == '/')
		sl--;
	snprintf(url, sizeof url, "%.*s/api/projects/%s/deploy", (int)sl, opt_server, id);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
	m = open_memstream(&answer, &alen);
	curl = curl_easy_init();
	if (!m || !curl)
		goto out;
	hdrs = curl_slist_append(hdrs, auth);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, m);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	CURLcode cc = curl_easy_perform(curl);
	fflush(m);
	long status = 0;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (cc != CURLE_OK) {
		fprintf(stderr, "hippo deploy: %s: %s\n", url, curl_easy_strerror(cc));
		goto out;
	}
	if (status != 200) {
		fprintf(stderr, "hippo deploy: the server answered %ld: %.*s\n", status, (int)alen,
			answer ? answer : "");
		goto out;
	}
	json_t *j = json_loadb(answer, alen, 0, NULL);
	json_t *proj = json_object_get(j, "project");
	printf("deployed %s version %lld to %.*s (participants kept: %lld)\n", id,
	       (long long)json_integer_value(json_object_get(proj, "version")), (int)sl, opt_server,
	       (long long)json_integer_value(json_object_get(proj, "participants")));
	json_decref(j);
	rc = 0;
out:
	if (curl)
		curl_easy_cleanup(curl);
	curl_slist_free_all(hdrs);
	if (m)
		fclose(m);
	free(answer);
	free(body);
	if (token) {
		memset(token, 0, strlen(token));
		free(token);
	}
	return rc;
}

const struct command cmd_deploy = {.spec = &spec, .run = run};

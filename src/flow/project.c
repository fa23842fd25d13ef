/* project: the registry of study projects served by /next, with their step
 * pages read into memory at registration. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/datapath.h"
#include "core/id.h"
#include "core/log.h"
#include "core/path.h"
#include "flow/flow_int.h"
#include "store/store.h"
#include "trial/trial_env.h"

#define PAGE_MAX_BYTES (4 * 1024 * 1024)

/* A step file name must stay inside StepFiles/: no separators, no "..". */
static bool valid_file_name(const char *s)
{
	if (!s[0] || s[0] == '.' || strchr(s, '/') || strchr(s, '\\') || strstr(s, ".."))
		return false;
	return strlen(s) < 256;
}

int flow_pathf(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

struct flow *flow_new(struct store *store, struct sess_mgr *sess, const char *data_dir)
{
	struct flow *f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	f->store = store;
	f->sess = sess;
	f->data_dir = strdup(data_dir ? data_dir : ".");
	if (!f->data_dir) {
		free(f);
		return NULL;
	}
	pthread_mutex_init(&f->mu, NULL);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	f->rnd = (unsigned)ts.tv_nsec ^ (unsigned)getpid() ^ (unsigned)ts.tv_sec;
	return f;
}

void flow_set_secure(struct flow *f, bool secure)
{
	f->secure = secure;
}

void flow_set_trust_deployed_code(struct flow *f, bool trust)
{
	f->trust_deployed_code = trust;
}

void flow_set_hooks(struct flow *f, const struct flow_hooks *h)
{
	f->hooks = *h;
}

static void step_free(struct flow__step *s)
{
	int n = s->nvariants > 0 ? s->nvariants : 1;
	if (s->pages)
		for (int i = 0; i < n; i++)
			free(s->pages[i].json);
	free(s->pages);
	s->pages = NULL;
}

static void project_free(struct flow__project *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nsteps; i++)
		step_free(&p->steps[i]);
	free(p->steps);
	step_free(&p->final);
	if (p->cfg) {
		cfg_free(p->cfg);
		free(p->cfg);
	}
	free(p);
}

void flow_free(struct flow *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->nprojects; i++)
		project_free(f->projects[i]);
	while (f->retired) {
		struct flow__project *next = f->retired->older;
		project_free(f->retired);
		f->retired = next;
	}
	free(f->projects);
	free(f->data_dir);
	free(f->preview_key);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

unsigned flow__random(struct flow *f)
{
	pthread_mutex_lock(&f->mu);
	/* xorshift32: only used to break ties between equally filled groups. */
	unsigned x = f->rnd ? f->rnd : 0x9e3779b9u;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	f->rnd = x;
	pthread_mutex_unlock(&f->mu);
	return x;
}

_Static_assert(sizeof((struct flow__page *)0)->hash == STORE_PAGE_HASH_LEN + 1,
	       "a page hash is SHA-256 in hex");

/* PAGE's hash: the SHA-256 of the N bytes of BUF, in lowercase hex. */
static int page_hash(struct flow__page *page, const char *buf, size_t n)
{
	unsigned char md[32];
	if (EVP_Digest(buf, n, md, NULL, EVP_sha256(), NULL) != 1)
		return -1;
	for (size_t i = 0; i < sizeof md; i++) {
		page->hash[2 * i] = "0123456789abcdef"[md[i] >> 4];
		page->hash[2 * i + 1] = "0123456789abcdef"[md[i] & 15];
	}
	page->hash[2 * sizeof md] = '\0';
	return 0;
}

/* Reads DIR/StepFiles/NAME and encodes it as a JSON string literal into PAGE,
 * with the hash of its bytes. */
static int page_load(const char *dir, const char *name, struct flow__page *page, char *err,
		     size_t errlen)
{
	char path[PATH_MAX];
	FILE *fp = NULL;
	char *buf = NULL;
	json_t *s = NULL;
	int rc = -1;
	if (!valid_file_name(name)) {
		snprintf(err, errlen, "step file name '%s' is not a plain file name", name);
		return -1;
	}
	char rel[300], shown[PATH_MAX];
	snprintf(rel, sizeof rel, "StepFiles/%s", name);
	snprintf(shown, sizeof shown, "%s/%s", dir, rel);
	/* the page is served to anyone: no symbolic link may lead out of the study */
	enum path_where w = path_inside(dir, rel, path, sizeof path);
	if (w == PATH_OUTSIDE) {
		snprintf(err, errlen, "%s: a symbolic link to a file outside the study folder",
			 shown);
		goto out;
	}
	fp = w == PATH_INSIDE ? fopen(path, "rbe") : NULL;
	if (!fp) {
		snprintf(err, errlen, "%s: %s", shown, strerror(errno));
		goto out;
	}
	buf = malloc(PAGE_MAX_BYTES + 1);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	size_t n = fread(buf, 1, PAGE_MAX_BYTES + 1, fp);
	if (n > PAGE_MAX_BYTES) {
		snprintf(err, errlen, "%s: larger than %d bytes", path, PAGE_MAX_BYTES);
		goto out;
	}
	s = json_stringn(buf, n);
	if (!s) {
		snprintf(err, errlen, "%s: not valid UTF-8 text (or contains NUL bytes)", path);
		goto out;
	}
	if (page_hash(page, buf, n) < 0) {
		snprintf(err, errlen, "%s: cannot compute its SHA-256", path);
		goto out;
	}
	page->json = json_dumps(s, JSON_ENCODE_ANY | JSON_COMPACT);
	if (!page->json) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	page->len = strlen(page->json);
	rc = 0;
out:
	json_decref(s);
	free(buf);
	if (fp)
		fclose(fp);
	return rc;
}

/* Fills S from the config step C, loading its page(s). */
static int step_load(const char *dir, const struct cfg_step *c, struct flow__step *s, char *err,
		     size_t errlen)
{
	s->number = c->number;
	s->is_game = c->is_game;
	s->nvariants = c->is_game ? 0 : c->nvariants;
	if (s->is_game)
		return 0;
	int n = s->nvariants > 0 ? s->nvariants : 1;
	s->pages = calloc((size_t)n, sizeof *s->pages);
	if (!s->pages) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (s->nvariants == 0)
		return page_load(dir, c->file, &s->pages[0], err, errlen);
	/* <stem>.html has variants <stem>-0.html .. <stem>-(n-1).html */
	size_t flen = strlen(c->file);
	size_t stem = flen > 5 && strcmp(c->file + flen - 5, ".html") == 0 ? flen - 5 : flen;
	for (int g = 0; g < n; g++) {
		char name[300];
		snprintf(name, sizeof name, "%.*s-%d.html", (int)stem, c->file, g);
		if (page_load(dir, name, &s->pages[g], err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* flow_project_add; BUMP: a new version number (a deploy on this node);
 * COPY > 0: version COPY deployed on another node, whose number it keeps
 * (the store's may already be that of a later deploy under way). */
static int project_add(struct flow *f, struct cfg *cfg, bool deployed, bool bump, int copy,
		       char *err, size_t errlen)
{
	struct flow__project *p = calloc(1, sizeof *p);
	const char *dir = cfg->dir ? cfg->dir : ".";
	if (!p) {
		snprintf(err, errlen, "out of memory");
		cfg_free(cfg);
		free(cfg);
		return -1;
	}
	p->cfg = cfg;
	p->deployed = deployed;
	if (!cfg->project.id || !id_valid_project(cfg->project.id)) {
		snprintf(err, errlen, "project.id is missing or not [A-Za-z0-9-]{1,64}");
		goto fail;
	}
	if (cfg->project.nsteps > 0) {
		p->steps = calloc(cfg->project.nsteps, sizeof *p->steps);
		if (!p->steps) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	for (size_t i = 0; i < cfg->project.nsteps; i++) {
		if (step_load(dir, &cfg->project.steps[i], &p->steps[i], err, errlen) < 0)
			goto fail;
		p->nsteps++;
		if (i > 0 && p->steps[i].number <= p->steps[i - 1].number) {
			snprintf(err, errlen, "steps are not in increasing order");
			goto fail;
		}
	}
	if (!cfg->project.final_step.file) {
		snprintf(err, errlen, "project.steps.finalStep is missing");
		goto fail;
	}
	if (step_load(dir, &cfg->project.final_step, &p->final, err, errlen) < 0)
		goto fail;
	p->final.number = p->nsteps ? p->steps[p->nsteps - 1].number + 1 : 1;
	p->final.is_game = false;
	if (f->hooks.project_added &&
	    f->hooks.project_added(f->hooks.user, cfg, err, errlen) < 0)
		goto fail;
	if (store_project_put(f->store, cfg->project.id, cfg->project.name,
			      cfg->project.researcher, dir, bump, &p->version) < 0) {
		snprintf(err, errlen, "store: %s", store_errmsg(f->store));
		goto fail;
	}
	if (copy > 0)
		p->version = copy;
	p->live_override = store_project_live_get(f->store, cfg->project.id);

	pthread_mutex_lock(&f->mu);
	size_t i;
	for (i = 0; i < f->nprojects; i++)
		if (strcmp(f->projects[i]->cfg->project.id, cfg->project.id) == 0)
			break;
	if (i == f->nprojects) {
		if (buf_grow_array((void **)&f->projects, &f->cap, f->nprojects + 1,
				   sizeof *f->projects, 8, 0) < 0) {
			pthread_mutex_unlock(&f->mu);
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		f->projects[f->nprojects++] = p;
	} else {
		struct flow__project *old = f->projects[i];
		old->older = f->retired;
		f->retired = old;
		f->projects[i] = p;
	}
	pthread_mutex_unlock(&f->mu);
	log_info("flow", "project registered", "project=%s version=%d steps=%zu dir=%s",
		 cfg->project.id, p->version, p->nsteps, dir);
	return 0;
fail:
	project_free(p);
	return -1;
}

int flow_project_add(struct flow *f, struct cfg *cfg, bool deployed, char *err, size_t errlen)
{
	return project_add(f, cfg, deployed, deployed, 0, err, errlen);
}

/* cfg_load with the flow's checks: a known game always, and for a study that
 * came through the admin API (UNTRUSTED) no program or plug-in unless the
 * operator allowed it. */
static struct cfg_load_opts load_opts(const struct flow *f, bool untrusted)
{
	return (struct cfg_load_opts){
		.flags = untrusted && !f->trust_deployed_code ? CFG_LOAD_NO_CODE : 0,
		.game_known = tenv_game_known,
	};
}

static int load_cfg(struct flow *f, const char *dir, bool untrusted, struct cfg *c,
		    struct cfg_diags *d)
{
	struct cfg_load_opts o = load_opts(f, untrusted);
	return cfg_load_with(dir, &o, c, d);
}

int flow_cfg_load_deployed(struct flow *f, const char *dir, struct cfg *c,
			   struct cfg_diags *diags)
{
	return load_cfg(f, dir, true, c, diags);
}

int flow_cfg_check_deployed_text(struct flow *f, const char *yaml, size_t len, struct cfg *c,
				 struct cfg_diags *diags)
{
	struct cfg_load_opts o = load_opts(f, true);
	return cfg_load_buffer_with(NULL, &o, yaml, len, c, diags);
}

/* flow_project_load; UNTRUSTED: the folder came through the admin API. */
static int project_load(struct flow *f, const char *dir, bool deployed, bool untrusted,
			bool bump, int copy, char *err, size_t errlen)
{
	struct cfg *c = calloc(1, sizeof *c);
	struct cfg_diags d = {0};
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (load_cfg(f, dir, untrusted, c, &d) < 0) {
		char *text = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&text, &len);
		if (m) {
			cfg_diags_print(&d, "config.yml", m);
			fclose(m);
		}
		snprintf(err, errlen, "%s: invalid project:\n%s", dir, text ? text : "");
		free(text);
		cfg_diags_free(&d);
		free(c);
		return -1;
	}
	for (size_t i = 0; i < d.n; i++)
		if (d.items[i].severity == CFG_WARNING)
			log_warn("flow", "study config warning", "dir=%s line=%d key=%s msg=\"%s\"", dir,
				 d.items[i].line, d.items[i].path, d.items[i].message);
	cfg_diags_free(&d);
	return project_add(f, c, deployed, bump, copy, err, errlen);
}

int flow_project_load(struct flow *f, const char *dir, bool deployed, char *err, size_t errlen)
{
	return project_load(f, dir, deployed, deployed, deployed, 0, err, errlen);
}

int flow__project_load_copy(struct flow *f, const char *dir, int version, char *err,
			    size_t errlen)
{
	return project_load(f, dir, true, true, false, version, err, errlen);
}

int flow__project_version(struct flow *f, const char *id)
{
	struct flow__project *p = flow__project_get(f, id);
	return p ? p->version : 0;
}

int flow__project_applied_get(struct flow *f, const char *id)
{
	pthread_mutex_lock(&f->mu);
	int v = 0;
	for (size_t i = 0; i < f->nprojects; i++)
		if (strcmp(f->projects[i]->cfg->project.id, id) == 0)
			v = f->projects[i]->applied;
	pthread_mutex_unlock(&f->mu);
	return v;
}

void flow__project_applied(struct flow *f, const char *id, int version)
{
	pthread_mutex_lock(&f->mu);
	for (size_t i = 0; i < f->nprojects; i++)
		if (strcmp(f->projects[i]->cfg->project.id, id) == 0)
			f->projects[i]->applied = version;
	pthread_mutex_unlock(&f->mu);
}

int flow_load_deployed(struct flow *f)
{
	char path[PATH_MAX];
	int n = 0;
	if (datapath_projects(path, sizeof path, f->data_dir) < 0)
		return 0;
	DIR *d = opendir(path);
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!id_valid_project(e->d_name))
			continue; /* ".", "..", temporary ".tmp-*" folders */
		char dir[PATH_MAX], err[PATH_MAX + 4096];
		struct stat st;
		if (flow_pathf(dir, sizeof dir, "%s/%s", path, e->d_name) < 0 ||
		    stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		/* deployed through the admin API in an earlier run: the same checks */
		if (project_load(f, dir, false, true, false, 0, err, sizeof err) < 0)
			log_error("flow", "deployed project not loaded", "dir=%s error=\"%s\"", dir,
				  err);
		else
			n++;
	}
	closedir(d);
	return n;
}

struct flow__project *flow__project_get(struct flow *f, const char *id)
{
	struct flow__project *p = NULL;
	pthread_mutex_lock(&f->mu);
	for (size_t i = 0; i < f->nprojects; i++)
		if (strcmp(f->projects[i]->cfg->project.id, id) == 0) {
			p = f->projects[i];
			break;
		}
	pthread_mutex_unlock(&f->mu);
	return p;
}

bool flow_project_exists(struct flow *f, const char *id)
{
	return flow__project_get(f, id) != NULL;
}

size_t flow_project_views(struct flow *f, const char *id, struct flow_project_view **out)
{
	*out = NULL;
	pthread_mutex_lock(&f->mu);
	struct flow_project_view *v = calloc(f->nprojects ? f->nprojects : 1, sizeof *v);
	size_t n = 0;
	for (size_t i = 0; v && i < f->nprojects; i++) {
		const struct flow__project *p = f->projects[i];
		if (id && strcmp(p->cfg->project.id, id) != 0)
			continue;
		int o = p->live_override;
		v[n++] = (struct flow_project_view){.cfg = p->cfg,
						    .version = p->version,
						    .deployed = p->deployed,
						    .live = o >= 0 ? o == 1 : p->cfg->project.live};
	}
	pthread_mutex_unlock(&f->mu);
	*out = v;
	return n;
}

bool flow__project_live(struct flow *f, const struct flow__project *p)
{
	pthread_mutex_lock(&f->mu);
	int o = p->live_override;
	pthread_mutex_unlock(&f->mu);
	return o >= 0 ? o == 1 : p->cfg->project.live;
}

int flow_project_set_live(struct flow *f, const char *id, bool live)
{
	struct flow__project *p = flow__project_get(f, id);
	if (!p || store_project_live_set(f->store, id, live ? 1 : 0) < 0)
		return -1;
	pthread_mutex_lock(&f->mu);
	p->live_override = live ? 1 : 0;
	pthread_mutex_unlock(&f->mu);
	return 0;
}

/* The live overrides of one read of the store (copied: the iterator must
 * not take the flow's lock while the store holds its own). */
struct lives {
	struct live_row {
		char id[ID_MAX + 1];
		int live;
	} *v;
	size_t n, cap;
	bool oom;
};

static int on_project_live(void *user, const struct store_project_row *r)
{
	struct lives *k = user;
	if (!r->id || !id_valid_project(r->id))
		return 0;
	if (buf_grow_array((void **)&k->v, &k->cap, k->n + 1, sizeof *k->v, 16, 0) < 0) {
		k->oom = true;
		return 1;
	}
	snprintf(k->v[k->n].id, sizeof k->v[0].id, "%s", r->id);
	k->v[k->n++].live = r->live;
	return 0;
}

int flow_live_sync(struct flow *f)
{
	struct lives k = {0};
	if (store_projects_each(f->store, NULL, on_project_live, &k) < 0 || k.oom) {
		free(k.v);
		return -1;
	}
	int changed = 0;
	pthread_mutex_lock(&f->mu);
	for (size_t i = 0; i < k.n; i++)
		for (size_t j = 0; j < f->nprojects; j++) {
			struct flow__project *p = f->projects[j];
			if (strcmp(p->cfg->project.id, k.v[i].id) != 0 ||
			    p->live_override == k.v[i].live)
				continue;
			p->live_override = k.v[i].live;
			log_info("flow", "live switch applied", "project=%s live=%s", k.v[i].id,
				 k.v[i].live < 0 ? "config" : k.v[i].live ? "on" : "off");
			changed++;
		}
	pthread_mutex_unlock(&f->mu);
	free(k.v);
	return changed;
}

const struct flow__step *flow__step_at(const struct flow__project *p, int number)
{
	for (size_t i = 0; i < p->nsteps; i++)
		if (p->steps[i].number >= number)
			return &p->steps[i];
	return &p->final;
}

int flow__step_next(const struct flow__project *p, int number)
{
	for (size_t i = 0; i < p->nsteps; i++)
		if (p->steps[i].number > number)
			return p->steps[i].number;
	return p->final.number;
}

struct store *flow_store(struct flow *f)
{
	return f->store;
}

const char *flow_data_dir(struct flow *f)
{
	return f->data_dir;
}

json_t *flow_projects_json(struct flow *f)
{
	json_t *list = json_array();
	pthread_mutex_lock(&f->mu);
	size_t n = f->nprojects;
	struct flow__project **ps = malloc((n ? n : 1) * sizeof *ps);
	if (ps && n)
		memcpy(ps, f->projects, n * sizeof *ps);
	pthread_mutex_unlock(&f->mu);
	if (!ps)
		return list;
	for (size_t i = 0; i < n; i++) {
		const struct cfg_project *c = &ps[i]->cfg->project;
		long long total, completed;
		json_t *steps = store_step_counts(f->store, c->id, &total, &completed);
		json_array_append_new(
			list, json_pack("{s:s,s:s?,s:s?,s:s?,s:b,s:i,s:b,s:s?,s:i,s:I,s:I,s:o}", "id",
					c->id, "name", c->name, "researcher", c->researcher,
					"teamMembers", c->team_members, "live",
					flow__project_live(f, ps[i]), "version", ps[i]->version,
					"deployed", ps[i]->deployed, "dir", ps[i]->cfg->dir,
					"totalSteps", (int)ps[i]->nsteps, "participants",
					(json_int_t)total, "completed", (json_int_t)completed,
					"steps", steps));
	}
	free(ps);
	return list;
}

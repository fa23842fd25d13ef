/* plugin: dlopen-loaded environment plug-ins; see plugin.h. */
#include "env/plugin.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/path.h"

#define PLUGIN_MAX_TABLES 1024

struct plugin {
	void *handle;
	const struct hippo_env_ops *ops; /* array of n tables, owned by the library */
	size_t n;
	char path[4096];
};

static int check_table(const struct plugin *p, const struct hippo_env_ops *t, size_t i, char *err,
		       size_t errlen)
{
	if (t->abi_version != HIPPO_ENV_ABI_VERSION) {
		/* versions first: a websocket close reason keeps only ~120 bytes */
		snprintf(err, errlen,
			 "plug-in built for environment ABI version %u, this hippo speaks %u: %s "
			 "(environment '%s'): rebuild it against this hippo's include/hippo/env.h",
			 t->abi_version, HIPPO_ENV_ABI_VERSION, p->path, t->id ? t->id : "?");
		return -1;
	}
	if (!t->id || !t->id[0] || !t->create || !t->destroy || !t->info || !t->reset || !t->step) {
		snprintf(err, errlen,
			 "%s: table %zu ('%s') lacks its id or one of create, destroy, info, reset, "
			 "step",
			 p->path, i, t->id ? t->id : "?");
		return -1;
	}
	return 0;
}

/* A study's plug-in lies inside its folder DIR: PATH is relative and no
 * symbolic link leads out. P->path becomes the resolved file. */
static int inside_study(struct plugin *p, const char *dir, const char *path, char *err,
			size_t errlen)
{
	char res[sizeof p->path];
	if (path[0] == '/') {
		snprintf(err, errlen, "%s: a plug-in must be a path inside the study folder %s",
			 path, dir);
		return -1;
	}
	switch (path_inside(dir, path, res, sizeof res)) {
	case PATH_INSIDE:
		memcpy(p->path, res, strlen(res) + 1);
		return 0;
	case PATH_OUTSIDE:
		snprintf(err, errlen,
			 "%s: the plug-in resolves to a file outside the study folder %s", p->path,
			 dir);
		return -1;
	default:
		snprintf(err, errlen, "%s: cannot load the plug-in: %s", p->path, strerror(errno));
		return -1;
	}
}

int plugin_open(const char *dir, const char *path, struct plugin **out, char *err, size_t errlen)
{
	struct plugin *p = calloc(1, sizeof *p);
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (!path || !path[0]) {
		snprintf(err, errlen, "empty plug-in path");
		goto fail;
	}
	/* a name with a slash: dlopen takes the file itself, never a library search */
	if (path[0] == '/')
		snprintf(p->path, sizeof p->path, "%s", path);
	else
		snprintf(p->path, sizeof p->path, "%s/%s", dir && dir[0] ? dir : ".", path);
	if (dir && inside_study(p, dir, path, err, errlen) < 0)
		goto fail;
	p->handle = dlopen(p->path, RTLD_NOW | RTLD_LOCAL);
	if (!p->handle) {
		const char *why = dlerror();
		snprintf(err, errlen, "%s: cannot load the plug-in: %s", p->path, why ? why : "?");
		goto fail;
	}
	hippo_env_plugin_fn entry;
	void *sym = dlsym(p->handle, HIPPO_ENV_PLUGIN_SYMBOL);
	memcpy(&entry, &sym, sizeof entry); /* object to function pointer, as POSIX allows */
	if (!sym) {
		snprintf(err, errlen, "%s: not a hippo environment plug-in (no symbol %s)", p->path,
			 HIPPO_ENV_PLUGIN_SYMBOL);
		goto fail;
	}
	size_t n = 0;
	p->ops = entry(HIPPO_ENV_ABI_VERSION, &n);
	if (!p->ops || n == 0) {
		snprintf(err, errlen,
			 "%s: the plug-in offers no environment for environment ABI version %u "
			 "(rebuild it against this hippo's include/hippo/env.h)",
			 p->path, HIPPO_ENV_ABI_VERSION);
		goto fail;
	}
	if (n > PLUGIN_MAX_TABLES) {
		snprintf(err, errlen, "%s: %zu tables (at most %d)", p->path, n, PLUGIN_MAX_TABLES);
		goto fail;
	}
	p->n = n;
	for (size_t i = 0; i < n; i++)
		if (check_table(p, &p->ops[i], i, err, errlen) < 0)
			goto fail;
	*out = p;
	return 0;
fail:
	plugin_close(p);
	return -1;
}

size_t plugin_count(const struct plugin *p)
{
	return p->n;
}

const struct hippo_env_ops *plugin_ops(const struct plugin *p, size_t i)
{
	return i < p->n ? &p->ops[i] : NULL;
}

const struct hippo_env_ops *plugin_find(const struct plugin *p, const char *id)
{
	if (!id)
		return p->n == 1 ? &p->ops[0] : NULL;
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->ops[i].id, id) == 0)
			return &p->ops[i];
	return NULL;
}

const char *plugin_path(const struct plugin *p)
{
	return p->path;
}

void plugin_close(struct plugin *p)
{
	if (!p)
		return;
	if (p->handle)
		dlclose(p->handle);
	free(p);
}

int plugin_env_open(struct env *e, struct plugin **pl, const char *dir, const char *path,
		    const char *id, const char *options_json, char *err, size_t errlen)
{
	struct plugin *p;
	memset(e, 0, sizeof *e);
	*pl = NULL;
	if (plugin_open(dir, path, &p, err, errlen) < 0)
		return -1;
	const struct hippo_env_ops *ops = plugin_find(p, id);
	if (!ops) {
		char ids[512] = "";
		size_t off = 0;
		for (size_t i = 0; i < p->n && off < sizeof ids; i++) {
			int k = snprintf(ids + off, sizeof ids - off, "%s%s", i ? ", " : "",
					 p->ops[i].id);
			if (k < 0)
				break;
			off += (size_t)k;
		}
		snprintf(err, errlen, "%s: %s; it offers: %s", p->path,
			 id ? "no environment with this id" : "several environments: name one with id",
			 ids);
		if (id) {
			char m[256];
			snprintf(m, sizeof m, "%s", err);
			snprintf(err, errlen, "%s (wanted '%s')", m, id);
		}
		plugin_close(p);
		return -1;
	}
	if (env_open_ops(e, ops, id ? id : ops->id, options_json, err, errlen) < 0) {
		plugin_close(p);
		return -1;
	}
	*pl = p;
	return 0;
}

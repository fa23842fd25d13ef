/* project_arg: see project_arg.h. */
#include <stdio.h>
#include <sys/stat.h>

#include "cli/project_arg.h"
#include "core/config.h"

int project_arg_id(const char *arg, char *id, size_t cap)
{
	char path[4096];
	struct stat sb;
	snprintf(path, sizeof path, "%s/config.yml", arg);
	if (stat(path, &sb) != 0) {
		snprintf(id, cap, "%s", arg);
		return 0;
	}
	struct cfg c;
	struct cfg_diags d = {0};
	if (cfg_load(arg, &c, &d) != 0) {
		cfg_diags_print(&d, "config.yml", stderr);
		cfg_diags_free(&d);
		return -1;
	}
	cfg_diags_free(&d);
	snprintf(id, cap, "%s", c.project.id ? c.project.id : "");
	cfg_free(&c);
	return 0;
}

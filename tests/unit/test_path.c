/* core/path: path_mkdirs creates a folder and its parents, accepts one that
 * exists, and refuses a path that is another kind of file or too long. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/path.h"
#include "test.h"

static char root[] = "/tmp/hippo-path-XXXXXX";

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void mkdirs_makes_the_parents(void)
{
	char p[512];
	snprintf(p, sizeof p, "%s/a/b/c", root);
	CHECK_INT(path_mkdirs(p), 0);
	CHECK(is_dir(p));
	CHECK_INT(path_mkdirs(p), 0); /* already there */
	snprintf(p, sizeof p, "%s/a/b/d/", root); /* a trailing slash */
	CHECK_INT(path_mkdirs(p), 0);
	CHECK(is_dir(p));
}

static void mkdirs_refuses_a_file_in_the_way(void)
{
	char f[512], p[600];
	snprintf(f, sizeof f, "%s/file", root);
	int fd = open(f, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	errno = 0;
	CHECK_INT(path_mkdirs(f), -1);
	CHECK_INT(errno, ENOTDIR);
	snprintf(p, sizeof p, "%s/below", f);
	errno = 0;
	CHECK_INT(path_mkdirs(p), -1);
	CHECK_INT(errno, ENOTDIR);
}

static void mkdirs_refuses_a_path_too_long(void)
{
	char *p = malloc(PATH_MAX + 16);
	CHECK(p != NULL);
	if (!p)
		return;
	memset(p, 'x', PATH_MAX + 8);
	p[0] = '/';
	p[PATH_MAX + 8] = '\0';
	errno = 0;
	CHECK_INT(path_mkdirs(p), -1);
	CHECK_INT(errno, ENAMETOOLONG);
	free(p);
}

int main(void)
{
	if (!mkdtemp(root))
		return 1;
	RUN(mkdirs_makes_the_parents);
	RUN(mkdirs_refuses_a_file_in_the_way);
	RUN(mkdirs_refuses_a_path_too_long);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	if (system(cmd) != 0)
		return 1;
	return test_summary();
}

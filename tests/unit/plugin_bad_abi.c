/* A plug-in built for another environment ABI version: hippo must refuse it
 * with a message naming both versions (test_plugin, integration tests). */
#include "hippo/env.h"

static int no_create(const struct hippo_env_args *args, void **env, char *err, size_t errlen)
{
	return -1;
}

static const struct hippo_env_ops tables[] = {{
	.abi_version = HIPPO_ENV_ABI_VERSION + 41,
	.id = "FromTheFuture-v0",
	.summary = "built for a newer hippo",
	.create = no_create,
}};

const struct hippo_env_ops *hippo_env_plugin(uint32_t host_abi_version, size_t *count)
{
	*count = 1;
	return tables;
}

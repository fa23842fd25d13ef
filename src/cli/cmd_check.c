#include "cli/commands.h"
static const struct opt_cmd spec = {.name="check", .args="PROJECT_DIR", .summary="validate", .min_pos=1, .max_pos=1};
static int run(int argc, char **argv){ int n; int rc = opt_parse(&spec, argc, argv, &n); if (rc) return rc==1?0:2; return 0;}
const struct command cmd_check = {&spec, run};

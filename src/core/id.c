/* id: see id.h. */
#include "core/id.h"

static bool alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* True when S is 1..MAX characters, each alphanumeric or in EXTRA. */
static bool plain(const char *s, int max, const char *extra)
{
	if (!s)
		return false;
	int n = 0;
	for (; s[n]; n++) {
		if (n >= max)
			return false;
		bool ok = alnum(s[n]);
		for (const char *e = extra; !ok && *e; e++)
			ok = s[n] == *e;
		if (!ok)
			return false;
	}
	return n > 0;
}

bool id_valid_project(const char *s)
{
	return plain(s, ID_MAX, "-");
}

bool id_valid_user(const char *s)
{
	return plain(s, ID_MAX, "-_");
}

bool id_valid_node(const char *s)
{
	if (!plain(s, ID_NODE_MAX, "-"))
		return false;
	int n = 0;
	for (; s[n]; n++)
		if (s[n] >= 'A' && s[n] <= 'Z')
			return false;
	return s[0] != '-' && s[n - 1] != '-';
}

#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "core/text.h"

int text_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t text_edit_distance(const char *a, const char *b, bool fold_case, size_t max_len)
{
	if (max_len > TEXT_EDIT_MAX)
		max_len = TEXT_EDIT_MAX;
	size_t la = strnlen(a, max_len + 1), lb = strnlen(b, max_len + 1);
	if (la > max_len || lb > max_len)
		return SIZE_MAX;
	size_t row[TEXT_EDIT_MAX + 1];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		int ca = fold_case ? tolower((unsigned char)a[i - 1]) : (unsigned char)a[i - 1];
		for (size_t j = 1; j <= lb; j++) {
			int cb = fold_case ? tolower((unsigned char)b[j - 1]) : (unsigned char)b[j - 1];
			size_t up = row[j];
			size_t best = diag + (ca != cb);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

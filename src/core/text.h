/* text: small string helpers shared by the parsers and the "did you mean"
 * suggestions. */
#ifndef HIPPO_CORE_TEXT_H
#define HIPPO_CORE_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#define TEXT_EDIT_MAX 255 /* longest string text_edit_distance compares */

/* The value of hexadecimal digit C, or -1. */
int text_hexval(int c);

/* Levenshtein distance of A and B, ignoring ASCII case when FOLD_CASE.
 * Strings longer than MAX_LEN (at most TEXT_EDIT_MAX) are "far": SIZE_MAX. The
 * cost is O(len(A) * len(B)), so MAX_LEN bounds the work per call. */
size_t text_edit_distance(const char *a, const char *b, bool fold_case, size_t max_len);

#endif

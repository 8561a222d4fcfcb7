/*
 * What include/qh/compat.h declares for Windows: the POSIX functions that
 * mingw-w64 does not have. Nothing on POSIX systems.
 */
#ifdef _WIN32
#define _CRT_RAND_S /* rand_s, from RtlGenRandom */
#include <stdlib.h>

#include "qh/compat.h"

uint32_t
arc4random_uniform(uint32_t upper)
{
	unsigned int v = 0;
	uint32_t min;

	if (upper < 2)
		return 0;
	/* Rejection of the values that would favour the low results. */
	min = (uint32_t)(-upper % upper);
	do {
		if (rand_s(&v) != 0)
			abort(); /* no randomness: nothing can be trusted */
	} while (v < min);
	return v % upper;
}
#else
/* ISO C wants a translation unit to declare something. */
typedef int qh_compat_unused;
#endif

/*
 * What the compilers and platforms differ in: QH_UNUSED, and the few POSIX
 * names that mingw-w64 lacks, for the code the Windows build shares (libqh
 * and the agent). On POSIX systems the latter add nothing. What Windows does
 * behind each name is said beside it.
 */
#ifndef QH_COMPAT_H
#define QH_COMPAT_H

/*
 * After a parameter that a fixed signature (a libuv, OpenSSL or cmocka
 * callback, an ops table, a platform function) hands over but this
 * implementation does not need: `void **state QH_UNUSED` (tmux's __unused).
 * A parameter no implementation needs is removed instead.
 */
#define QH_UNUSED __attribute__((__unused__))

#ifdef _WIN32
#include <fcntl.h>
#include <io.h>
#include <stdint.h>
#include <time.h>

#include "qh/compat.h"

/* Not inherited by children: the same promise as close-on-exec. */
#define O_CLOEXEC _O_NOINHERIT
/* Opening a file never blocks on Windows: there are no FIFOs to wait for. */
#define O_NONBLOCK 0
/*
 * msvcrt's open follows a symbolic link (a reparse point); the agent's
 * own files live in a directory only the user may write (platform.h).
 */
#define O_NOFOLLOW 0
/* Flushes the file's buffers to the disk (FlushFileBuffers). */
#define fsync(fd) _commit(fd)
/*
 * Windows keeps no mode bits but "read-only"; who may read a file is its
 * directory's ACL, set when the directory is made (platform.h).
 */
#define fchmod(fd, mode) ((void)(fd), (void)(mode), 0)
#define timegm(tm)	 _mkgmtime(tm)
/* Only ever used to clear O_NONBLOCK again, which Windows files never have. */
#define F_SETFL		    4
#define fcntl(fd, cmd, arg) ((void)(fd), (void)(cmd), (void)(arg), 0)

/* A uniformly distributed random number below upper (RtlGenRandom). */
uint32_t arc4random_uniform(uint32_t upper);
#endif

#endif

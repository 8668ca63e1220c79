/* SPDX-License-Identifier: MIT */
/*
 * Registry internals that the unit tests reach: the journal's file-system
 * calls go through this table, so a test can play a disk whose fdatasync
 * fails, a state file that cannot be opened for writing, or watch that a
 * join's record is on disk (synced) before the join is acknowledged.  Like
 * backends/uring_internal.h's salvo__uring_sys.  The table is read at each
 * call; replace it only while no registry is in use.
 */
#ifndef SALVO_REGISTRY_INTERNAL_H
#define SALVO_REGISTRY_INTERNAL_H

#include <sys/types.h>

struct salvo__registry_sys {
	int (*open)(const char *path, int flags, mode_t mode);
	int (*fdatasync)(int fd);
	int (*link)(const char *from, const char *to);
};

extern struct salvo__registry_sys salvo__registry_sys;
extern const struct salvo__registry_sys salvo__registry_sys_default;

#endif

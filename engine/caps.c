// SPDX-License-Identifier: MIT
/* Dropping privileges after set-up (libcap). */
#include <errno.h>
#include <sys/capability.h>

#include <salvo/caps.h>

int salvo_caps_drop_thread(bool keep_setid)
{
	cap_t c = cap_init();	/* the empty set */
	int rc;

	if (!c)
		return -errno;
	if (keep_setid) {
		const cap_value_t keep[] = {CAP_SETUID, CAP_SETGID};

		cap_set_flag(c, CAP_PERMITTED, 2, keep, CAP_SET);
		cap_set_flag(c, CAP_EFFECTIVE, 2, keep, CAP_SET);
	}
	rc = cap_set_proc(c) ? -errno : 0;
	cap_free(c);
	return rc;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * hugedma: the buffer state machine as a table.  A pure function, so that
 * buffer.c only applies its answers under buf->lock and KUnit
 * (module/kunit.c) can check every cell of it.
 *
 *   disabled --enable 1--> enabling --done--> enabled
 *                               \--failed--> disabled
 *   enabled --enable 0--> disabling --done--> disabled
 */
#include <linux/errno.h>

#include "hugedma.h"

/*
 * What @event does to a buffer in @state.  @sized: a size is set; @in_use:
 * something keeps the buffer enabled (an open file, a mapping, an attachment,
 * a kernel user, a dma-buf, the importer).
 *
 * Returns 0 with *next set for a transition, 1 when a request finds the buffer
 * in the state it asks for already (nothing to do), -EBUSY for a request during
 * another transition or to disable a buffer in use, -EINVAL to enable a buffer
 * without a size, or for an end of a transition that is not under way (a bug
 * in the caller).  *next is only written on 0.
 */
int hugedma_state_next(enum hugedma_state state, enum hugedma_event event,
		       bool sized, bool in_use, enum hugedma_state *next)
{
	switch (event) {
	case HUGEDMA_EV_ENABLE:
		if (state == HUGEDMA_ENABLED)
			return 1;
		if (state != HUGEDMA_DISABLED)
			return -EBUSY;
		if (!sized)
			return -EINVAL;
		*next = HUGEDMA_ENABLING;
		return 0;
	case HUGEDMA_EV_DISABLE:
		if (state == HUGEDMA_DISABLED)
			return 1;
		if (state != HUGEDMA_ENABLED || in_use)
			return -EBUSY;
		*next = HUGEDMA_DISABLING;
		return 0;
	case HUGEDMA_EV_DONE:
		if (state == HUGEDMA_ENABLING)
			*next = HUGEDMA_ENABLED;
		else if (state == HUGEDMA_DISABLING)
			*next = HUGEDMA_DISABLED;
		else
			return -EINVAL;
		return 0;
	case HUGEDMA_EV_FAILED:
		/* only taking the pages can fail; giving them back cannot */
		if (state != HUGEDMA_ENABLING)
			return -EINVAL;
		*next = HUGEDMA_DISABLED;
		return 0;
	}
	return -EINVAL;
}

const char *hugedma_state_name(enum hugedma_state state)
{
	switch (state) {
	case HUGEDMA_DISABLED:
		return "disabled";
	case HUGEDMA_ENABLING:
		return "enabling";
	case HUGEDMA_ENABLED:
		return "enabled";
	case HUGEDMA_DISABLING:
		return "disabling";
	}
	return "unknown";
}

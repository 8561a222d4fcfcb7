/* The window (placeholder while the console mode is brought up). */
#include <stdio.h>

#include "qh/cli.h"
#include "qh/log.h"
#include "platform.h"
#include "win32/win.h"

int
plat_window_run(int argc, char **argv)
{
	qh_say("no window yet");
	return QH_EXIT_FAIL;
}

int
win_window_active(void)
{
	return 0;
}

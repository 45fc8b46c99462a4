// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* log.c - stderr logging: "LEVEL message", one line per event. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "log.h"

static enum log_level cur_level = LOG_LVL_INFO;
static const char *const names[] = { "debug", "info", "warn", "error" };

void log_set_level(enum log_level l)
{
	cur_level = l;
}

int log_parse_level(const char *s, enum log_level *out)
{
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(s, names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void log_msg(enum log_level l, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n;

	if (l < cur_level)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0 && line[n < (int)sizeof(line) ? n - 1 : (int)sizeof(line) - 2] == '\n')
		line[n < (int)sizeof(line) ? n - 1 : (int)sizeof(line) - 2] = 0;
	fprintf(stderr, "xlbd %s: %s\n", names[l], line);
}

void log_seterr(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

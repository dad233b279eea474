/* b2b_erp_time.h — ISO 8601 times as ERPs write them, checked and put in one form
 * PostgreSQL reads the same way whatever its TimeZone setting. Plain C, no httpd
 * types: the worker, the /erp/stock endpoint and the unit test use it alike. */
#ifndef B2B_ERP_TIME_H
#define B2B_ERP_TIME_H

#include <stddef.h>

/* Takes "2026-12-03", "2026-12-03T17:04:38", "...38.498Z", "...+02:00", "...+0200"
 * ('T', 't' or a space between date and time; no zone means UTC; up to 6 fractional
 * digits kept) and writes "YYYY-MM-DDTHH:MM:SS[.ffffff](Z|+HH:MM)". 0, or -1 if it is
 * not a real time (30 February, 24:00, a zone beyond 14 hours) or out is shorter
 * than 40 bytes. */
int b2b_erp_iso8601(const char *in, char *out, size_t outlen);

#endif

/* erp_time_test.c — unit tests (TAP) for b2b_erp_iso8601: the ISO 8601 times the
 * ERP sends with stock levels (pulled or pushed), checked and normalised. */
#include "b2b_erp_time.h"

#include <stdio.h>
#include <string.h>

static int ran, failed;

static void is_time(const char *in, const char *want)
{
    char out[64] = "";
    int rc = b2b_erp_iso8601(in, out, sizeof out);
    int good = want ? rc == 0 && strcmp(out, want) == 0 : rc != 0;
    ran++;
    if (!good)
        failed++;
    printf("%sok %d - '%s' -> %s%s%s\n", good ? "" : "not ", ran, in,
           want ? want : "refused", good ? "" : " (got ", good ? "" : (rc ? "refused)" : out));
    if (!good && !rc)
        printf("# got '%s'\n", out);
}

int main(void)
{
    char small[16];
    printf("1..22\n");
    is_time("2026-12-03T17:04:38.498Z", "2026-12-03T17:04:38.498Z");
    is_time("2026-12-03T17:04:38Z", "2026-12-03T17:04:38Z");
    is_time("2026-12-03", "2026-12-03T00:00:00Z");
    is_time("2026-12-03 17:04", "2026-12-03T17:04:00Z");
    is_time("2026-12-03t17:04:38", "2026-12-03T17:04:38Z");
    is_time("2026-12-03T17:04:38+02:00", "2026-12-03T17:04:38+02:00");
    is_time("2026-12-03T17:04:38-0530", "2026-12-03T17:04:38-05:30");
    is_time("2026-12-03T17:04:38+02", "2026-12-03T17:04:38+02:00");
    is_time("2026-12-03T17:04:38,5Z", "2026-12-03T17:04:38.5Z");
    is_time("2026-12-03T17:04:38.123456789Z", "2026-12-03T17:04:38.123456Z");
    is_time("2024-02-29T00:00:00Z", "2024-02-29T00:00:00Z");
    is_time("2000-02-29", "2000-02-29T00:00:00Z");
    is_time("2026-02-29", NULL);
    is_time("1900-02-29", NULL);
    is_time("2026-02-30T00:00:00Z", NULL);
    is_time("2026-13-01", NULL);
    is_time("2026-12-03T24:00:00Z", NULL);
    is_time("2026-12-03T17:04:38+15:00", NULL);
    is_time("yesterday", NULL);
    is_time("2026-12-03T17:04:38Z trailing", NULL);
    is_time("", NULL);
    ran++;
    if (b2b_erp_iso8601("2026-12-03", small, sizeof small) == 0)
        failed++;
    printf("%sok %d - an output buffer under 40 bytes is refused\n",
           b2b_erp_iso8601("2026-12-03", small, sizeof small) ? "" : "not ", ran);
    return failed ? 1 : 0;
}

/* b2b_erp_time.c — ISO 8601 times from the ERP (see b2b_erp_time.h). */
#include "b2b_erp_time.h"

#include <stdio.h>

static int isdigit_c(char c)
{
    return c >= '0' && c <= '9';
}

static int digits(const char **s, int n, int *out)
{
    int v = 0, i;
    for (i = 0; i < n; i++) {
        if (!isdigit_c((*s)[i])) {
            return -1;
        }
        v = v * 10 + ((*s)[i] - '0');
    }
    *s += n;
    *out = v;
    return 0;
}

int b2b_erp_iso8601(const char *in, char *out, size_t outlen)
{
    static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    const char *s = in;
    int y, mo, d, h = 0, mi = 0, sec = 0, zh = 0, zm = 0, leap, nfrac = 0;
    char frac[7] = "", zone[8] = "Z";

    if (!s || digits(&s, 4, &y) || *s++ != '-' || digits(&s, 2, &mo) || *s++ != '-'
        || digits(&s, 2, &d)) {
        return -1;
    }
    if (*s == 'T' || *s == 't' || *s == ' ') {
        s++;
        if (digits(&s, 2, &h) || *s++ != ':' || digits(&s, 2, &mi)) {
            return -1;
        }
        if (*s == ':') {
            s++;
            if (digits(&s, 2, &sec)) {
                return -1;
            }
            if (*s == '.' || *s == ',') {
                s++;
                if (!isdigit_c(*s)) {
                    return -1;
                }
                while (isdigit_c(*s)) {
                    if (nfrac < 6) {
                        frac[nfrac++] = *s;
                    }
                    s++;
                }
                frac[nfrac] = '\0';
            }
        }
    }
    if (*s == 'Z' || *s == 'z') {
        s++;
    }
    else if (*s == '+' || *s == '-') {
        char sign = *s++;
        if (digits(&s, 2, &zh)) {
            return -1;
        }
        if (*s == ':') {
            s++;
        }
        if (isdigit_c(*s) && digits(&s, 2, &zm)) {
            return -1;
        }
        if (zh > 14 || zm > 59) {
            return -1;
        }
        /* both checked to two digits above */
        zone[0] = sign;
        zone[1] = (char)('0' + zh / 10);
        zone[2] = (char)('0' + zh % 10);
        zone[3] = ':';
        zone[4] = (char)('0' + zm / 10);
        zone[5] = (char)('0' + zm % 10);
        zone[6] = '\0';
    }
    if (*s) {
        return -1;
    }
    leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1 || mo < 1 || mo > 12 || d < 1
        || d > mdays[mo - 1] + (mo == 2 && leap) || h > 23 || mi > 59 || sec > 59) {
        return -1;
    }
    if (outlen < 40) {   /* the longest form has 32 characters */
        return -1;
    }
    /* every field was read as exactly its digits, so nothing here can overflow */
    snprintf(out, outlen, "%04u-%02u-%02uT%02u:%02u:%02u%s%s%s", (unsigned)y % 10000u,
             (unsigned)mo % 100u, (unsigned)d % 100u, (unsigned)h % 100u, (unsigned)mi % 100u,
             (unsigned)sec % 100u, nfrac ? "." : "", frac, zone);
    return 0;
}

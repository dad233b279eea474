/* b2b_money.c — exact money for the pricing engine: int64 minor units, decimal text in and
 * out, percentages as basis points, rounding half away from zero, every step overflow-checked.
 * Also the stable names of statuses/kinds/layers and the timestamp parser, so that every other
 * pricing file depends on this one only. No floating point anywhere. */
#include "b2b_pricing.h"

#include <string.h>

typedef __int128 b2b_wide_t;

static const char *const status_names[B2B_STATUS_COUNT] = {
    "ok", "unknown_sku", "unknown_account", "bad_quantity", "no_price", "unknown_currency",
    "no_fx_rate", "overflow", "bad_money", "bad_percent", "bad_time", "bad_value", "bad_rule",
    "duplicate", "bad_tree", "does_not_fit", "bad_snapshot", "out_of_scope", "stale_snapshot",
    "too_many", "no_memory", "bad_argument"
};

const char *b2b_status_name(b2b_status_t status)
{
    if ((unsigned)status >= B2B_STATUS_COUNT)
        return "unknown_status";
    return status_names[status];
}

static const char *const kind_names[B2B_KIND_COUNT] = {
    "list", "tier", "bracket", "contract", "promo", "tax", "fx"
};

const char *b2b_kind_name(b2b_kind_t kind)
{
    return (unsigned)kind < B2B_KIND_COUNT ? kind_names[kind] : "unknown";
}

int b2b_kind_parse(const char *s, size_t len)
{
    for (int k = 0; k < B2B_KIND_COUNT; k++)
        if (strlen(kind_names[k]) == len && memcmp(kind_names[k], s, len) == 0)
            return k;
    return -1;
}

static const char *const layer_names[B2B_LAYER_COUNT] = {
    "list", "tier", "bracket", "contract", "promo", "fx", "tax"
};

const char *b2b_layer_name(b2b_layer_t layer)
{
    return (unsigned)layer < B2B_LAYER_COUNT ? layer_names[layer] : "unknown";
}

static const char *const promo_names[] = {
    "none", "applied", "not_better", "not_applicable", "unknown_code"
};

const char *b2b_promo_status_name(b2b_promo_status_t status)
{
    return (unsigned)status <= B2B_PROMO_UNKNOWN_CODE ? promo_names[status] : "unknown";
}

/* ---- decimals ---- */

b2b_status_t b2b_decimal_parse(const char *s, size_t len, int scale, int64_t *out)
{
    if (!s || scale < 0 || scale > 9 || len == 0)
        return B2B_ERR_BAD_VALUE;
    size_t i = 0;
    int negative = 0;
    if (s[0] == '-') {
        negative = 1;
        i = 1;
    }
    /* Accumulate as a negative number so INT64_MIN's magnitude is reachable. */
    int64_t value = 0;
    size_t int_digits = 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, int_digits++) {
        if (__builtin_mul_overflow(value, 10, &value) ||
            __builtin_sub_overflow(value, (int64_t)(s[i] - '0'), &value))
            return B2B_ERR_OVERFLOW;
    }
    if (int_digits == 0)
        return B2B_ERR_BAD_VALUE;
    int frac_digits = 0;
    if (i < len && s[i] == '.') {
        i++;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            if (++frac_digits > scale)
                return B2B_ERR_BAD_VALUE;
            if (__builtin_mul_overflow(value, 10, &value) ||
                __builtin_sub_overflow(value, (int64_t)(s[i] - '0'), &value))
                return B2B_ERR_OVERFLOW;
        }
        if (frac_digits == 0)
            return B2B_ERR_BAD_VALUE;
    }
    if (i != len)
        return B2B_ERR_BAD_VALUE;
    for (; frac_digits < scale; frac_digits++)
        if (__builtin_mul_overflow(value, 10, &value))
            return B2B_ERR_OVERFLOW;
    if (!negative) {
        if (value == INT64_MIN)
            return B2B_ERR_OVERFLOW;
        value = -value;
    }
    *out = value;
    return B2B_OK;
}

b2b_status_t b2b_money_parse(const char *s, size_t len, int digits, int64_t *out)
{
    if (digits < 0 || digits > B2B_MAX_MINOR_DIGITS)
        return B2B_ERR_BAD_ARGUMENT;
    b2b_status_t st = b2b_decimal_parse(s, len, digits, out);
    return st == B2B_ERR_BAD_VALUE ? B2B_ERR_BAD_MONEY : st;
}

static size_t format_scaled(int64_t v, int digits, char *buf, size_t cap)
{
    char tmp[32];
    size_t n = 0;
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    int produced = 0;
    do {
        tmp[n++] = (char)('0' + (int)(mag % 10));
        mag /= 10;
        produced++;
        if (produced == digits && digits > 0)
            tmp[n++] = '.';
    } while (mag > 0 || produced <= digits);
    if (digits > 0 && tmp[n - 1] == '.')
        tmp[n++] = '0';
    if (v < 0)
        tmp[n++] = '-';
    if (n + 1 > cap)
        return 0;
    for (size_t k = 0; k < n; k++)
        buf[k] = tmp[n - 1 - k];
    buf[n] = '\0';
    return n;
}

size_t b2b_money_format(int64_t minor, int digits, char *buf, size_t cap)
{
    if (digits < 0 || digits > 9 || !buf)
        return 0;
    return format_scaled(minor, digits, buf, cap);
}

b2b_status_t b2b_percent_parse(const char *s, size_t len, int32_t *bp)
{
    int64_t v;
    if (!s || len == 0 || s[0] == '-' || b2b_decimal_parse(s, len, 2, &v) != B2B_OK)
        return B2B_ERR_BAD_PERCENT;
    if (v < 0 || v > 10000)
        return B2B_ERR_BAD_PERCENT;
    *bp = (int32_t)v;
    return B2B_OK;
}

size_t b2b_percent_format(int32_t bp, char *buf, size_t cap)
{
    return b2b_money_format(bp, 2, buf, cap);
}

/* ---- rounding arithmetic ---- */

static b2b_status_t narrow(b2b_wide_t v, int64_t *out)
{
    if (v > (b2b_wide_t)INT64_MAX || v < (b2b_wide_t)INT64_MIN)
        return B2B_ERR_OVERFLOW;
    *out = (int64_t)v;
    return B2B_OK;
}

/* num / den rounded half away from zero; den > 0. Most operands fit 64 bits: divide there
 * (a 128-bit division is a libgcc call several times slower). */
static b2b_wide_t wide_round_div(b2b_wide_t num, b2b_wide_t den)
{
    if (num >= -(b2b_wide_t)(INT64_MAX / 2) && num <= (b2b_wide_t)(INT64_MAX / 2) &&
        den <= (b2b_wide_t)(INT64_MAX / 4)) {
        int64_t n = (int64_t)num, d = (int64_t)den, q = n / d, r = n % d;
        if (r < 0)
            r = -r;
        if (r * 2 >= d)
            q += n < 0 ? -1 : 1;
        return q;
    }
    b2b_wide_t q = num / den, r = num % den;
    if (r < 0)
        r = -r;
    if (r * 2 >= den)
        q += num < 0 ? -1 : 1;
    return q;
}

b2b_status_t b2b_round_div(int64_t numerator, int64_t denominator, int64_t *out)
{
    if (denominator == 0)
        return B2B_ERR_BAD_ARGUMENT;
    b2b_wide_t num = numerator, den = denominator;
    if (den < 0) {
        num = -num;
        den = -den;
    }
    return narrow(wide_round_div(num, den), out);
}

b2b_status_t b2b_money_discount(int64_t amount, int32_t bp, int64_t *out)
{
    if (bp < 0 || bp > 10000)
        return B2B_ERR_BAD_ARGUMENT;
    return narrow(wide_round_div((b2b_wide_t)amount * (10000 - bp), 10000), out);
}

b2b_status_t b2b_money_percent_of(int64_t amount, int32_t bp, int64_t *out)
{
    if (bp < 0 || bp > 10000)
        return B2B_ERR_BAD_ARGUMENT;
    return narrow(wide_round_div((b2b_wide_t)amount * bp, 10000), out);
}

static const int64_t pow10_table[10] = {
    1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000
};

b2b_status_t b2b_money_convert(int64_t amount, int from_digits, int64_t rate_micro,
                               int to_digits, int64_t *out)
{
    if (from_digits < 0 || from_digits > B2B_MAX_MINOR_DIGITS || to_digits < 0 ||
        to_digits > B2B_MAX_MINOR_DIGITS || rate_micro <= 0)
        return B2B_ERR_BAD_ARGUMENT;
    /* amount * rate * 10^to / (1e6 * 10^from): |amount*rate| < 2^126, *1000 may not fit. */
    b2b_wide_t num = (b2b_wide_t)amount * rate_micro, scaled;
    if (__builtin_mul_overflow(num, (b2b_wide_t)pow10_table[to_digits], &scaled))
        return B2B_ERR_OVERFLOW;
    return narrow(wide_round_div(scaled, (b2b_wide_t)1000000 * pow10_table[from_digits]), out);
}

b2b_status_t b2b_money_rescale(int64_t amount, int from_digits, int to_digits, int64_t *out)
{
    if (from_digits < 0 || from_digits > 9 || to_digits < 0 || to_digits > 9)
        return B2B_ERR_BAD_ARGUMENT;
    if (to_digits >= from_digits)
        return narrow((b2b_wide_t)amount * pow10_table[to_digits - from_digits], out);
    return narrow(wide_round_div(amount, pow10_table[from_digits - to_digits]), out);
}

b2b_status_t b2b_money_mul(int64_t amount, int64_t qty, int64_t *out)
{
    return __builtin_mul_overflow(amount, qty, out) ? B2B_ERR_OVERFLOW : B2B_OK;
}

b2b_status_t b2b_money_add(int64_t a, int64_t b, int64_t *out)
{
    return __builtin_add_overflow(a, b, out) ? B2B_ERR_OVERFLOW : B2B_OK;
}

/* ---- time ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int read_digits(const char *s, size_t len, size_t *i, int n, int *out)
{
    int v = 0;
    for (int k = 0; k < n; k++) {
        if (*i >= len || s[*i] < '0' || s[*i] > '9')
            return 0;
        v = v * 10 + (s[(*i)++] - '0');
    }
    *out = v;
    return 1;
}

b2b_status_t b2b_time_parse(const char *s, size_t len, b2b_time_round_t round, int64_t *out)
{
    if (!s || len == 0 || len > 64)
        return B2B_ERR_BAD_TIME;
    /* Plain epoch seconds. */
    size_t k = s[0] == '-' ? 1 : 0;
    while (k < len && s[k] >= '0' && s[k] <= '9')
        k++;
    if (k == len) {
        int64_t v;
        if (b2b_decimal_parse(s, len, 0, &v) != B2B_OK)
            return B2B_ERR_BAD_TIME;
        *out = v;
        return B2B_OK;
    }
    size_t i = 0;
    int year, month, day, hour = 0, minute = 0, second = 0;
    if (!read_digits(s, len, &i, 4, &year) || i >= len || s[i++] != '-' ||
        !read_digits(s, len, &i, 2, &month) || i >= len || s[i++] != '-' ||
        !read_digits(s, len, &i, 2, &day))
        return B2B_ERR_BAD_TIME;
    static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (month < 1 || month > 12 || day < 1 || day > mdays[month - 1])
        return B2B_ERR_BAD_TIME;
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (month == 2 && day == 29 && !leap)
        return B2B_ERR_BAD_TIME;
    int has_fraction = 0;
    int64_t offset = 0;
    if (i < len && (s[i] == 'T' || s[i] == ' ')) {
        i++;
        if (!read_digits(s, len, &i, 2, &hour) || i >= len || s[i++] != ':' ||
            !read_digits(s, len, &i, 2, &minute))
            return B2B_ERR_BAD_TIME;
        if (i < len && s[i] == ':') {
            i++;
            if (!read_digits(s, len, &i, 2, &second))
                return B2B_ERR_BAD_TIME;
            if (i < len && s[i] == '.') {
                i++;
                size_t start = i;
                while (i < len && s[i] >= '0' && s[i] <= '9') {
                    if (s[i] != '0')
                        has_fraction = 1;
                    i++;
                }
                if (i == start || i - start > 9)
                    return B2B_ERR_BAD_TIME;
            }
        }
        if (hour > 23 || minute > 59 || second > 59)
            return B2B_ERR_BAD_TIME;
        if (i < len) {
            if (s[i] == 'Z' || s[i] == 'z') {
                i++;
            } else if (s[i] == '+' || s[i] == '-') {
                int sign = s[i++] == '-' ? -1 : 1, oh, om = 0;
                if (!read_digits(s, len, &i, 2, &oh))
                    return B2B_ERR_BAD_TIME;
                if (i < len && s[i] == ':')
                    i++;
                if (i < len && !read_digits(s, len, &i, 2, &om))
                    return B2B_ERR_BAD_TIME;
                if (oh > 15 || om > 59)
                    return B2B_ERR_BAD_TIME;
                offset = sign * (int64_t)(oh * 3600 + om * 60);
            }
        }
    }
    if (i != len)
        return B2B_ERR_BAD_TIME;
    int64_t t = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second -
                offset;
    if (has_fraction && round == B2B_TIME_CEIL)
        t += 1;
    *out = t;
    return B2B_OK;
}

size_t b2b_time_format(int64_t t, char *buf, size_t cap)
{
    /* civil_from_days (Hinnant). */
    int64_t days = t / 86400, secs = t % 86400;
    if (secs < 0) {
        secs += 86400;
        days -= 1;
    }
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp + (mp < 10 ? 3 : -9);
    y += m <= 2;
    if (y < 0 || y > 9999 || cap < 21)
        return 0;
    int h = (int)(secs / 3600), mi = (int)(secs / 60 % 60), se = (int)(secs % 60);
    const int64_t parts[6] = { y, m, d, h, mi, se };
    const int widths[6] = { 4, 2, 2, 2, 2, 2 };
    const char seps[6] = { '-', '-', 'T', ':', ':', 'Z' };
    size_t n = 0;
    for (int p = 0; p < 6; p++) {
        int64_t v = parts[p];
        for (int w = widths[p] - 1; w >= 0; w--) {
            buf[n + (size_t)w] = (char)('0' + v % 10);
            v /= 10;
        }
        n += (size_t)widths[p];
        buf[n++] = seps[p];
    }
    buf[n] = '\0';
    return n;
}

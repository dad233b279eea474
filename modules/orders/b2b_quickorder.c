/*
 * b2b_quickorder.c: the quick-order parser (see b2b_quickorder.h). Pure C,
 * linked into mod_b2bportal and into its unit test; never allocates.
 */
#include "b2b_quickorder.h"

#include <string.h>

#define FIELD_CAP   (B2B_QO_SKU_MAX + 2)   /* enough to tell "too long" */
#define MAX_FIELDS  3                      /* a third non-empty one is an error */

typedef struct {
    char text[FIELD_CAP];
    size_t len;          /* may exceed FIELD_CAP - 1: then text is cut */
} field_t;

static const char *const reasons[] = {
    "ok", "bad_format", "unknown_sku", "bad_quantity"
};

static const char *const messages[] = {
    "Added.",
    "Expected a SKU and an optional quantity, e.g. SKU-00042,3.",
    "No product with this SKU.",
    "The quantity must be a whole number from 1 to 1000000."
};

const char *b2b_qo_row_reason(b2b_qo_row_status_t status)
{
    return (unsigned)status < sizeof(reasons) / sizeof(reasons[0])
           ? reasons[status] : "bad_format";
}

const char *b2b_qo_row_message(b2b_qo_row_status_t status)
{
    return (unsigned)status < sizeof(messages) / sizeof(messages[0])
           ? messages[status] : messages[B2B_QO_ROW_BAD_FORMAT];
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

int b2b_qo_sku_valid(const char *s)
{
    size_t n = 0;
    if (!s || !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= '0' && s[0] <= '9'))) {
        return 0;
    }
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '.' || c == '_' || c == '-')) {
            return 0;
        }
    }
    return n >= 1 && n <= B2B_QO_SKU_MAX;
}

int b2b_qo_parse_qty(const char *s, size_t len, long max, long *out)
{
    size_t i = 0, end = len;
    long v = 0;
    while (i < end && is_blank(s[i])) i++;
    while (end > i && is_blank(s[end - 1])) end--;
    if (i == end) {
        return 0;
    }
    for (; i < end; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
        v = v * 10 + (s[i] - '0');
        if (v > max) {
            return 0;   /* also stops any overflow */
        }
    }
    if (v < 1) {
        return 0;
    }
    *out = v;
    return 1;
}

int b2b_qo_utf8_valid(const char *buf, size_t len)
{
    const unsigned char *p = (const unsigned char *)buf;
    size_t i = 0;
    while (i < len) {
        unsigned char c = p[i];
        size_t need, k;
        unsigned long cp;
        if (c == 0) {
            return 0;
        }
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) { need = 1; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { need = 2; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { need = 3; cp = c & 0x07; }
        else return 0;
        if (len - i <= need) {
            return 0;
        }
        for (k = 1; k <= need; k++) {
            if ((p[i + k] & 0xC0) != 0x80) {
                return 0;
            }
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        /* overlong forms, surrogates and values past U+10FFFF */
        if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000)
            || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
            return 0;
        }
        i += need + 1;
    }
    return 1;
}

static void field_put(field_t *f, char c)
{
    if (f->len < FIELD_CAP - 1) {
        f->text[f->len] = c;
    }
    f->len++;
}

static void field_end(field_t *f)
{
    size_t n = f->len < FIELD_CAP - 1 ? f->len : FIELD_CAP - 1;
    /* trailing blanks of an unquoted field are not part of it */
    while (n > 0 && f->len < FIELD_CAP && is_blank(f->text[n - 1])) {
        n--;
        f->len--;
    }
    f->text[n] = '\0';
}

/* Splits one line into fields. Returns the number of fields (trailing empty
 * ones dropped), or -1 for broken quoting. Only MAX_FIELDS are stored; the
 * count goes on. */
static int split_fields(const char *line, size_t len, field_t *fields)
{
    char delim = 0;
    int nf = 0, last_nonempty = 0;
    size_t i;
    int inq = 0;

    /* the first comma, semicolon or tab outside quotes decides the delimiter */
    for (i = 0; i < len; i++) {
        if (line[i] == '"') {
            inq = !inq;
        }
        else if (!inq && (line[i] == ',' || line[i] == ';' || line[i] == '\t')) {
            delim = line[i];
            break;
        }
    }

    i = 0;
    for (;;) {
        field_t scratch, *f = nf < MAX_FIELDS ? &fields[nf] : &scratch;
        int quoted = 0;
        memset(f, 0, sizeof(*f));
        /* leading blanks (a blank is the delimiter only in pasted lists) */
        while (i < len && is_blank(line[i]) && line[i] != delim) i++;
        if (!delim && i >= len) {
            break;
        }
        if (i < len && line[i] == '"') {
            quoted = 1;
            i++;
            for (;;) {
                if (i >= len) {
                    return -1;          /* no closing quote */
                }
                if (line[i] == '"') {
                    if (i + 1 < len && line[i + 1] == '"') {
                        field_put(f, '"');
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                field_put(f, line[i++]);
            }
            /* only blanks (then the delimiter) may follow a closing quote */
            if (delim) {
                while (i < len && is_blank(line[i]) && line[i] != delim) i++;
                if (i < len && line[i] != delim) {
                    return -1;
                }
            }
            else if (i < len && !is_blank(line[i])) {
                return -1;
            }
            f->text[f->len < FIELD_CAP - 1 ? f->len : FIELD_CAP - 1] = '\0';
        }
        else {
            while (i < len && (delim ? line[i] != delim : !is_blank(line[i]))) {
                if (line[i] == '"') {
                    return -1;          /* a quote inside an unquoted field */
                }
                field_put(f, line[i++]);
            }
            field_end(f);
        }
        nf++;
        if (f->len > 0 || quoted) {
            last_nonempty = nf;
        }
        if (i >= len) {
            break;
        }
        i++;                            /* the delimiter */
        if (delim && i >= len) {
            nf++;                       /* "a,b," ends with an empty field */
            break;
        }
    }
    return last_nonempty;
}

static void echo_input(b2b_qo_row_t *row, const char *line, size_t len)
{
    size_t i, n = len < B2B_QO_INPUT_MAX ? len : B2B_QO_INPUT_MAX;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)line[i];
        row->input[i] = (c >= 0x20 && c < 0x7f) ? (char)c : (c == '\t' ? ' ' : '?');
    }
    if (len > n) {
        memcpy(row->input + n, "...", 3);
        n += 3;
    }
    row->input[n] = '\0';
}

static int ascii_ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a, y = *b;
        if (x >= 'A' && x <= 'Z') x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = (char)(y - 'A' + 'a');
        if (x != y) {
            return 0;
        }
    }
    return *a == *b;
}

static void parse_row(b2b_qo_row_t *row, field_t *fields, int nf)
{
    size_t k;
    row->status = B2B_QO_ROW_OK;
    row->qty = 0;
    row->sku[0] = '\0';
    if (nf < 0 || nf > 2 || fields[0].len == 0) {
        row->status = B2B_QO_ROW_BAD_FORMAT;
        return;
    }
    if (fields[0].len > B2B_QO_SKU_MAX) {
        row->status = B2B_QO_ROW_BAD_SKU;
        return;
    }
    for (k = 0; k < fields[0].len; k++) {
        char c = fields[0].text[k];
        row->sku[k] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
    }
    row->sku[k] = '\0';
    if (!b2b_qo_sku_valid(row->sku)) {
        row->status = B2B_QO_ROW_BAD_SKU;
        return;
    }
    if (nf == 2) {
        if (fields[1].len >= FIELD_CAP - 1
            || !b2b_qo_parse_qty(fields[1].text, fields[1].len, B2B_QO_QTY_MAX,
                                 &row->qty)) {
            row->qty = 0;
            row->status = B2B_QO_ROW_BAD_QUANTITY;
        }
    }
    else {
        row->qty = 1;
    }
}

b2b_qo_status_t b2b_quickorder_parse(const char *buf, size_t len,
                                     b2b_qo_row_t *rows, size_t max_rows,
                                     size_t *nrows)
{
    size_t pos = 0, count = 0;
    unsigned lineno = 0;
    int header_possible = 1;

    *nrows = 0;
    if (!buf || !b2b_qo_utf8_valid(buf, len)) {
        return B2B_QO_NOT_TEXT;
    }
    if (len >= 3 && (unsigned char)buf[0] == 0xEF && (unsigned char)buf[1] == 0xBB
        && (unsigned char)buf[2] == 0xBF) {
        pos = 3;    /* a byte order mark from a spreadsheet export */
    }
    while (pos < len) {
        size_t start = pos, end, s, e;
        field_t fields[MAX_FIELDS];
        int nf;

        while (pos < len && buf[pos] != '\n' && buf[pos] != '\r') pos++;
        end = pos;
        if (pos < len && buf[pos] == '\r' && pos + 1 < len && buf[pos + 1] == '\n') {
            pos += 2;
        }
        else if (pos < len) {
            pos++;
        }
        lineno++;

        s = start;
        e = end;
        while (s < e && is_blank(buf[s])) s++;
        while (e > s && is_blank(buf[e - 1])) e--;
        if (s == e || buf[s] == '#') {
            continue;
        }
        nf = split_fields(buf + s, e - s, fields);
        if (nf == 0) {
            continue;                   /* ",,," from a spreadsheet */
        }
        if (header_possible) {
            header_possible = 0;
            if (nf > 0 && ascii_ieq(fields[0].text, "sku")) {
                continue;
            }
        }
        if (count < max_rows) {
            b2b_qo_row_t *row = &rows[count];
            memset(row, 0, sizeof(*row));
            row->line = lineno;
            echo_input(row, buf + s, e - s);
            parse_row(row, fields, nf);
        }
        count++;
    }
    *nrows = count;
    if (count > max_rows) {
        return B2B_QO_TOO_MANY_ROWS;
    }
    return count ? B2B_QO_OK : B2B_QO_EMPTY;
}

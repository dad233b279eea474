/*
 * b2b_quickorder.h: the quick-order parser (POST /cart/import). Plain C, no
 * httpd or APR: it turns a CSV or a pasted SKU list into rows of (sku, qty),
 * each with a verdict, so the Apache side only has to look SKUs up.
 *
 * Accepted input, one row per line (LF, CRLF or CR):
 *   SKU-00042,3        comma, semicolon or tab separated (spreadsheet exports)
 *   "SKU-00042";"3"    CSV quoting, "" inside quotes is a quote
 *   SKU-00042 3        a pasted list: blanks between sku and qty
 *   SKU-00042          no quantity: 1
 * Blank lines and lines starting with '#' are skipped; a first row whose
 * first field is "sku" (any case) is a header and skipped. SKUs are
 * upper-cased. Empty trailing fields ("SKU-1,2,,") are ignored.
 */
#ifndef B2B_QUICKORDER_H
#define B2B_QUICKORDER_H

#include <stddef.h>

#define B2B_QO_SKU_MAX    64       /* products.sku: ^[A-Z0-9][A-Z0-9._-]{0,63}$ */
#define B2B_QO_INPUT_MAX  80       /* bytes of the raw row echoed back */
#define B2B_QO_QTY_MAX    1000000  /* cart_lines.qty upper bound */

typedef enum {
    B2B_QO_ROW_OK = 0,
    B2B_QO_ROW_BAD_FORMAT,     /* not "sku[,qty]": extra fields, broken quoting */
    B2B_QO_ROW_BAD_SKU,        /* cannot be a SKU (answered as unknown_sku) */
    B2B_QO_ROW_BAD_QUANTITY    /* not a whole number from 1 to B2B_QO_QTY_MAX */
} b2b_qo_row_status_t;

typedef enum {
    B2B_QO_OK = 0,
    B2B_QO_NOT_TEXT,           /* NUL bytes or invalid UTF-8 */
    B2B_QO_TOO_MANY_ROWS,      /* more data rows than max_rows */
    B2B_QO_EMPTY               /* no data row at all */
} b2b_qo_status_t;

typedef struct {
    unsigned line;                       /* 1-based line of the input */
    b2b_qo_row_status_t status;
    char sku[B2B_QO_SKU_MAX + 1];        /* upper-cased; "" when unreadable */
    long qty;                            /* 0 unless status is OK */
    char input[B2B_QO_INPUT_MAX + 4];    /* the row as sent, printable ASCII,
                                            "..." when cut */
} b2b_qo_row_t;

/* Parses buf[0..len). rows has room for max_rows entries; *nrows is set to
 * the data rows found (all of them, even past max_rows, so the caller can
 * say how many there were; only the first max_rows are stored). */
b2b_qo_status_t b2b_quickorder_parse(const char *buf, size_t len,
                                     b2b_qo_row_t *rows, size_t max_rows,
                                     size_t *nrows);

/* Stable snake_case reasons for the API: "bad_format", "unknown_sku", ... */
const char *b2b_qo_row_reason(b2b_qo_row_status_t status);
/* A sentence for a row verdict, for the "message" field. */
const char *b2b_qo_row_message(b2b_qo_row_status_t status);

/* 1 if s is a well-formed SKU (^[A-Z0-9][A-Z0-9._-]{0,63}$). */
int b2b_qo_sku_valid(const char *s);

/* Whole number in 1..max written with digits only (surrounding blanks
 * allowed); returns 1 and sets *out, else 0. */
int b2b_qo_parse_qty(const char *s, size_t len, long max, long *out);

/* 1 if buf[0..len) is UTF-8 without NUL bytes. */
int b2b_qo_utf8_valid(const char *buf, size_t len);

#endif

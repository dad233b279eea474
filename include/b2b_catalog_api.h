/*
 * b2b_catalog_api.h: what the catalog offers other modules (quote, cart,
 * orders): whether an account may see a product. A product the caller may
 * not see must be a 404 everywhere, exactly as in the catalog; ask here
 * rather than re-implementing the access rules.
 *
 *   APR_OPTIONAL_FN_TYPE(b2b_catalog_visible) *visible =
 *       APR_RETRIEVE_OPTIONAL_FN(b2b_catalog_visible);
 *
 * The same answer in SQL: b2b_catalog_visible(account_id, product_id).
 */
#ifndef B2B_CATALOG_API_H
#define B2B_CATALOG_API_H

#include "apr_optional.h"
#include "httpd.h"

/* 1: visible; 0: unknown SKU, inactive or hidden from this account;
 * -1: the database did not answer (answer 503). Uses the catalog's caches:
 * cheap enough to call for every line of a cart. */
APR_DECLARE_OPTIONAL_FN(int, b2b_catalog_visible,
                        (request_rec *r, apr_int64_t account_id, const char *sku));

#endif

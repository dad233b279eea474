/*
 * b2b_pricing_api.h: how the storefront modules (catalog, cart, orders) ask
 * mod_b2b_pricing for a price. They never link it: they retrieve the
 * optional functions, so pricing can be changed and reloaded on its own.
 *
 *   APR_OPTIONAL_FN_TYPE(b2b_pricing_quote) *quote =
 *       APR_RETRIEVE_OPTIONAL_FN(b2b_pricing_quote);
 */
#ifndef B2B_PRICING_API_H
#define B2B_PRICING_API_H

#include "apr_optional.h"
#include "b2b_pricing.h"

/* Prices one line from the shared snapshot, without touching the database.
 * Returns B2B_OK, an engine status, or B2B_ERR_BAD_SNAPSHOT when no snapshot
 * is in service yet (answer 503). *generation is the snapshot's generation. */
APR_DECLARE_OPTIONAL_FN(b2b_status_t, b2b_pricing_quote,
                        (const b2b_query_t *query, b2b_quote_t *out,
                         apr_uint64_t *generation));

/* The generation in service (0: none yet). */
APR_DECLARE_OPTIONAL_FN(apr_uint64_t, b2b_pricing_generation, (void));

#endif

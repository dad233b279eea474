/* sim_ceiling.c: the ERP simulator's own ceiling, without the portal: T threads,
 * each with its own adapter instance (one kept-alive connection), submit N orders
 * in total with fresh keys through the same C adapter the worker uses, and the rate
 * is printed. The drain benchmark (bench/erp/run.sh) compares the portal against it.
 *   sim_ceiling URL THREADS ORDERS KEY_PREFIX */
#include "b2b_erp.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *url, *prefix;
static long total;
static atomic_long next_id, failures;

static void *run(void *arg)
{
    b2b_erp_config_t cfg = { .url = url };
    b2b_erp_instance_t *erp;
    char err[256], id[32], key[96];
    b2b_erp_line_t line = { "SKU-00042", 1, 1725, 1725, 0, 1725 };
    b2b_erp_order_t o = { 0 };
    b2b_erp_result_t r;
    long n;
    (void)arg;
    if (b2b_erp_instance_create(b2b_erp_adapter_find("http"), &cfg, &erp, err, sizeof err)) {
        fprintf(stderr, "sim_ceiling: %s\n", err);
        exit(1);
    }
    o.account = "ACME-NA"; o.po_number = "PO-BENCH"; o.currency = "USD"; o.minor_digits = 2;
    o.lines = &line; o.line_count = 1; o.net_minor = 1725; o.gross_minor = 1725;
    while ((n = atomic_fetch_add(&next_id, 1)) < total) {
        snprintf(id, sizeof id, "%ld", n + 1);
        snprintf(key, sizeof key, "%s%ld", prefix, n + 1);
        o.order_id = id;
        o.idempotency_key = key;
        b2b_erp_submit_order(erp, &o, &r);
        if (r.outcome != B2B_ERP_OK)
            atomic_fetch_add(&failures, 1);
    }
    b2b_erp_instance_destroy(erp);
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t th[64];
    int i, threads;
    struct timespec t0, t1;
    double secs;
    if (argc != 5 || (threads = atoi(argv[2])) < 1 || threads > 64) {
        fprintf(stderr, "usage: sim_ceiling URL THREADS ORDERS KEY_PREFIX\n");
        return 2;
    }
    url = argv[1];
    total = atol(argv[3]);
    prefix = argv[4];
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (i = 0; i < threads; i++)
        pthread_create(&th[i], NULL, run, NULL);
    for (i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("RESULT threads=%d orders=%ld failures=%ld seconds=%.2f rate=%.0f\n", threads, total,
           (long)atomic_load(&failures), secs, (double)total / secs);
    return atomic_load(&failures) ? 1 : 0;
}

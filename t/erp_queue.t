# The ERP queue as an operator and the ERP see it: orders delivered with
# status and history, the admin queue, a permanent refusal to the dead
# letter and back with a retry, a flaky ERP, status reports from the ERP,
# leases of a dead node taken over, and the idempotency key across reloads.
# Orders are made in SQL the way checkout leaves them, and delivered by a
# node of the test's own (t/lib/B2BErpTest.pm).
use strict;
use warnings;
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use B2BTest;
use B2BErpTest;
use Time::HiRes qw(time sleep);

plan tests => 62;

my $prefix = 'b2b-' . install_id() . '-';
sim_mode(mode => 'ok');

sub history { [ map { $_->[0] } sql_rows("SELECT status FROM order_history WHERE order_id = $_[0] ORDER BY at, id") ] }
sub outbox_id { sql("SELECT id FROM outbox WHERE order_id = $_[0]") }
sub order_status { sql("SELECT status FROM orders WHERE id = $_[0]") }
sub release { sql("UPDATE outbox SET next_attempt_at = now() WHERE order_id IN (" . join(',', @_) . ")") }

# ---- a node that drains; this suite's server only serves ----
my $st = api(GET => '/admin/status', user => 'portal-admin')->{json}{erp} // {};
ok($st->{queue} && !$st->{draining}, 'GET /admin/status has an erp section; B2BErpDrain Off here');
my $node = drain_node(1);
ok($node->start, 'a draining node starts on the same database');
$st = $node->status->{erp} // {};
is($st->{adapter}, 'http', '... with the http adapter chosen by B2BErpAdapter');

# ---- delivered, with status and history ----
my @ids = make_orders(3, sku => 'SKU-01951');
my $states = wait_drained(20, @ids);
is($states->{done}, 3, 'three queued orders are delivered');
my ($bad, $deliveries) = check_effect_once(@ids);
is_deeply($bad, [], 'each is at the ERP once, under its own id, with the erp_ref the portal keeps');
is($deliveries, 3, 'one delivery each');
is_deeply(history($ids[0]), [qw(queued submitted confirmed)],
          'history: queued, submitted, then what the ERP reported');
like(sql("SELECT erp_key FROM outbox WHERE order_id = $ids[0]"), qr/^b2b-[0-9a-f]{12}-$ids[0]$/,
     'the idempotency key is b2b-<install id>-<order id>');

my $r = api(GET => "/admin/queue?order=$ids[0]", user => 'portal-admin');
is($r->code, 200, 'GET /admin/queue?order=');
my $e = $r->{json}{items}[0] // {};
is_deeply([ @$e{qw(order_id state attempts order_status)}, $r->{json}{total} ],
          [ $ids[0], 'done', 1, 'confirmed', 1 ], '... the entry: done after one attempt');
like($e->{erp_ref} // '', qr/^ERP-\d+$/, '... with the erp_ref');
ok(defined $r->{json}{counts}{dead}, '... and counts by state');
$r = api(GET => "/admin/queue/$e->{id}", user => 'portal-admin');
is_deeply([ map { $_->{outcome} } @{ $r->{json}{attempt_log} || [] } ], ['delivered'],
          'GET /admin/queue/{id}: its attempt log');
is(api(GET => '/admin/queue', user => 'na-buyer')->code, 403, 'buyers may not see the queue');
is(api(GET => '/admin/queue', user => 'erp')->code, 403, 'nor may the ERP');
is(api(GET => '/admin/queue?state=lost', user => 'portal-admin')->code, 422, 'an unknown state: 422');
is(api(GET => '/admin/queue/abc', user => 'portal-admin')->code, 404, 'a bad id: 404');

# ---- permanent refusal: dead letter, then the admin retries ----
my ($dead) = make_orders(1, sku => 'SKU-01951', hold => 3600);
my $dkey = key_of($dead);
sim_mode(mode => 'reject', key_prefix => $dkey);
release($dead);
$states = wait_drained(20, $dead);
is($states->{dead}, 1, 'a 422 from the ERP sends the order to the dead letter at once');
is(order_status($dead), 'failed', 'the order is failed');
my $ob = outbox_id($dead);
$r = api(GET => "/admin/queue?state=dead&order=$dead", user => 'portal-admin');
$e = $r->{json}{items}[0] // {};
like($e->{last_error} // '', qr/422/, "the entry keeps the last error ($e->{last_error})");
is($e->{attempts}, 1, 'after one attempt');
is(history($dead)->[-1], 'failed', 'history ends with failed');
is(sql("SELECT note FROM order_history WHERE order_id = $dead AND status = 'failed'") =~ /422/ ? 1 : 0, 1,
   '... noting why');

is(api(POST => "/admin/queue/$ob/retry", user => 'na-buyer')->code, 403, 'buyers may not retry');
is(api(POST => '/admin/queue/99999999/retry', user => 'portal-admin')->code, 404, 'retry of no entry: 404');
$r = api(POST => '/admin/queue/' . outbox_id($ids[0]) . '/retry', user => 'portal-admin');
is($r->code, 409, 'retry of a delivered entry: 409');
is($r->{json}{error}{code}, 'not_dead', '... not_dead');
sim_mode(mode => 'ok');
$r = api(POST => "/admin/queue/$ob/retry", user => 'portal-admin');
is($r->code, 200, 'POST /admin/queue/{id}/retry');
$states = wait_drained(20, $dead);
is($states->{done}, 1, 'the retried order is delivered');
is_deeply(history($dead), [qw(queued failed queued submitted confirmed)],
          'history: queued, failed, queued (retried), submitted, confirmed');
my ($problems) = attempt_problems($dead);
is_deeply($problems, [], 'the ERP accepted it once: the refusal left nothing there');
cmp_ok(sql("SELECT count(*) FROM erp_attempts WHERE order_id = $dead"), '>=', 2,
       'the refused attempt and the delivery are both in the log');

# ---- flaky ERP: 30% of requests fail, before or after the ERP took the order ----
@ids = make_orders(100, sku => 'SKU-01952', hold => 3600);
sim_mode(mode => 'flaky', fail_ratio => 0.3, fail_when => 'either', key_prefix => $prefix);
release(@ids);
$states = wait_drained(90, @ids);
sim_mode(mode => 'ok');
is($states->{done}, 100, 'flaky ERP: all 100 delivered');
($bad, $deliveries) = check_effect_once(@ids);
is_deeply($bad, [], '... each once in effect at the ERP');
my $list = join ',', @ids;
my ($attempts, $logged, $failed, $dups) = @{ (sql_rows("SELECT (SELECT sum(attempts) FROM outbox WHERE order_id IN ($list)), "
    . "count(*), count(*) FILTER (WHERE outcome = 'retryable'), count(*) FILTER (WHERE outcome = 'duplicate') "
    . "FROM erp_attempts WHERE order_id IN ($list)"))[0] };
cmp_ok($attempts, '>', 100, "attempts are recorded ($attempts for 100 orders)");
is($logged, $attempts, '... one attempt log row per attempt');
cmp_ok($failed, '>', 0, "... $failed failed attempt(s) among them");
diag("flaky 30%: $attempts attempts, $failed failed, $dups answered 'already have it', "
     . "$deliveries deliveries reached the ERP for 100 orders");

# ---- the ERP reports statuses ----
my $o = $ids[0];
$r = api(POST => "/erp/orders/$o/status", user => 'erp', body => { status => 'shipped' });
is($r->code, 200, 'POST /erp/orders/{id}/status shipped');
is_deeply([ @{ $r->{json} // {} }{qw(status previous_status)} ], [ 'shipped', 'confirmed' ], '... confirmed -> shipped');
is(order_status($o), 'shipped', '... the order is shipped');
$r = api(POST => "/erp/orders/$o/status", user => 'erp', body => { status => 'shipped' });
ok($r->code == 200 && !$r->{json}{changed}, 'the same report again: 200, nothing changed');
$r = api(POST => "/erp/orders/$o/status", user => 'erp', body => { status => 'confirmed' });
is($r->code, 409, 'shipped -> confirmed: 409');
is($r->{json}{error}{code}, 'illegal_transition', '... illegal_transition');
$r = api(POST => "/erp/orders/$o/status", user => 'erp',
         body => { status => 'invoiced', erp_ref => 'ERP-999999' });
is($r->{json}{error}{code}, 'erp_ref_mismatch', 'a report naming another erp_ref: 409 erp_ref_mismatch');
is(api(POST => "/erp/orders/$o/status", user => 'erp', body => { status => 'lost' })->code, 422,
   'an unknown status: 422');
is(api(POST => "/erp/orders/$o/status", user => 'erp', body => [])->code, 422, 'not an object: 422');
is(api(POST => "/erp/orders/$o/status", user => 'na-buyer', body => { status => 'invoiced' })->code, 403,
   'only the integration user reports');
is(api(POST => '/erp/orders/99999999/status', user => 'erp', body => { status => 'invoiced' })->code, 404,
   'an unknown order: 404');
is(api(POST => "/erp/orders/$o/status", user => 'erp', body => { status => 'invoiced' })->code, 200,
   'shipped -> invoiced');
is_deeply(history($o), [qw(queued submitted confirmed shipped invoiced)], 'history follows each step');

# The simulator pushes a status the way the ERP would.
$r = sim(POST => '/_sim/advance', { order_id => "$ids[1]", status => 'backordered' });
ok($r->{pushed}, 'the simulator pushes backordered through the portal');
is(order_status($ids[1]), 'backordered', '... and the order is backordered');

# A report that overtakes the worker: the ERP has the order, the portal had
# not recorded the delivery yet.
my ($early) = make_orders(1, sku => 'SKU-01951', hold => 3600);
$r = api(POST => "/erp/orders/$early/status", user => 'erp', body => { status => 'confirmed', erp_ref => 'ERP-EARLY' });
is($r->code, 200, 'a report for a queued order is taken: the ERP has it');
is_deeply(history($early), [qw(queued submitted confirmed)], '... submitted and confirmed in history');
is(sql("SELECT state FROM outbox WHERE order_id = $early"), 'done', '... and its queue entry is done');
sql("UPDATE orders SET status = 'pending_approval' WHERE id = $early");
is(api(POST => "/erp/orders/$early/status", user => 'erp', body => { status => 'shipped' })->code, 409,
   'an order awaiting approval cannot be shipped: 409');
sql("UPDATE orders SET status = 'confirmed' WHERE id = $early");

# ---- a dead node's leases ----
my ($gone, $held) = make_orders(2, sku => 'SKU-01951', hold => 3600);
sql("UPDATE outbox SET state = 'in_flight', lease_until = now() - interval '1 second', "
    . "leased_by = 'ghost-node:1/1/0', attempts = 1, next_attempt_at = now() WHERE order_id = $gone");
sql("UPDATE outbox SET state = 'in_flight', lease_until = now() + interval '4 seconds', "
    . "leased_by = 'ghost-node:1/1/1', attempts = 1, next_attempt_at = now() WHERE order_id = $held");
$states = wait_drained(10, $gone);
is($states->{done}, 1, 'an order whose lease ran out on a dead node is taken over and delivered');
is(sql("SELECT state FROM outbox WHERE order_id = $held"), 'in_flight', 'a lease still running is left alone');
$states = wait_drained(15, $held);
is($states->{done}, 1, '... until it runs out');
is(sql("SELECT attempts FROM outbox WHERE order_id = $held"), 2, 'the lost attempt counts');

# ---- a reload (orders truncated, ids start again) gets a new install id ----
my $before = install_id();
my ($after) = map { $_->[0] } grep { @$_ && length $_->[0] } sql_rows(
    "BEGIN; SET LOCAL client_min_messages = warning; TRUNCATE orders RESTART IDENTITY CASCADE; SELECT install_id FROM erp_install; ROLLBACK;");
ok($after && $after ne $before, "emptying orders gives new keys ($before -> $after), so order 1 of "
   . 'new data is not taken for the old one');
is(install_id(), $before, '(rolled back)');

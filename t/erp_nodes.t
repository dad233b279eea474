# Two httpd instances (nodes) on one database drain one queue: each order is
# claimed by one node only (FOR UPDATE SKIP LOCKED and a lease), so none is
# submitted by both; the simulator counts one delivery per key.
use strict;
use warnings;
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use B2BTest;
use B2BErpTest;

plan tests => 10;

sim_mode(mode => 'ok');
my @nodes = (drain_node(1), drain_node(2));
ok($nodes[0]->start, 'node 1 starts on the suite database');
ok($nodes[1]->start, 'node 2 starts on the same database');

sim_set_stock([ 'SKU-01953', 1_000_000 ]);
my $level0 = sim_level('SKU-01953');
my @ids = make_orders(1000, sku => 'SKU-01953', hold => 3600);
sql("UPDATE outbox SET next_attempt_at = now() WHERE order_id IN (" . join(',', @ids) . ")");
my $st = wait_drained(120, @ids);
is($st->{done}, 1000, 'two nodes deliver all 1000 orders');
my ($bad, $deliveries) = check_effect_once(@ids);
is_deeply($bad, [], 'each at the ERP once, with the erp_ref the portal recorded');
is(sim_level('SKU-01953'), $level0 - 1000, "the ERP's stock went down by exactly 1000");
my ($problems, $retried) = attempt_problems(@ids);
is_deeply($problems, [], 'no order was sent by both nodes (no two attempts at once), none accepted twice')
    or diag(join "\n", @$problems[0 .. ($#$problems < 9 ? $#$problems : 9)]);
my $list = join ',', @ids;
is(sql("SELECT count(*) FROM erp_attempts WHERE order_id IN ($list) AND outcome IN ('delivered', 'duplicate')"),
   1000, 'one accepted attempt per order');
diag("$deliveries deliveries reached the ERP for 1000 orders; $retried order(s) needed a second attempt");
my %by = map { $_->[0] => $_->[1] } sql_rows(
    "SELECT split_part(delivered_by, ':', 2), count(*) FROM outbox WHERE order_id IN ($list) GROUP BY 1");
diag('delivered by port: ' . join(', ', map { "$_: $by{$_}" } sort keys %by));
is_deeply([ sort keys %by ], [ sort map { $_->port } @nodes ], 'both nodes took part');
ok($nodes[0]->stop, 'node 1 stops');
ok($nodes[1]->stop, 'node 2 stops');

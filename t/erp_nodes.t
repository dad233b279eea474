# Two httpd instances (nodes) on one database drain one queue: each order is
# claimed by one node only (FOR UPDATE SKIP LOCKED and a lease), so none is
# submitted by both; the simulator counts one delivery per key.
use strict;
use warnings;
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use B2BTest;
use B2BErpTest;
use LWP::UserAgent;
use JSON::PP;
use File::Path qw(make_path);

my $root = $ENV{B2B_ROOT};
my $port2 = $ENV{B2B_NODE2_PORT} || 8531;
my $var2 = "$ENV{B2B_VAR}/../erpnode2";
make_path($var2);
# The same ERP settings as this suite's server (t/conf/extra.conf.in).
my $extra = "$var2.conf";
open my $fh, '>', $extra or die "$extra: $!";
print $fh "B2BErpThreads 8\nB2BErpRetryBase 50\nB2BErpRetryCap 1000\nB2BErpTimeout 3000\nB2BErpLease 8\n";
close $fh;
my %node2_env = (B2B_INSTANCE => 'erpnode2', B2B_HTTP_PORT => $port2, B2B_VAR => $var2,
                 B2B_EXTRA_CONF => $extra,
                 map { $_ => $ENV{$_} } qw(B2B_PG_PORT B2B_REDIS_PORT B2B_ERP_PORT B2B_ROOT));
sub node2 {
    my $cmd = shift;
    local @ENV{keys %node2_env} = values %node2_env;
    delete local $ENV{B2B_DBD_PARAMS};
    return system('bash', "$root/scripts/httpd.sh", $cmd, 'erpnode2') == 0;
}
my $ua = LWP::UserAgent->new(timeout => 5);
sub status2 {
    my $res = $ua->get("http://127.0.0.1:$port2/api/v1/admin/status",
                       Authorization => 'Basic cG9ydGFsLWFkbWluOmRlbW8=');
    return $res->code == 200 ? decode_json($res->decoded_content) : {};
}

plan tests => 9;

sim_mode(mode => 'ok');
ok(node2('start'), 'a second node starts on the same database');
END { node2('stop') }
ok(wait_until(20, sub { my $s = status2(); ($s->{worker}{state} // '') eq 'running' && $s->{erp}{draining} }),
   'its worker drains the same queue');

my @ids = make_orders(1000, sku => 'SKU-01953', hold => 3600);
sql("UPDATE outbox SET next_attempt_at = now() WHERE order_id IN (" . join(',', @ids) . ")");
my $st = wait_drained(120, @ids);
is($st->{done}, 1000, 'two nodes deliver all 1000 orders');
my ($bad, $deliveries) = check_effect_once(@ids);
is_deeply($bad, [], 'each at the ERP once, with the erp_ref the portal recorded');
is($deliveries, 1000, 'one delivery per order: no order was submitted by both nodes');
my $list = join ',', @ids;
is(sql("SELECT count(*) FROM erp_attempts WHERE order_id IN ($list)"), 1000, 'one attempt per order');
is(sql("SELECT count(*) FROM outbox WHERE attempts <> 1 AND order_id IN ($list)"), 0, '... on every row');
my %by = map { $_->[0] => $_->[1] } sql_rows(
    "SELECT split_part(delivered_by, ':', 2), count(*) FROM outbox WHERE order_id IN ($list) GROUP BY 1");
diag('delivered by port: ' . join(', ', map { "$_: $by{$_}" } sort keys %by));
is(scalar(keys %by), 2, 'both nodes took part');
ok(node2('stop'), 'the second node stops');

# Two httpd instances (nodes) share one PostgreSQL and one Redis: a rule
# changed through one is priced by the other within moments (Redis up), and
# within B2BPricingMaxStaleness (5 s here) while Redis is down.
use strict;
use warnings;
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use B2BTest;
use Time::HiRes qw(time sleep);
use LWP::UserAgent;
use JSON::PP;

my $root = $ENV{B2B_ROOT};
my $port2 = $ENV{B2B_NODE2_PORT} || 8531;
my %node2_env = (B2B_INSTANCE => 'node2', B2B_HTTP_PORT => $port2,
                 B2B_VAR => "$ENV{B2B_VAR}/../node2", map { $_ => $ENV{$_} }
                 qw(B2B_PG_PORT B2B_REDIS_PORT B2B_ERP_PORT B2B_ROOT));
sub node2 {
    my $cmd = shift;
    local @ENV{keys %node2_env} = values %node2_env;
    delete local $ENV{B2B_DBD_PARAMS};
    return system("bash", "$root/scripts/httpd.sh", $cmd, 'node2') == 0;
}
sub redis { system("bash", "$root/scripts/redis.sh", $_[0], 'test') == 0 }

my $ua = LWP::UserAgent->new(timeout => 5);
sub quote2 {
    my ($sku) = @_;
    my $res = $ua->post("http://127.0.0.1:$port2/api/v1/prices/quote",
        'Content-Type' => 'application/json', Authorization => 'Basic bmEtYnV5ZXI6ZGVtbw==',
        Content => encode_json({ lines => [{ sku => $sku, qty => 1 }] }));
    return 'HTTP ' . $res->code unless $res->code == 200;
    return decode_json($res->decoded_content)->{lines}[0]{unit_price}{amount};
}
sub status2 {
    my $res = $ua->get("http://127.0.0.1:$port2/api/v1/admin/status",
                       Authorization => 'Basic cG9ydGFsLWFkbWluOmRlbW8=');
    return $res->code == 200 ? decode_json($res->decoded_content) : {};
}
sub set_contract {
    my ($id, $amount) = @_;
    my $body = { kind => 'contract', account => 'ACME-NA', sku => 'SKU-00777',
                 price => { amount => $amount, currency => 'USD' } };
    my $r = $id ? api(PUT => "/admin/price-rules/$id", user => 'portal-admin', body => $body)
                : api(POST => '/admin/price-rules', user => 'portal-admin', body => $body);
    return $r->{json}{id};
}

plan tests => 9;

ok(node2('start'), 'a second node starts on the same database and Redis');
END { node2('stop') }
ok(wait_until(20, sub { quote2('SKU-00042') eq '17.25' }), 'node 2 prices from its own snapshot');
ok(wait_until(15, sub { status2()->{pricing}{redis_connected} }), 'node 2 listens on Redis');

# Redis up: each change through node 1, seen on node 2
my ($id, @ms);
for my $i (1 .. 10) {
    my $amount = sprintf '5.%02d', $i;
    my $t0 = time;
    $id = set_contract($id, $amount);
    my $seen = wait_until(5, sub { quote2('SKU-00777') eq $amount });
    push @ms, $seen ? (time - $t0) * 1000 : 99999;
}
@ms = sort { $a <=> $b } @ms;
ok($ms[-1] < 5000, 'every change reached node 2');
diag(sprintf 'rule change to new price on node 2: p50 %.0f ms, max %.0f ms over %d changes',
     $ms[@ms / 2], $ms[-1], scalar @ms);

# Redis down: the database check carries the change within the bound
ok(redis('stop'), 'Redis stopped');
my $t0 = time;
set_contract($id, '6.66');
ok(wait_until(12, sub { quote2('SKU-00777') eq '6.66' }), 'node 2 follows the database while Redis is down');
my $lag = time - $t0;
cmp_ok($lag, '<=', 5 + 2, sprintf 'within the 5 s staleness bound (%.1f s)', $lag);

# Redis back: both resubscribe
ok(redis('start'), 'Redis started again');
ok(wait_until(20, sub { status2()->{pricing}{redis_connected} }), 'node 2 resubscribed');
api(DELETE => "/admin/price-rules/$id", user => 'portal-admin');

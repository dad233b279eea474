#!/usr/bin/perl
# Rule change on node 1 -> the new price on node 2: for each of N changes to a
# BENCH-00001 contract, the time from the admin PUT's start until node 2
# quotes the new price. Prints p50/p99 ms (target: p99 <= 100 ms, Redis up).
use strict;
use warnings;
use LWP::UserAgent;
use JSON::PP;
use Time::HiRes qw(time sleep);

my ($n1, $n2) = ($ENV{NODE1}, $ENV{NODE2});
my $n = $ENV{BENCH_CHANGES} || 100;
# REDIS_DOWN=<staleness seconds>: Redis is stopped, node 2 must find the change by
# polling the rules version; the bound is B2BPricingMaxStaleness, not 100 ms.
my $down = $ENV{REDIS_DOWN};
my $ua = LWP::UserAgent->new(keep_alive => 4, timeout => 10);
my %admin = (Authorization => 'Basic cG9ydGFsLWFkbWluOmRlbW8=', 'Content-Type' => 'application/json');
my %buyer = (Authorization => 'Basic YmVuY2gtMDAwMDE6ZGVtbw==', 'Content-Type' => 'application/json');
my $sku = 'SKU-04242';

sub quote {
    my $r = $ua->post("$n2/api/v1/prices/quote", %buyer,
                      Content => encode_json({ lines => [{ sku => $sku, qty => 1 }] }));
    return $r->code == 200 ? decode_json($r->decoded_content)->{lines}[0]{unit_price}{amount} : '';
}
my $body = sub { encode_json({ kind => 'contract', account => 'BENCH-00001', sku => $sku,
                               price => { amount => $_[0], currency => 'USD' } }) };
my $r = $ua->post("$n1/api/v1/admin/price-rules", %admin, Content => $body->('1.00'));
die 'create failed: ' . $r->decoded_content unless $r->code == 201;
my $id = decode_json($r->decoded_content)->{id};
sleep 1;
# The buyer's first request on a connection pays bcrypt once in that httpd
# child (then the auth cache answers): not part of propagation, so warm up.
quote() for 1 .. 3;

my (@ms, @put);
for my $i (1 .. $n) {
    my $amount = sprintf '%d.%02d', 2 + $i, $i % 100;
    my $t0 = time;
    $r = $ua->put("$n1/api/v1/admin/price-rules/$id", %admin, Content => $body->($amount));
    die 'update failed: ' . $r->decoded_content unless $r->code == 200;
    push @put, (time - $t0) * 1000;
    my $deadline = $t0 + 30;
    while (quote() ne $amount) { die "node 2 never saw $amount\n" if time > $deadline; sleep 0.002 }
    push @ms, (time - $t0) * 1000;
}
$ua->delete("$n1/api/v1/admin/price-rules/$id", %admin);
@ms = sort { $a <=> $b } @ms;
@put = sort { $a <=> $b } @put;
my $pct = sub { $ms[int($_[0] / 100 * $#ms + 0.5)] };
my $ppct = sub { $put[int($_[0] / 100 * $#put + 0.5)] };
if ($down) {
    printf "rule change -> new price on node 2 (Redis DOWN), %d changes: p50 %.0f ms, max %.0f ms (bound: B2BPricingMaxStaleness %d s + a rebuild)\n",
        $n, $pct->(50), $ms[-1], $down;
} else {
    printf "rule change -> new price on node 2 (Redis up), %d changes: p50 %.1f ms, p99 %.1f ms, max %.1f ms (target p99 <= 100 ms)\n",
        $n, $pct->(50), $pct->(99), $ms[-1];
}
printf "  of which the admin PUT on node 1 (validation, commit, Redis publish): p50 %.1f ms, p99 %.1f ms\n",
    $ppct->(50), $ppct->(99);

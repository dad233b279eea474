# Bad input to the cart, checkout, order action and invoice endpoints:
# random JSON values, random bytes, wrong types, huge numbers, odd headers.
# Never a 5xx, never a write.
use strict;
use warnings;
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use B2BTest;
use JSON::PP ();

my $json = JSON::PP->new->utf8->canonical->allow_nonref;
srand(4711);

ok(wait_until(30, sub { api(POST => '/prices/quote', user => 'na-buyer',
                            body => { lines => [{ sku => 'SKU-00042', qty => 1 }] })->code == 200 }),
   'the pricing snapshot is in service') or BAIL_OUT('no pricing snapshot');
sql("DELETE FROM cart_lines; DELETE FROM carts");

sub counts { join ',', map { sql("SELECT count(*) FROM $_") } qw(orders order_lines outbox cart_lines invoices) }
my @atoms = (undef, JSON::PP::true, JSON::PP::false, 0, -1, 1.5, 1e30, 9223372036854775807,
             '', ' ', 'SKU-00042', "sku-00042\x{0}", "\x{2603}", 'x' x 5000, [], {}, [1], { a => 1 });
sub random_value {
    my $depth = shift // 0;
    my $k = int rand 10;
    return $atoms[rand @atoms] if $depth > 2 || $k < 6;
    return [map { random_value($depth + 1) } 1 .. int rand 4] if $k < 8;
    my @keys = qw(sku qty po_number promo_code note lines reason account period);
    return { map { $keys[rand @keys] => random_value($depth + 1) } 1 .. int rand 5 };
}
sub random_bytes { join '', map { chr int rand 256 } 1 .. int rand 200 }

my $before = counts();
my ($n, $bad5xx) = (0, 0);
my @targets = (
    [POST  => '/cart/lines'], [PATCH => '/cart/lines/SKU-00042'], [POST => '/orders'],
    [POST  => '/orders/999999999/approve'], [POST => '/orders/999999999/reject'],
    [POST  => '/orders/999999999/cancel'],
    [POST  => '/invoices/run'],
);
for my $t (@targets) {
    for my $i (1 .. 25) {
        my ($method, $path) = @$t;
        my %h = ('Idempotency-Key' => "bad-$i-" . int rand 1e9);
        my $r = $i % 5 == 0
            ? api($method, $path, user => 'na-buyer', raw => random_bytes(), headers => \%h)
            : api($method, $path, user => 'na-buyer', raw => $json->encode(random_value()), headers => \%h);
        $n++;
        if ($r->code >= 500) {
            $bad5xx++;
            diag("$method $path -> " . $r->code . ': ' . $r->decoded_content);
        }
    }
}
for my $i (1 .. 40) {
    my $r = api(POST => '/cart/import', user => 'na-buyer', raw => random_bytes(), content_type => 'text/csv');
    $n++;
    $bad5xx++, diag('import -> ' . $r->code) if $r->code >= 500;
}
for my $q ('status=%ff', 'from=%', 'page=99999999999999999999', 'per_page=-0', 'account=%00',
           'to=2025-02-29', 'from=2024-02-29T24:00:00Z', 'from=2024-02-29T23:00:00+15:00',
           'from=2024-02-29T23:00:00.1234567Z', 'status=queued,queued', 'mine=%27') {
    my $r = api(GET => "/orders?$q", user => 'acme-admin');
    $n++;
    $bad5xx++, diag("GET /orders?$q -> " . $r->code) if $r->code >= 500;
}
for my $id ('-1', '1e3', '00001', '9' x 30, 'x' x 64) {
    for my $p ("/orders/$id", "/invoices/$id") {
        my $r = api(GET => $p, user => 'acme-admin');
        $n++;
        $bad5xx++, diag("GET $p -> " . $r->code) if $r->code >= 500;
    }
}
is($bad5xx, 0, "$n bad requests: no 5xx");
is(counts(), $before, 'and nothing was written (orders, lines, outbox, cart, invoices)');

# a request that is fine except for the account header
my $r = api(POST => '/orders', user => 'na-buyer', body => { po_number => 'X' },
            headers => { 'Idempotency-Key' => 'k', 'X-B2B-Account' => "ACME'--" });
is($r->code, 404, 'an account header that cannot be a code: 404');
$r = api(POST => '/orders', user => 'na-buyer', body => { po_number => 'X' },
         headers => { 'Idempotency-Key' => 'k', 'X-B2B-Account' => 'GLOBEX' });
is($r->code, 404, 'another company: 404');
is(counts(), $before, 'still nothing written');
done_testing();

# POST /prices/quote: the caller's prices from the compiled snapshot, with
# the explanation, for every kind of bad input a 4xx JSON error.
use strict;
use warnings;
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use B2BTest;



sub quote { my ($user, $body, %o) = @_;
            api(POST => '/prices/quote' . ($o{explain} ? '?explain=1' : ''),
                user => $user, body => $body, %o) }

# the worker compiles the first snapshot right after start
my $r = wait_until(20, sub { my $x = quote('na-buyer', { lines => [{ sku => 'SKU-00042', qty => 1 }] });
                             $x->code == 200 ? $x : undef });
ok($r, 'a snapshot is in service') or BAIL_OUT('no prices: ' . api(GET => '/admin/status', user => 'portal-admin')->decoded_content);
my $j = $r->{json};
is_deeply($j->{lines}[0]{unit_price}, { amount => '17.25', currency => 'USD' },
          'na-buyer pays the ACME-NA contract price for SKU-00042');
ok($j->{pricing_generation} > 0, 'the answer names its pricing generation');
is($r->header('X-B2B-Pricing-Generation'), $j->{pricing_generation}, 'and so does the header');
is($j->{totals}{gross}{amount}, '17.25', 'totals add up');

# explain: the rules applied, in order, with the amount after each
$r = quote('na-buyer', { lines => [{ sku => 'SKU-00042', qty => 2 }] }, explain => 1);
my @layers = map { $_->{layer} } @{ $r->{json}{lines}[0]{rules} || [] };
is_deeply([@layers[0, 1]], ['list', 'contract'], 'explain: list price, then the contract');
ok((grep { $_->{rule_id} } @{ $r->{json}{lines}[0]{rules} }) == @layers, 'every step names its rule');
is($r->{json}{lines}[0]{rules}[0]{amount}{amount}, '24.90', 'the list price step shows 24.90');
is($r->{json}{lines}[0]{net}{amount}, '34.50', 'net is unit x qty');
$r = quote('na-buyer', { lines => [{ sku => 'SKU-00042', qty => 2 }] });
ok(!exists $r->{json}{lines}[0]{rules}, 'no explanation unless asked');

# tier and bracket for a product without a contract: GOLD 8%, FASTENERS bracket
$r = quote('na-buyer', { lines => [{ sku => 'SKU-00005', qty => 1 }, { sku => 'SKU-00005', qty => 100 }] }, explain => 1);
my @l1 = map { $_->{layer} } @{ $r->{json}{lines}[0]{rules} };
my @l2 = map { $_->{layer} } @{ $r->{json}{lines}[1]{rules} };
ok((grep { $_ eq 'tier' } @l1), 'GOLD tier applies to ACME-NA');
ok((grep { $_ eq 'bracket' } @l2), 'a volume bracket applies at qty 100');
cmp_ok(price($r, 1), '<', price($r, 0), 'the unit price drops at qty 100');

# EMEA: EUR and 19% VAT on top
$r = quote('emea-buyer', { lines => [{ sku => 'SKU-00042', qty => 1 }] });
is($r->{json}{lines}[0]{unit_price}{currency}, 'EUR', 'emea-buyer is priced in EUR');
is($r->{json}{lines}[0]{unit_price}{amount}, '22.90', 'EUR list price');
is($r->{json}{lines}[0]{tax}{amount}, '4.35', 'VAT 19% rounded half-up to the cent');
is($r->{json}{lines}[0]{gross}{amount}, '27.25', 'gross = net + tax');

# another currency on request: JPY has no minor digits
$r = quote('na-buyer', { currency => 'JPY', lines => [{ sku => 'SKU-00042', qty => 1 }] });
is($r->code, 200, 'quote in JPY');
like($r->{json}{lines}[0]{unit_price}{amount} // '', qr/^\d+$/, 'JPY amounts have no decimals');

# promo codes
$r = quote('globex-buyer', { promo_code => 'SPRING10', lines => [{ sku => 'SKU-00200', qty => 1 }] }, explain => 1);
is($r->code, 200, 'a promo code is accepted');
my $promo = grep { $_->{layer} eq 'promo' } @{ $r->{json}{lines}[0]{rules} || [] };
ok($promo || ($r->{json}{promo} // ''), 'the promo shows in the explanation');

# same inputs, same answer
my $a1 = quote('acme-admin', { lines => [{ sku => 'SKU-00100', qty => 7 }] }, headers => { 'X-B2B-Account' => 'ACME-NA' })->{json};
my $a2 = quote('na-buyer', { lines => [{ sku => 'SKU-00100', qty => 7 }] })->{json};
is_deeply($a1->{lines}, $a2->{lines}, 'the same account and line price the same for every user');

# bad input: always a 4xx JSON error, never a 500
my @bad = (
    [ { lines => [{ sku => 'SKU-00042', qty => 0 }] },        422, 'qty 0' ],
    [ { lines => [{ sku => 'SKU-00042', qty => -3 }] },       422, 'negative qty' ],
    [ { lines => [{ sku => 'SKU-00042', qty => 1000001 }] },  422, 'huge qty' ],
    [ { lines => [{ sku => 'SKU-00042', qty => '5' }] },      422, 'qty as a string' ],
    [ { lines => [{ sku => 'SKU-00042', qty => 1.5 }] },      422, 'fractional qty' ],
    [ { lines => [{ sku => 'SKU-99999', qty => 1 }] },        404, 'unknown SKU' ],
    [ { lines => [{ sku => "SKU-1' OR 1=1 --", qty => 1 }] }, 422, 'SQL in the SKU' ],
    [ { lines => [] },                                        422, 'no lines' ],
    [ {},                                                     422, 'missing lines' ],
    [ { lines => [{ qty => 1 }] },                            422, 'line without sku' ],
    [ { currency => 'XXX', lines => [{ sku => 'SKU-00042', qty => 1 }] }, 422, 'unknown currency' ],
    [ { lines => [ map { { sku => 'SKU-00042', qty => 1 } } 1 .. 501 ] }, 422, 'too many lines' ],
);
for my $b (@bad) {
    my ($body, $want, $name) = @$b;
    $r = quote('na-buyer', $body);
    is($r->code, $want, "$name: $want");
    ok($r->{json} && $r->{json}{error}{code}, "$name: JSON error");
}
$r = api(POST => '/prices/quote', user => 'na-buyer', raw => '{"lines": [');
is($r->code, 400, 'malformed JSON: 400');
$r = api(POST => '/prices/quote', user => 'na-buyer', raw => '[1,2]');
ok($r->code == 400 || $r->code == 422, 'a JSON array body: 4xx');

sub price { my ($res, $i) = @_; (my $a = $res->{json}{lines}[$i]{unit_price}{amount}) =~ s/\.//; $a + 0 }
done_testing();

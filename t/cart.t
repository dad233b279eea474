# The cart: per user and acting account, priced through the pricing
# service, every line keeping the price and generation it was shown at;
# limits and bad input answered with clear 4xx errors.
use strict;
use warnings;
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use B2BTest;
use POSIX ();

sub cart { my ($user, %o) = @_; api(GET => '/cart', user => $user, %o) }
sub add  { my ($user, $sku, $qty, %o) = @_;
           api(POST => '/cart/lines', user => $user, body => { sku => $sku, qty => $qty }, %o) }
sub line { my ($res, $sku) = @_;
           (grep { $_->{sku} eq $sku } @{ $res->{json}{lines} || [] })[0] }
sub clear_carts { sql("DELETE FROM cart_lines; DELETE FROM carts") }

# prices come from the snapshot the worker compiles at start
ok(wait_until(30, sub { api(POST => '/prices/quote', user => 'na-buyer',
                            body => { lines => [{ sku => 'SKU-00042', qty => 1 }] })->code == 200 }),
   'the pricing snapshot is in service') or BAIL_OUT('no pricing snapshot');
clear_carts();

# ---- an empty cart -------------------------------------------------------------
my $r = cart('na-buyer');
is($r->code, 200, 'GET /cart of a user without a cart');
is_deeply($r->{json}{lines}, [], 'no lines');
is($r->{json}{account}, 'ACME-NA', 'the acting account is the home account');
is($r->{json}{totals}{gross}{amount}, '0.00', 'totals are zero');
is($r->{json}{max_lines}, 200, 'the line limit is shown');

# ---- add, increase, change, remove ---------------------------------------------
$r = add('na-buyer', 'SKU-00042', 2);
is($r->code, 201, 'POST /cart/lines adds a line') or diag($r->decoded_content);
my $l = line($r, 'SKU-00042');
is($l->{qty}, 2, 'qty 2');
is_deeply($l->{unit_price}, { amount => '17.25', currency => 'USD' }, 'the ACME-NA contract price');
is($l->{net}{amount}, '34.50', 'net = 2 x 17.25');
ok($l->{pricing_generation} > 0, 'the line names the pricing generation it was priced at');
ok(!$l->{price_changed}, 'no price change on a new line');
is(sql("SELECT l.pricing_generation FROM cart_lines l JOIN carts c ON c.id = l.cart_id "
       . "JOIN users u ON u.id = c.user_id WHERE u.username = 'na-buyer'"),
   $l->{pricing_generation}, 'the generation is stored with the line');

$r = add('na-buyer', 'sku-00042', 1);
is($r->code, 200, 'adding the same SKU again (any case) increases the line');
is(line($r, 'SKU-00042')->{qty}, 3, 'qty 3');
is(scalar @{ $r->{json}{lines} }, 1, 'still one line');

$r = add('na-buyer', 'SKU-00005', 100);
is(line($r, 'SKU-00005')->{qty}, 100, 'a second line');
my $unit100 = line($r, 'SKU-00005')->{unit_price}{amount};
$r = api(PATCH => '/cart/lines/SKU-00005', user => 'na-buyer', body => { qty => 1 });
is($r->code, 200, 'PATCH sets the quantity');
is(line($r, 'SKU-00005')->{qty}, 1, 'qty 1');
cmp_ok(line($r, 'SKU-00005')->{unit_price}{amount}, '>', $unit100,
       'the price follows the quantity (no volume bracket at 1)');
my $q = api(POST => '/prices/quote', user => 'na-buyer',
            body => { lines => [{ sku => 'SKU-00005', qty => 1 }] });
is(line($r, 'SKU-00005')->{unit_price}{amount}, $q->{json}{lines}[0]{unit_price}{amount},
   'the cart price equals the quote for the same account and quantity');
is($r->{json}{totals}{net}{amount},
   sprintf('%.2f', 3 * 17.25 + line($r, 'SKU-00005')->{unit_price}{amount}),
   'totals add the lines');

$r = api(PATCH => '/cart/lines/SKU-00005', user => 'na-buyer', body => { qty => 0 });
is($r->code, 200, 'PATCH qty 0 removes the line');
ok(!line($r, 'SKU-00005'), 'gone');
$r = api(PATCH => '/cart/lines/SKU-00005', user => 'na-buyer', body => { qty => 2 });
is($r->code, 404, 'PATCH of a line that is not there: 404');
is($r->{json}{error}{code}, 'line_not_found', 'line_not_found');
add('na-buyer', 'SKU-00001', 1);
$r = api(DELETE => '/cart/lines/SKU-00001', user => 'na-buyer');
is($r->code, 200, 'DELETE a line');
ok(!line($r, 'SKU-00001'), 'the line is gone');
$r = api(DELETE => '/cart/lines/SKU-00001', user => 'na-buyer');
is($r->code, 404, 'DELETE it again: 404');

# ---- the price a buyer saw, and when it changes ----------------------------------------
sql("UPDATE cart_lines l SET unit_price_minor = 1999 FROM carts c, users u "
    . "WHERE l.cart_id = c.id AND c.user_id = u.id AND u.username = 'na-buyer'");
$r = cart('na-buyer');
$l = line($r, 'SKU-00042');
ok($l->{price_changed}, 'a price that moved since the buyer last saw the cart is flagged');
is($l->{previous_unit_price}{amount}, '19.99', 'with the price shown before');
is($l->{unit_price}{amount}, '17.25', 'and the current one');
$r = cart('na-buyer');
ok(!line($r, 'SKU-00042')->{price_changed}, 'once shown, the new price is the one the buyer saw');

# ---- one cart per user and acting account --------------------------------------------
$r = add('acme-admin', 'SKU-00042', 1, headers => { 'X-B2B-Account' => 'ACME-NA' });
is($r->code, 201, 'acme-admin fills a cart acting for ACME-NA');
is($r->{json}{account}, 'ACME-NA', 'for ACME-NA');
is($r->{json}{lines}[0]{unit_price}{amount}, '17.25', 'priced for ACME-NA');
$r = cart('acme-admin', headers => { 'X-B2B-Account' => 'ACME' });
is_deeply($r->{json}{lines}, [], 'acting for ACME, acme-admin has another (empty) cart');
$r = cart('acme-admin', headers => { 'X-B2B-Account' => 'ACME-EMEA' });
is_deeply($r->{json}{lines}, [], 'and another one for ACME-EMEA');
$r = cart('na-approver');
is_deeply($r->{json}{lines}, [], "a colleague does not see na-buyer's cart");
$r = cart('globex-buyer', headers => { 'X-B2B-Account' => 'ACME-NA' });
is($r->code, 404, 'another company may not act for ACME-NA (404, no leak)');
$r = cart('na-buyer', headers => { 'X-B2B-Account' => 'ACME-EMEA' });
is($r->code, 403, 'a buyer may not act for a sibling account');
$r = add('emea-buyer', 'SKU-00042', 1);
is($r->{json}{lines}[0]{unit_price}{currency}, 'EUR', 'emea-buyer is priced in EUR');
is($r->{json}{lines}[0]{tax}{amount}, '4.35', 'with German VAT');
$r = cart('portal-admin');
is($r->code, 403, 'a portal operator has no cart (no account)');

# ---- bad input: never a 500, never a partial write ---------------------------------------
my $before = sql("SELECT count(*) FROM cart_lines");
for my $case (
    [ 'no sku',            { qty => 1 },                          422, 'missing_sku' ],
    [ 'sku not a string',  { sku => 42, qty => 1 },               422, 'missing_sku' ],
    [ 'qty zero',          { sku => 'SKU-00042', qty => 0 },      422, 'bad_quantity' ],
    [ 'qty negative',      { sku => 'SKU-00042', qty => -3 },     422, 'bad_quantity' ],
    [ 'qty fractional',    { sku => 'SKU-00042', qty => 1.5 },    422, 'bad_quantity' ],
    [ 'qty as a string',   { sku => 'SKU-00042', qty => '2' },    422, 'bad_quantity' ],
    [ 'qty too large',     { sku => 'SKU-00042', qty => 1000001 },422, 'bad_quantity' ],
    [ 'unknown sku',       { sku => 'SKU-99999', qty => 1 },      404, 'unknown_sku' ],
    [ 'malformed sku',     { sku => "SKU'; DROP TABLE x;--", qty => 1 }, 404, 'unknown_sku' ],
    [ 'over-long sku',     { sku => 'A' x 500, qty => 1 },        404, 'unknown_sku' ],
) {
    my ($name, $body, $status, $code) = @$case;
    $r = api(POST => '/cart/lines', user => 'na-buyer', body => $body);
    is($r->code, $status, "$name: $status");
    is($r->{json}{error}{code}, $code, "$name: $code");
}
$r = api(POST => '/cart/lines', user => 'na-buyer', body => [1, 2]);
is($r->code, 422, 'an array body: 422');
$r = api(POST => '/cart/lines', user => 'na-buyer', raw => '{"sku": "SKU-00042", "qty": ');
is($r->code, 400, 'malformed JSON: 400');
$r = api(POST => '/cart/lines', user => 'na-buyer', raw => 'sku=SKU-00042&qty=1',
         content_type => 'application/x-www-form-urlencoded');
is($r->code, 415, 'a form body: 415');
$r = add('na-buyer', 'SKU-00042', 999999);
is($r->code, 422, 'a line would exceed 1000000 units: 422');
is($r->{json}{error}{code}, 'bad_quantity', 'bad_quantity');
$r = api(PATCH => '/cart/lines/SKU-00042', user => 'na-buyer', body => { qty => 'ten' });
is($r->code, 422, 'PATCH with a bad qty: 422');
is(sql("SELECT count(*) FROM cart_lines"), $before, 'none of that wrote anything');

# ---- quick order: CSV and pasted lists ------------------------------------------------------
clear_carts();
my $csv = "sku,qty\r\nSKU-00042,3\r\nSKU-00001;2\r\nSKU-99999,1\r\nSKU-00005,0\r\n"
        . "SKU-00007,abc\r\n,4\r\nSKU-00042,2\r\n\"SKU-00011\",\"1\"\r\nsku-00012\r\n"
        . "SKU-00013,1,extra\r\n";
$r = api(POST => '/cart/import', user => 'na-buyer', raw => $csv, content_type => 'text/csv');
is($r->code, 200, 'POST /cart/import with a CSV') or diag($r->decoded_content);
my $j = $r->{json};
is_deeply([map { "$_->{line}:$_->{sku}:$_->{qty}" } @{ $j->{added} }],
          ['2:SKU-00042:3', '3:SKU-00001:2', '8:SKU-00042:2', '9:SKU-00011:1', '10:SKU-00012:1'],
          'added: every good row, with its line number');
is_deeply({ map { $_->{line} => $_->{reason} } @{ $j->{rejected} } },
          { 4 => 'unknown_sku', 5 => 'bad_quantity', 6 => 'bad_quantity', 7 => 'bad_format',
            11 => 'bad_format' },
          'rejected: each bad row with its reason');
ok((grep { $_->{message} } @{ $j->{rejected} }) == @{ $j->{rejected} }, 'each with a message');
is((grep { $_->{line} == 4 } @{ $j->{rejected} })[0]{input}, 'SKU-99999,1', 'and the row as sent');
is(line({ json => $j->{cart} }, 'SKU-00042')->{qty}, 5, 'two rows of one SKU add up');
is(scalar @{ $j->{cart}{lines} }, 4, 'the cart holds the four products');

$r = api(POST => '/cart/import', user => 'na-buyer', raw => "SKU-00020 4\nSKU-00021\t2\n  SKU-00022  \n",
         content_type => 'text/plain');
is($r->code, 200, 'a pasted SKU list as text/plain');
is_deeply([map { "$_->{sku}:$_->{qty}" } @{ $r->{json}{added} }],
          ['SKU-00020:4', 'SKU-00021:2', 'SKU-00022:1'], 'blanks and tabs separate, qty defaults to 1');

# a product the account may not see: the catalog's access rules decide
# (ACME-EMEA may not buy hazardous materials, SKU-00022)
TODO: {
    local $TODO = 'catalog access rules come with the catalog capability (b2b_product_visible)';
    $r = api(POST => '/cart/import', user => 'emea-buyer', raw => "SKU-00022,1\n", content_type => 'text/csv');
    is(($r->{json}{rejected}[0] || {})->{reason}, 'not_visible', 'rejected: not_visible');
}
api(DELETE => '/cart', user => 'emea-buyer');

$r = api(POST => '/cart/import', user => 'na-buyer', raw => "SKU-00042,1\n", content_type => 'application/json');
is($r->code, 415, 'import as JSON: 415');
$r = api(POST => '/cart/import', user => 'na-buyer', raw => "SKU-00042,\xff\xfe\n", content_type => 'text/csv');
is($r->code, 400, 'not UTF-8: 400');
is($r->{json}{error}{code}, 'bad_csv', 'bad_csv');
$r = api(POST => '/cart/import', user => 'na-buyer', raw => "sku,qty\n\n", content_type => 'text/csv');
is($r->code, 422, 'no rows: 422');
$before = sql("SELECT count(*) FROM cart_lines");
$r = api(POST => '/cart/import', user => 'na-buyer',
         raw => join('', map { sprintf("SKU-%05d,1\n", $_) } 1 .. 1001), content_type => 'text/csv');
is($r->code, 413, 'more than 1000 rows: 413');
is($r->{json}{error}{code}, 'too_many_rows', 'too_many_rows');
is(sql("SELECT count(*) FROM cart_lines"), $before, 'and nothing was added');
$r = api(POST => '/cart/import', user => 'na-buyer', raw => ('x' x (1024 * 1024 + 10)),
         content_type => 'text/csv');
is($r->code, 413, 'a body over B2BMaxBodySize: 413');

# ---- the line limit (B2BCartMaxLines, default 200) ---------------------------------------------
clear_carts();
$r = api(POST => '/cart/import', user => 'na-buyer',
         raw => join('', map { sprintf("SKU-%05d,1\n", $_) } 101 .. 305), content_type => 'text/csv');
is($r->code, 200, 'an import of 205 products');
is($r->{json}{accepted}, 200, '200 are added');
is(scalar(grep { $_->{reason} eq 'cart_full' } @{ $r->{json}{rejected} }), 5,
   'the other 5 are rejected: cart_full');
is($r->{json}{cart}{line_count}, 200, 'the cart holds 200 lines');
$r = add('na-buyer', 'SKU-00042', 1);
is($r->code, 409, 'one more line: 409');
is($r->{json}{error}{code}, 'cart_full', 'cart_full');
like($r->{json}{error}{message}, qr/200/, 'the message names the limit');
$r = add('na-buyer', 'SKU-00101', 1);
is($r->code, 200, 'but a line already there can still grow');

# ---- concurrent adds never pass the limit ----------------------------------------------------
clear_carts();
api(POST => '/cart/import', user => 'na-buyer',
    raw => join('', map { sprintf("SKU-%05d,1\n", $_) } 101 .. 298), content_type => 'text/csv');
my @pids;
for my $k (1 .. 6) {
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        # a connection of its own: never the parent's keep-alive socket
        Apache::TestRequest::user_agent(reset => 1, keep_alive => 0);
        my $res = add('na-buyer', sprintf('SKU-%05d', 400 + $k), 1);
        POSIX::_exit($res->code == 201 ? 0 : $res->code == 409 ? 1 : 2);
    }
    push @pids, $pid;
}
my %exit;
for (@pids) { waitpid($_, 0); $exit{$? >> 8}++ }
is($exit{0} // 0, 2, 'six parallel adds to a cart with 198 lines: two succeed');
is($exit{1} // 0, 4, 'four get 409');
is(sql("SELECT count(*) FROM cart_lines"), 200, 'the cart holds exactly 200 lines');

# ---- DELETE /cart ---------------------------------------------------------------------------
$r = api(DELETE => '/cart', user => 'na-buyer');
is($r->code, 200, 'DELETE /cart');
is_deeply($r->{json}{lines}, [], 'empties the cart');
clear_carts();

done_testing();

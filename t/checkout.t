# POST /orders: checkout of the cart in one transaction. The price on the
# order is the quote's, the cart's and the catalog's; a price that moved
# since the cart was shown is used and reported; stock is reserved, credit
# charged at the credit-holding ancestor, approvals decided along the tree;
# Idempotency-Key required and honoured; bad input never writes anything.
use strict;
use warnings;
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use B2BTest;

my $seq = 0;
sub key { join '-', 'checkout-t', $$, time, ++$seq }
sub reset_orders {
    sql("TRUNCATE invoice_lines, invoices, order_history, order_lines, outbox, orders CASCADE");
    sql("DELETE FROM cart_lines; DELETE FROM carts");
    sql("UPDATE stock SET reserved = 0 WHERE reserved <> 0");
    sql("UPDATE accounts SET credit_used_minor = 0 WHERE credit_used_minor <> 0");
}
sub fill { my ($user, @lines) = @_; my %o = ref $lines[-1] eq 'HASH' ? %{ pop @lines } : ();
           api(DELETE => '/cart', user => $user, %o);
           while (my ($sku, $qty) = splice @lines, 0, 2) {
               my $r = api(POST => '/cart/lines', user => $user, body => { sku => $sku, qty => $qty }, %o);
               die "cart: " . $r->decoded_content unless $r->code =~ /^20[01]$/;
           } }
sub checkout { my ($user, $key, $body, %o) = @_;
               api(POST => '/orders', user => $user, body => $body // { po_number => 'PO-1' },
                   headers => { ($key ? ('Idempotency-Key' => $key) : ()), %{ $o{headers} || {} } }) }
sub n { sql($_[0]) + 0 }
sub quote_unit { my ($user, $sku, $qty) = @_;
    my $r = api(POST => '/prices/quote', user => $user, body => { lines => [{ sku => $sku, qty => $qty }] });
    $r->code == 200 ? $r->{json}{lines}[0]{unit_price}{amount} : 'HTTP ' . $r->code }

ok(wait_until(30, sub { quote_unit('na-buyer', 'SKU-00042', 1) eq '17.25' }),
   'the pricing snapshot is in service') or BAIL_OUT('no pricing snapshot');
reset_orders();
# enough of SKU-00042 for every order below; put back at the end
my $on_hand42 = n("SELECT on_hand FROM stock s JOIN products p ON p.id = s.product_id WHERE p.sku = 'SKU-00042'");
sql("UPDATE stock SET on_hand = 100000 FROM products p WHERE p.id = stock.product_id AND p.sku = 'SKU-00042'");

# ---- the happy path ------------------------------------------------------------------
fill('na-buyer', 'SKU-00042', 2, 'SKU-00001', 10);
my $cart = api(GET => '/cart', user => 'na-buyer');
my $stock42 = n("SELECT s.reserved FROM stock s JOIN products p ON p.id = s.product_id WHERE p.sku = 'SKU-00042'");
my $k1 = key();
my $r = checkout('na-buyer', $k1, { po_number => 'PO-4711', note => "Deliver to dock 3\nThanks" });
is($r->code, 201, 'checkout: 201') or diag($r->decoded_content);
my $o = $r->{json};
ok($o->{id}, "order $o->{id}");
is($o->{status}, 'queued', 'below the approval threshold: queued');
is($o->{po_number}, 'PO-4711', 'the PO number');
is($o->{account}, 'ACME-NA', 'for the acting account');
like($r->header('Location') // '', qr{/api/v1/orders/$o->{id}$}, 'Location names the order');
is(scalar @{ $o->{lines} }, 2, 'two lines');
my ($l42) = grep { $_->{sku} eq 'SKU-00042' } @{ $o->{lines} };
is_deeply($l42->{unit_price}, { amount => '17.25', currency => 'USD' }, 'the contract price');
is($l42->{net}{amount}, '34.50', 'line net');
is($l42->{reserved_qty}, 2, 'two units reserved');
is($l42->{backordered_qty}, 0, 'none on backorder');
my ($l1) = grep { $_->{sku} eq 'SKU-00001' } @{ $o->{lines} };
my ($c1) = grep { $_->{sku} eq 'SKU-00001' } @{ $cart->{json}{lines} };
is($l1->{unit_price}{amount}, $c1->{unit_price}{amount}, 'the order price equals the cart price');
is($l1->{unit_price}{amount}, quote_unit('na-buyer', 'SKU-00001', 10),
   'and the quote for the same account and quantity');
is($o->{totals}{net}{amount}, $cart->{json}{totals}{net}{amount}, 'order totals equal cart totals');
is($o->{totals}{gross}{amount}, $cart->{json}{totals}{gross}{amount}, 'gross too');
ok(!$o->{prices_changed}, 'no price moved');
is_deeply($o->{price_changes}, [], 'price_changes is empty');
ok($o->{pricing_generation} > 0, 'the order names its pricing generation');
is($o->{credit}{account}, 'ACME', 'credit is charged at ACME, the credit holder');
is($o->{credit}{charged}{amount}, $o->{totals}{gross}{amount}, 'the gross, in USD');

is(n("SELECT count(*) FROM orders WHERE id = $o->{id}"), 1, 'the order row');
is(n("SELECT count(*) FROM order_lines WHERE order_id = $o->{id}"), 2, 'its lines');
is(n("SELECT count(*) FROM order_history WHERE order_id = $o->{id} AND status = 'queued'"), 1,
   'its history');
is(n("SELECT count(*) FROM outbox WHERE order_id = $o->{id} AND state = 'pending'"), 1,
   'its outbox row for the ERP worker');
is(n("SELECT s.reserved FROM stock s JOIN products p ON p.id = s.product_id WHERE p.sku = 'SKU-00042'"),
   $stock42 + 2, 'stock reserved');
is(n("SELECT credit_used_minor FROM accounts WHERE code = 'ACME'"),
   n("SELECT gross_minor FROM orders WHERE id = $o->{id}"), 'ACME credit used = the order gross');
is_deeply(api(GET => '/cart', user => 'na-buyer')->{json}{lines}, [], 'the cart is empty');

# the catalog shows the same price (when the catalog capability is there)
my $cat = api(GET => '/catalog/products/SKU-00042', user => 'na-buyer');
SKIP: {
    skip 'no catalog endpoint in this build', 1 unless $cat->code == 200 && $cat->{json}{price};
    is($cat->{json}{price}{amount}, quote_unit('na-buyer', 'SKU-00042', 1),
       'the catalog price equals the quote for qty 1');
}

# ---- the same key again ------------------------------------------------------------------
my $orders = n("SELECT count(*) FROM orders");
$r = checkout('na-buyer', $k1, { po_number => 'PO-4711', note => "Deliver to dock 3\nThanks" });
is($r->code, 201, 'the same key again: the same answer');
is($r->{json}{id}, $o->{id}, 'the same order');
ok($r->{json}{replayed}, 'marked as a replay');
is($r->header('Idempotent-Replayed'), 'true', 'and in a header');
is(n("SELECT count(*) FROM orders"), $orders, 'nothing created');
is(n("SELECT credit_used_minor FROM accounts WHERE code = 'ACME'"),
   n("SELECT gross_minor FROM orders WHERE id = $o->{id}"), 'nothing charged twice');
$r = checkout('na-buyer', $k1, { po_number => 'PO-OTHER' });
is($r->code, 422, 'the same key with another body: 422');
is($r->{json}{error}{code}, 'idempotency_key_reused', 'idempotency_key_reused');
is($r->{json}{error}{details}{order_id}, $o->{id}, 'naming the order the key made');
$r = checkout('na-approver', $k1, { po_number => 'PO-4711' });
is($r->code, 409, 'keys are per user: another user with that key checks out their own (empty) cart');

# ---- required and bad input: 4xx, and nothing written -----------------------------------------
fill('na-buyer', 'SKU-00042', 1);
$orders = n("SELECT count(*) FROM orders");
my $used = n("SELECT credit_used_minor FROM accounts WHERE code = 'ACME'");
$r = checkout('na-buyer', undef);
is($r->code, 400, 'no Idempotency-Key: 400');
is($r->{json}{error}{code}, 'idempotency_key_required', 'idempotency_key_required');
for my $bad ('x' x 256, "has space", "caf\xc3\xa9") {
    $r = checkout('na-buyer', $bad);
    is($r->code, 400, 'a bad Idempotency-Key: 400');
}
for my $case (
    [ 'no po_number',        {},                                        'po_number_required' ],
    [ 'po_number a number',  { po_number => 12 },                       'po_number_required' ],
    [ 'blank po_number',     { po_number => '   ' },                    'bad_po_number' ],
    [ 'po_number too long',  { po_number => 'P' x 65 },                 'bad_po_number' ],
    [ 'control characters',  { po_number => "PO\x01" },                 'bad_po_number' ],
    [ 'bad promo code',      { po_number => 'PO', promo_code => 'no spaces!' }, 'bad_promo_code' ],
    [ 'unknown promo code',  { po_number => 'PO', promo_code => 'NOSUCHCODE' }, 'unknown_promo_code' ],
    [ 'note too long',       { po_number => 'PO', note => 'n' x 4001 }, 'bad_note' ],
    [ 'lines not an array',  { po_number => 'PO', lines => 'SKU-00042' }, 'bad_lines' ],
    [ 'empty lines',         { po_number => 'PO', lines => [] },        'bad_lines' ],
    [ 'line without qty',    { po_number => 'PO', lines => [{ sku => 'SKU-00042' }] }, 'bad_quantity' ],
    [ 'duplicate sku',       { po_number => 'PO', lines => [{ sku => 'SKU-00042', qty => 1 },
                                                             { sku => 'sku-00042', qty => 2 }] }, 'duplicate_sku' ],
) {
    my ($name, $body, $code) = @$case;
    $r = checkout('na-buyer', key(), $body);
    is($r->code, 422, "$name: 422") or diag($r->decoded_content);
    is($r->{json}{error}{code}, $code, "$name: $code");
}
$r = checkout('na-buyer', key(), { po_number => "PO\x{0}1" });
is($r->code, 400, 'a NUL character in a string: 400 (the JSON parser refuses it)');
$r = checkout('na-buyer', key(), { po_number => 'PO', lines => [{ sku => 'SKU-99999', qty => 1 }] });
is($r->code, 404, 'a direct order of an unknown SKU: 404');
$r = api(POST => '/orders', user => 'na-buyer', raw => '{"po_number":', headers => { 'Idempotency-Key' => key() });
is($r->code, 400, 'malformed JSON: 400');
$r = api(POST => '/orders', user => 'na-buyer', raw => 'po_number=1', content_type => 'text/plain',
         headers => { 'Idempotency-Key' => key() });
is($r->code, 415, 'not JSON: 415');
is(n("SELECT count(*) FROM orders"), $orders, 'no order was written by any of them');
is(n("SELECT credit_used_minor FROM accounts WHERE code = 'ACME'"), $used, 'no credit was charged');
is(scalar @{ api(GET => '/cart', user => 'na-buyer')->{json}{lines} }, 1, 'the cart is intact');
api(DELETE => '/cart', user => 'na-buyer');
$r = checkout('na-buyer', key());
is($r->code, 409, 'an empty cart: 409');
is($r->{json}{error}{code}, 'cart_empty', 'cart_empty');
$r = checkout('portal-admin', key());
is($r->code, 403, 'an operator has no account to order for');

# ---- a price that changed since the cart was shown ------------------------------------------
my $base = quote_unit('na-buyer', 'SKU-00310', 3);
fill('na-buyer', 'SKU-00310', 3);
$r = api(POST => '/admin/price-rules', user => 'portal-admin',
         body => { kind => 'contract', account => 'ACME-NA', sku => 'SKU-00310',
                   price => { amount => '3.21', currency => 'USD' } });
is($r->code, 201, 'an operator sets a contract price for SKU-00310 after the cart was priced');
my $rule = $r->{json}{id};
ok(wait_until(10, sub { quote_unit('na-buyer', 'SKU-00310', 3) eq '3.21' }), 'the new price is live');
$r = checkout('na-buyer', key(), { po_number => 'PO-PRICE' });
is($r->code, 201, 'checkout after the price change');
is($r->{json}{lines}[0]{unit_price}{amount}, '3.21', 'the order takes the current price');
ok($r->{json}{lines}[0]{price_changed}, 'and says the price changed');
is($r->{json}{lines}[0]{previous_unit_price}{amount}, $base, 'from the price the cart showed');
ok($r->{json}{prices_changed}, 'prices_changed is true');
is_deeply([map { "$_->{sku} $_->{previous_unit_price}{amount} -> $_->{unit_price}{amount}" }
           @{ $r->{json}{price_changes} }], ["SKU-00310 $base -> 3.21"], 'price_changes lists it');
my $pc = api(GET => "/orders/$r->{json}{id}", user => 'na-buyer');
ok($pc->{json}{lines}[0]{price_changed}, 'the order detail keeps that note');
api(DELETE => "/admin/price-rules/$rule", user => 'portal-admin');
ok(wait_until(10, sub { quote_unit('na-buyer', 'SKU-00310', 3) eq $base }), 'price restored');

# ---- promo codes --------------------------------------------------------------------------------
fill('globex-buyer', 'SKU-00200', 1);
my $plain = api(GET => '/cart', user => 'globex-buyer')->{json}{lines}[0]{unit_price}{amount};
$r = checkout('globex-buyer', key(), { po_number => 'PO-PROMO', promo_code => 'SPRING10' });
is($r->code, 201, 'checkout with a promo code');
is($r->{json}{promo}{code}, 'SPRING10', 'the promo is named');
like($r->{json}{promo}{status}, qr/^(applied|not_better)$/, "its status: $r->{json}{promo}{status}");
cmp_ok($r->{json}{lines}[0]{unit_price}{amount}, '<=', $plain, 'never dearer than without it');
ok(!$r->{json}{prices_changed}, 'a promo is not a price change');
my $pq = api(POST => '/prices/quote', user => 'globex-buyer',
             body => { promo_code => 'SPRING10', lines => [{ sku => 'SKU-00200', qty => 1 }] });
is($r->{json}{lines}[0]{unit_price}{amount}, $pq->{json}{lines}[0]{unit_price}{amount},
   'the promo price equals the quote with the same code');
is($r->{json}{credit}{account}, 'GLOBEX', "Globex's own credit");

# ---- EMEA: EUR order against ACME's USD credit -----------------------------------------------------
fill('emea-buyer', 'SKU-00042', 10);
$r = checkout('emea-buyer', key());
is($r->code, 201, 'emea-buyer checks out');
is($r->{json}{currency}, 'EUR', 'in EUR');
is($r->{json}{totals}{net}{amount}, '229.00', '10 x 22.90');
is($r->{json}{totals}{tax}{amount}, '43.51', 'German VAT');
is($r->{json}{credit}{account}, 'ACME', 'charged to ACME');
is($r->{json}{credit}{charged}{currency}, 'USD', 'in ACME\'s currency');
is($r->{json}{credit}{charged}{amount}, sprintf('%.2f', int(27251 * 1.0852 + 0.5) / 100),
   'converted at the EUR->USD rate (272.51 EUR x 1.0852)');

# ---- approval rules along the tree --------------------------------------------------------------
fill('na-buyer', 'SKU-00042', 290);
$r = checkout('na-buyer', key());
is($r->{json}{status}, 'pending_approval', 'ACME-NA: 5,002.50 USD needs approval (threshold 5,000.00)');
ok($r->{json}{approval_required}, 'approval_required');
is(n("SELECT count(*) FROM outbox WHERE order_id = $r->{json}{id}"), 0, 'not in the ERP queue yet');
is($r->{json}{lines}[0]{reserved_qty}, 290, 'its stock is reserved meanwhile');
fill('na-buyer', 'SKU-00042', 289);
$r = checkout('na-buyer', key());
is($r->{json}{status}, 'queued', '4,985.25 USD does not');
fill('west-buyer', 'SKU-00042', 290);
$r = checkout('west-buyer', key());
is($r->{json}{status}, 'pending_approval', 'ACME-NA-WEST inherits the ACME-NA threshold');
fill('emea-buyer', 'SKU-00042', 175);
$r = checkout('emea-buyer', key());
is($r->{json}{status}, 'pending_approval', 'ACME-EMEA: 4,007.50 EUR needs approval (4,000.00 EUR)');
fill('emea-buyer', 'SKU-00042', 174);
$r = checkout('emea-buyer', key());
is($r->{json}{status}, 'queued', '3,984.60 EUR does not');
sql("INSERT INTO approval_rules (account_id, threshold_minor, currency, product_group_id) "
    . "SELECT a.id, 0, 'USD', g.id FROM accounts a, product_groups g WHERE a.code = 'ACME' AND g.code = 'POWER-TOOLS'");
fill('fr-buyer', 'SKU-00013', 1);
$r = checkout('fr-buyer', key());
is($r->{json}{status}, 'pending_approval', 'a product-group rule at ACME catches a power tool from ACME-FR (EUR)');
fill('fr-buyer', 'SKU-00042', 1);
$r = checkout('fr-buyer', key());
is($r->{json}{status}, 'queued', 'other groups are not affected');
sql("DELETE FROM approval_rules WHERE product_group_id IS NOT NULL");

# ---- stock: not enough, and backorder ------------------------------------------------------------
# SKU-00017: none on hand, no backorder; SKU-00034: none on hand, backorder allowed
$orders = n("SELECT count(*) FROM orders");
fill('na-buyer', 'SKU-00042', 1, 'SKU-00017', 2);
my $res42 = n("SELECT s.reserved FROM stock s JOIN products p ON p.id = s.product_id WHERE p.sku = 'SKU-00042'");
$r = checkout('na-buyer', key());
is($r->code, 409, 'a line without stock: 409');
is($r->{json}{error}{code}, 'insufficient_stock', 'insufficient_stock');
is_deeply($r->{json}{error}{details}, [{ sku => 'SKU-00017', requested => 2, available => 0 }],
          'naming the line, what was asked and what is there');
is(n("SELECT count(*) FROM orders"), $orders, 'no order');
is(n("SELECT s.reserved FROM stock s JOIN products p ON p.id = s.product_id WHERE p.sku = 'SKU-00042'"),
   $res42, 'and the other line reserved nothing (rolled back)');
is(scalar @{ api(GET => '/cart', user => 'na-buyer')->{json}{lines} }, 2, 'the cart is kept');
sql("UPDATE stock SET on_hand = 3 FROM products p WHERE p.id = stock.product_id AND p.sku = 'SKU-00034'");
fill('na-buyer', 'SKU-00034', 5);
$r = checkout('na-buyer', key());
is($r->code, 201, 'a product that allows backorder');
is($r->{json}{lines}[0]{reserved_qty}, 3, 'takes the 3 on hand');
is($r->{json}{lines}[0]{backordered_qty}, 2, 'and backorders 2');
is(n("SELECT on_hand - reserved FROM stock s JOIN products p ON p.id = s.product_id WHERE p.sku = 'SKU-00034'"),
   0, 'available stock never goes negative');
sql("UPDATE stock SET on_hand = 0 FROM products p WHERE p.id = stock.product_id AND p.sku = 'SKU-00034'");

# ---- the credit limit -----------------------------------------------------------------------------
sql("UPDATE accounts SET credit_used_minor = credit_limit_minor - 1000 WHERE code = 'ACME'");
fill('na-buyer', 'SKU-00042', 2);
$orders = n("SELECT count(*) FROM orders");
$r = checkout('na-buyer', key());
is($r->code, 409, 'an order above the remaining credit: 409');
is($r->{json}{error}{code}, 'credit_limit_exceeded', 'credit_limit_exceeded');
is($r->{json}{error}{details}{credit_account}, 'ACME', 'naming the credit holder');
is($r->{json}{error}{details}{available}{amount}, '10.00', 'and what is left');
is(n("SELECT count(*) FROM orders"), $orders, 'no order');
sql("UPDATE accounts SET credit_used_minor = 0 WHERE code = 'ACME'");

# ---- direct orders: lines in the body, the cart untouched --------------------------------------------
fill('na-buyer', 'SKU-00001', 1);
$r = checkout('na-buyer', key(), { po_number => 'PO-DIRECT',
                                   lines => [{ sku => 'SKU-00042', qty => 4 }, { sku => 'sku-00005', qty => 10 }] });
is($r->code, 201, 'a direct order with lines in the body');
is(scalar @{ $r->{json}{lines} }, 2, 'two lines');
is($r->{json}{lines}[1]{unit_price}{amount}, quote_unit('na-buyer', 'SKU-00005', 10),
   'priced like the quote');
is(scalar @{ api(GET => '/cart', user => 'na-buyer')->{json}{lines} }, 1, 'the cart is untouched');

reset_orders();
sql("UPDATE stock SET on_hand = $on_hand42 FROM products p WHERE p.id = stock.product_id AND p.sku = 'SKU-00042'");
done_testing();

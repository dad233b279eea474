# The catalog: list format, prices from the pricing service (the same as a
# quote), brackets, pagination limits, category filter with subcategories,
# sorting, the category tree, ETag / 304 / Vary, invalidation when a product
# changes, and hostile input that must never give a 500.
use strict;
use warnings;
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use B2BTest;

sub cat { my ($path, %o) = @_; api(GET => "/catalog$path", user => 'na-buyer', %o) }

# Prices come from the pricing snapshot, compiled by the worker after start.
my $r = wait_until(30, sub { my $x = cat('/products?per_page=1'); $x->code == 200 ? $x : undef });
ok($r, 'the catalog answers once prices are in service')
    or BAIL_OUT('catalog not ready: ' . cat('/products?per_page=1')->decoded_content);

# ---- list format ------------------------------------------------------------
$r = cat('/products');
my $j = $r->{json};
is($r->code, 200, 'GET /catalog/products');
like($r->header('Content-Type'), qr{^application/json}, 'JSON');
is($j->{page}, 1, 'page 1 by default');
is($j->{per_page}, 50, '50 per page by default');
is(scalar @{ $j->{items} }, 50, '50 items');
is($j->{total}, sql('SELECT count(*) FROM products WHERE active'), 'total: every active product (ACME-NA sees all)');
my $card = $j->{items}[0];
ok($card->{sku} && $card->{name} && $card->{category}, 'a card has sku, name, category');
like($card->{price}{amount} // '', qr/^\d+\.\d{2}$/, 'price amount is a decimal string with 2 digits');
is($card->{price}{currency}, 'USD', 'ACME-NA is priced in USD');
like($card->{availability}{available} // '', qr/^\d+$/, 'availability.available is a count');
like($card->{availability}{as_of} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, 'availability.as_of is ISO 8601 UTC');
ok(ref $card->{category_path} eq 'ARRAY' && @{ $card->{category_path} } >= 1, 'a card has its category path');
ok($j->{pricing_generation} > 0, 'the page names the pricing generation');

# ---- prices: the contract price, and the same as a quote ---------------------------
$r = cat('/products?q=SKU-00042');
is($r->{json}{items}[0]{sku}, 'SKU-00042', 'search by SKU finds it first');
is_deeply($r->{json}{items}[0]{price}, { amount => '17.25', currency => 'USD' },
          "na-buyer's card price for SKU-00042 is the contract price 17.25 USD");
$r = cat('/products/SKU-00042');
is($r->code, 200, 'GET /catalog/products/SKU-00042');
is_deeply($r->{json}{price}, { amount => '17.25', currency => 'USD' }, 'detail: 17.25 USD');
ok(defined $r->{json}{description}, 'detail has the description');

my @page = @{ cat('/products?per_page=24&page=3')->{json}{items} };
my $q = api(POST => '/prices/quote', user => 'na-buyer',
            body => { lines => [map { { sku => $_->{sku}, qty => 1 } } @page] });
is($q->code, 200, 'quote the same 24 SKUs');
is_deeply([map { $_->{price} } @page], [map { $_->{unit_price} } @{ $q->{json}{lines} }],
          'every card price equals the quoted unit price for qty 1');
my @emea = @{ api(GET => '/catalog/products?per_page=10&sort=sku', user => 'emea-buyer')->{json}{items} };
$q = api(POST => '/prices/quote', user => 'emea-buyer',
         body => { lines => [map { { sku => $_->{sku}, qty => 1 } } @emea] });
is_deeply([map { $_->{price} } @emea], [map { $_->{unit_price} } @{ $q->{json}{lines} }],
          'emea-buyer: card prices in EUR equal the quote');

# brackets: the caller's price at each bracket quantity
$r = cat('/products/SKU-00001');
my @br = @{ $r->{json}{brackets} || [] };
is_deeply([map { $_->{min_qty} } @br], [10, 50, 100], 'SKU-00001 (FASTENERS) has brackets at 10, 50, 100');
$q = api(POST => '/prices/quote', user => 'na-buyer',
         body => { lines => [map { { sku => 'SKU-00001', qty => $_->{min_qty} } } @br] });
is_deeply([map { $_->{price} } @br], [map { $_->{unit_price} } @{ $q->{json}{lines} }],
          'each bracket price equals the quote at that quantity');
cmp_ok($br[2]{price}{amount}, '<', $r->{json}{price}{amount}, 'the 100+ price is lower');
is_deeply([map { $_->{min_qty} } @{ cat('/products/SKU-00007')->{json}{brackets} }], [50, 100],
          'SKU-00007 product brackets at 50 and 100');
is_deeply(cat('/products/SKU-00042')->{json}{brackets}, [], 'no brackets on SKU-00042');
is(cat('/products/sku-00042')->{json}{sku}, 'SKU-00042', 'SKU lookup is case-insensitive');

# ---- pagination ---------------------------------------------------------------------
$r = cat('/products?per_page=200');
is($r->code, 200, 'per_page=200 is allowed');
is(scalar @{ $r->{json}{items} }, 200, '200 items');
for my $bad ('per_page=201', 'per_page=0', 'per_page=-5', 'per_page=abc', 'page=0',
             'page=abc', 'page=1.5', 'page=99999999999', 'sort=price', 'page=1000&per_page=200') {
    $r = cat("/products?$bad");
    is($r->code, 422, "$bad is 422");
    ok($r->{json}{error}{code}, "$bad: JSON error");
}
is(cat('/products?per_page=201')->{json}{error}{code}, 'per_page_too_large', 'per_page over 200: per_page_too_large');
$r = cat('/products?page=999&per_page=50');
is($r->code, 200, 'a page past the end');
is_deeply($r->{json}{items}, [], 'is empty');
is($r->{json}{total}, sql('SELECT count(*) FROM products WHERE active'), 'and still says the total');

# pages tile the result: no gaps, no overlaps
my $leaf_total = sql("SELECT count(*) FROM products p JOIN categories c ON c.id = p.category_id WHERE c.code = 'valves'");
my (%seen, $dups);
for my $p (1 .. int(($leaf_total + 6) / 7)) {
    for (@{ cat("/products?category=valves&per_page=7&page=$p&sort=sku")->{json}{items} }) {
        $dups++ if $seen{ $_->{sku} }++;
    }
}
is(scalar keys %seen, $leaf_total, 'paging through a category sees every product once');
ok(!$dups, 'no product on two pages');

# ---- category filter, subcategories, sorting -------------------------------------------
my $tools_total = sql("SELECT count(*) FROM products p JOIN categories c ON c.id = p.category_id
                       JOIN categories t ON t.id = c.parent_id WHERE t.code = 'tools'");
$r = cat('/products?category=tools&per_page=200');
is($r->{json}{total}, $tools_total, 'category=tools includes its subcategories');
ok(!(grep { !grep { $_->{code} eq 'tools' } @{ $_->{category_path} } } @{ $r->{json}{items} }),
   'every card is under tools');
my %leaves = map { $_->{category} => 1 } @{ $r->{json}{items} };
ok(keys %leaves >= 2, 'cards from several subcategories');
$r = cat('/products?category=hand-tools&per_page=5');
ok(!(grep { $_->{category} ne 'hand-tools' } @{ $r->{json}{items} }), 'a leaf category');
is(cat('/products?category=no-such-thing')->code, 404, 'unknown category: 404');
is(cat('/products?category=no-such-thing')->{json}{error}{code}, 'category_not_found', 'category_not_found');

my @skus = map { $_->{sku} } @{ cat('/products?sort=sku&per_page=20')->{json}{items} };
is_deeply(\@skus, [sort @skus], 'sort=sku ascends');
is($skus[0], sql('SELECT min(sku) FROM products'), 'starting at the smallest SKU');
@skus = map { $_->{sku} } @{ cat('/products?sort=-sku&per_page=20')->{json}{items} };
is_deeply(\@skus, [reverse sort @skus], 'sort=-sku descends');
my @names = map { lc $_->{name} } @{ cat('/products?sort=name&per_page=30')->{json}{items} };
is_deeply(\@names, [sort @names], 'sort=name ascends (case-insensitive)');

# ---- the category tree ---------------------------------------------------------------
$r = cat('/categories');
is($r->code, 200, 'GET /catalog/categories');
my %node;
my $walk;
$walk = sub { for (@_) { $node{ $_->{code} } = $_; $walk->(@{ $_->{children} }) } };
$walk->(@{ $r->{json}{items} });
ok($node{tools} && $node{'hand-tools'}, 'tree has tools and hand-tools');
ok((grep { $_->{code} eq 'hand-tools' } @{ $node{tools}{children} }), 'hand-tools is a child of tools');
is($node{tools}{count}, $tools_total, 'a parent counts its subcategories');
is($node{'hand-tools'}{count},
   sql("SELECT count(*) FROM products p JOIN categories c ON c.id = p.category_id WHERE c.code = 'hand-tools'"),
   'leaf count');
my $sum = 0;
$sum += $_->{count} for @{ $r->{json}{items} };
is($sum, sql('SELECT count(*) FROM products WHERE active'), 'root counts add up to every product');

# ---- ETag, 304, Cache-Control, Vary ------------------------------------------------------
for my $path ('/products?per_page=5', '/products/SKU-00042', '/categories') {
    $r = cat($path);
    my $etag = $r->header('ETag');
    like($etag // '', qr/^"[0-9a-f]{16}"$/, "$path: strong ETag");
    like($r->header('Cache-Control') // '', qr/private/, "$path: Cache-Control private");
    like($r->header('Vary') // '', qr/Authorization/i, "$path: Vary names Authorization");
    like($r->header('Vary') // '', qr/X-B2B-Account/i, "$path: Vary names X-B2B-Account");
    my $nm = cat($path, headers => { 'If-None-Match' => $etag });
    is($nm->code, 304, "$path: If-None-Match gives 304");
    is($nm->content, '', "$path: 304 has no body");
    is($nm->header('ETag'), $etag, "$path: 304 repeats the ETag");
    is(cat($path, headers => { 'If-None-Match' => '"0000000000000000"' })->code, 200,
       "$path: another tag gives 200");
}
is(cat('/products/SKU-00042', headers => { 'If-None-Match' => '*' })->code, 304, 'If-None-Match: *');
my $na_etag = cat('/products/SKU-00042')->header('ETag');
my $other = api(GET => '/catalog/products/SKU-00042', user => 'globex-buyer');
isnt($other->header('ETag'), $na_etag, 'another account (its own price) gets another ETag');
$r = api(HEAD => '/catalog/products/SKU-00042', user => 'na-buyer');
is($r->code, 200, 'HEAD works');
is($r->header('ETag'), $na_etag, 'HEAD has the same ETag');

# ---- a product change reaches the cache at once -----------------------------------------
my $etag = cat('/products/SKU-00042')->header('ETag');
cat('/products?q=SKU-00042');                     # warm the list too
my $orig = sql("SELECT name FROM products WHERE sku = 'SKU-00042'");
sql("UPDATE products SET name = 'Brightline Screwdriver Set, Titanium Edition' WHERE sku = 'SKU-00042'");
my $t0 = time;
my $seen_new = wait_until(5, sub { cat('/products/SKU-00042')->{json}{name} =~ /Titanium/ });
ok($seen_new, 'detail shows the renamed product');
cmp_ok(time - $t0, '<=', 3, 'within a few seconds');
isnt(cat('/products/SKU-00042')->header('ETag'), $etag, 'the ETag changed');
ok(wait_until(5, sub { (cat('/products?q=Titanium+Edition')->{json}{items}[0]{sku} // '') eq 'SKU-00042' }),
   'search finds it by the new name');
is(cat('/products?q=SKU-00042')->{json}{items}[0]{name}, 'Brightline Screwdriver Set, Titanium Edition',
   'list cards show the new name');
sql("UPDATE products SET name = \$\$$orig\$\$ WHERE sku = 'SKU-00042'");
ok(wait_until(5, sub { cat('/products/SKU-00042')->{json}{name} eq $orig }), 'and back');

# an inactive product disappears everywhere
sql("UPDATE products SET active = false WHERE sku = 'SKU-00043'");
ok(wait_until(5, sub { cat('/products/SKU-00043')->code == 404 }), 'a deactivated product is 404');
is(cat('/products?q=SKU-00043')->{json}{total}, 0, 'and not found by search');
sql("UPDATE products SET active = true WHERE sku = 'SKU-00043'");
ok(wait_until(5, sub { cat('/products/SKU-00043')->code == 200 }), 'reactivated');

# ---- hostile input: 404 / empty / 4xx, never a 500 ------------------------------------------
my @hostile = ("' OR 1=1 --", "'); DROP TABLE products; --", "%27%3B", 'a & b | !c:*',
               "\\x00", "((((", "SKU-00042' OR '1'='1", '<script>alert(1)</script>',
               "\x{2603} snowman", 'x' x 200, "--", "'", '""', '*', ':*', '\\', 'a:*B & !',
               "sku 00042", "SKU%", "%", "_");
for my $s (@hostile) {
    my $enc = $s;
    utf8::encode($enc) if utf8::is_utf8($enc);
    $enc =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord $1)/ge;
    $r = cat("/products?q=$enc");
    ok($r->code == 200 || ($r->code >= 400 && $r->code < 500), "q='$s' is not a 5xx (" . $r->code . ')');
    ok($r->{json}, "q='$s' answers JSON");
}
for my $raw ('%zz', '%00', '%ff%fe', 'a%', ('x' x 1000)) {
    $r = cat("/products?q=$raw");
    ok($r->code >= 400 && $r->code < 500, "q=$raw: 4xx (" . $r->code . ')');
}
is(cat('/products?q=' . ('x' x 201))->code, 422, 'q over 200 bytes: 422');
is(cat("/products?q=%27%20OR%201%3D1%20--")->{json}{total} < sql('SELECT count(*) FROM products'), 1,
   'an injected q does not return everything');
for my $s ("SKU-00042'", "SKU-00042%27%20OR%20%271%27%3D%271", 'SKU-00042;', '..%2F..%2Fetc',
           '%00', 'NOPE', ('A' x 70), 'SKU-00042%20', '-SKU') {
    $r = cat("/products/$s");
    is($r->code, 404, "sku '$s' is 404");
}
for my $s ("hand-tools'", "hand-tools%27%20OR%201%3D1", ('a' x 80), '%27') {
    $r = cat("/products?category=$s");
    is($r->code, 404, "category '$s' is 404");
}
is(sql('SELECT count(*) > 0 FROM products'), 't', 'products intact');
is(sql('SELECT count(*) FROM catalog_cards') + 0, sql('SELECT count(*) FROM products WHERE active') + 0,
   'one card per active product');

# ---- a bracket rule added or removed reaches the card's brackets ------------------------------
sql("INSERT INTO price_rules (kind, product_id, min_qty, discount_bp, label)
     SELECT 'bracket', id, 20, 500, 'catalog.t' FROM products WHERE sku = 'SKU-00042'");
ok(wait_until(10, sub { (cat('/products/SKU-00042')->{json}{brackets}[0]{min_qty} // 0) == 20 }),
   'a new bracket at 20 shows on the detail');
sql("DELETE FROM price_rules WHERE label = 'catalog.t'");
ok(wait_until(10, sub { !@{ cat('/products/SKU-00042')->{json}{brackets} } }), 'and goes with the rule');

# ---- the benchmark's baseline builds the same page the slow way ------------------------------
$r = api(GET => '/_bench/catalog-naive?per_page=24', user => 'na-buyer');
is($r->code, 200, 'the naive catalog page (B2BDiagnostics On)');
my $fast = cat('/products?per_page=24')->{json};
is_deeply([map { [$_->{sku}, $_->{price}] } @{ $r->{json}{items} }],
          [map { [$_->{sku}, $_->{price}] } @{ $fast->{items} }],
          'same SKUs and prices as the catalog (the benchmark compares like with like)');
is($r->{json}{total}, $fast->{total}, 'same total');

done_testing();

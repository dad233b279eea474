# Catalog access along the account tree, per demo user: ACME-EMEA denies
# the category hazardous-materials, ACME-FR (below EMEA) allows it again
# (the nearest rule wins), GLOBEX denies the product group POWER-TOOLS. A
# product the caller may not see is a 404 everywhere, indistinguishable from
# one that does not exist; lists, search, counts and the category tree leave
# it out. Rules changed at run time take effect within a poll of the worker.
use strict;
use warnings;
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use B2BTest;

my $HAZMAT = 'SKU-00022';   # hazardous-materials, group CHEMICALS
my $POWER  = 'SKU-00013';   # power-tools, group POWER-TOOLS
my $HAND   = 'SKU-00042';   # hand-tools, group HAND-TOOLS

ok(wait_until(30, sub { api(GET => '/catalog/products?per_page=1', user => 'na-buyer')->code == 200 }),
   'catalog ready');

my $all = sql('SELECT count(*) FROM products WHERE active');
my $n_hazmat = sql("SELECT count(*) FROM products p JOIN categories c ON c.id = p.category_id
                    WHERE c.code = 'hazardous-materials'");
my $n_power = sql("SELECT count(*) FROM products p JOIN product_groups g ON g.id = p.product_group_id
                   WHERE g.code = 'POWER-TOOLS'");
ok($n_hazmat > 0 && $n_power > 0, 'the demo has hazmat and power tools');

# [user, acting account (undef: own), sees hazmat, sees power tools]
my @matrix = (
    ['acme-admin',   undef,       1, 1],
    ['acme-admin',   'ACME-NA',   1, 1],
    ['acme-admin',   'ACME-EMEA', 0, 1],
    ['acme-admin',   'ACME-FR',   1, 1],
    ['na-buyer',     undef,       1, 1],
    ['na-approver',  undef,       1, 1],
    ['west-buyer',   undef,       1, 1],
    ['emea-buyer',   undef,       0, 1],
    ['fr-buyer',     undef,       1, 1],
    ['globex-buyer', undef,       1, 0],
);

sub get {
    my ($user, $acct, $path, %h) = @_;
    my %headers = (%h, $acct ? ('X-B2B-Account' => $acct) : ());
    return api(GET => "/catalog$path", user => $user, headers => \%headers);
}

sub tree_codes {
    my %c;
    my $walk;
    $walk = sub { for (@_) { $c{ $_->{code} } = $_->{count}; $walk->(@{ $_->{children} }) } };
    $walk->(@_);
    return \%c;
}

for my $row (@matrix) {
    my ($user, $acct, $hazmat, $power) = @$row;
    my $who = $user . ($acct ? " as $acct" : '');
    my %sees = ($HAZMAT => $hazmat, $POWER => $power, $HAND => 1);
    for my $sku (sort keys %sees) {
        my $r = get($user, $acct, "/products/$sku");
        if ($sees{$sku}) {
            is($r->code, 200, "$who sees $sku");
            is($r->{json}{sku}, $sku, "$who: the right product");
        }
        else {
            is($r->code, 404, "$who: $sku is 404");
            is_deeply($r->{json}, get($user, $acct, '/products/SKU-99999')->{json},
                      "$who: hidden $sku looks exactly like a missing one");
        }
        my $s = get($user, $acct, "/products?q=$sku");
        is(scalar(grep { $_->{sku} eq $sku } @{ $s->{json}{items} || [] }), $sees{$sku} ? 1 : 0,
           "$who: search for $sku " . ($sees{$sku} ? 'finds' : 'does not find') . ' it');
    }
    my $want = $all - ($hazmat ? 0 : $n_hazmat) - ($power ? 0 : $n_power);
    my $list = get($user, $acct, '/products?per_page=1');
    is($list->code, 200, "$who lists the catalog");
    is($list->{json}{total}, $want, "$who: total counts only visible products ($want)");

    my $tree = tree_codes(@{ get($user, $acct, '/categories')->{json}{items} || [] });
    is(!!$tree->{'hazardous-materials'}, !!$hazmat, "$who: hazardous-materials in the tree: $hazmat");
    is(!!$tree->{'power-tools'}, !!$power, "$who: power-tools in the tree: $power");
    my $sum = 0;
    my $roots = get($user, $acct, '/categories')->{json}{items};
    $sum += $_->{count} for @$roots;
    is($sum, $want, "$who: the tree counts add up to the visible total");

    my $c = get($user, $acct, '/products?category=hazardous-materials&per_page=200');
    if ($hazmat) {
        is($c->{json}{total}, $n_hazmat, "$who: category hazardous-materials lists them");
    }
    else {
        is($c->code, 404, "$who: category hazardous-materials is 404");
    }
    $c = get($user, $acct, '/products?category=power-tools&per_page=1');
    is($c->code, $power ? 200 : 404, "$who: category power-tools: " . ($power ? 200 : 404));
}

# GLOBEX's isolation extends to prices: its own contract, never ACME's.
is_deeply(get('globex-buyer', undef, "/products/$HAND")->{json}{price}, { amount => '20.00', currency => 'USD' },
          'globex-buyer: SKU-00042 at the GLOBEX contract price 20.00 USD');
is_deeply(get('na-buyer', undef, "/products/$HAND")->{json}{price}, { amount => '17.25', currency => 'USD' },
          'na-buyer: the ACME-NA contract price 17.25 USD');
is_deeply(get('emea-buyer', undef, '/products/SKU-00060')->{json}{price}, { amount => '16.75', currency => 'EUR' },
          'emea-buyer: the ACME-EMEA contract on SKU-00060, in EUR');
is_deeply(get('acme-admin', 'ACME-NA', "/products/$HAND")->{json}{price}, { amount => '17.25', currency => 'USD' },
          'acme-admin acting for ACME-NA gets ACME-NA prices');

# Users without an account: no catalog (prices are per account).
for my $user ('portal-admin', 'erp') {
    my $r = api(GET => '/catalog/products', user => $user);
    is($r->code, 403, "$user has no catalog (no account)");
    is($r->{json}{error}{code}, 'no_account', "$user: no_account");
}
# Acting for an account the user may not act for: the identity layer's answer.
is(get('na-buyer', 'ACME-EMEA', '/products/SKU-00042')->code, 403, 'na-buyer acting for EMEA: 403');
is(get('emea-buyer', 'GLOBEX', '/products/SKU-00042')->code, 404, 'emea-buyer acting for GLOBEX: 404');
is(api(GET => '/catalog/products')->code, 401, 'anonymous: 401');

# Rules at run time: ACME-NA-WEST denies category tools but allows its
# subcategory hand-tools (at the same account the more specific rule wins);
# ACME-NA above it denies group HAND-TOOLS (farther away: loses).
my $west = sql("SELECT id FROM accounts WHERE code = 'ACME-NA-WEST'");
my $na = sql("SELECT id FROM accounts WHERE code = 'ACME-NA'");
sql("INSERT INTO catalog_access_rules (account_id, category_id, effect)
     SELECT $west, id, 'deny' FROM categories WHERE code = 'tools'");
sql("INSERT INTO catalog_access_rules (account_id, category_id, effect)
     SELECT $west, id, 'allow' FROM categories WHERE code = 'hand-tools'");
sql("INSERT INTO catalog_access_rules (account_id, product_group_id, effect)
     SELECT $na, id, 'deny' FROM product_groups WHERE code = 'HAND-TOOLS'");
ok(wait_until(5, sub { get('west-buyer', undef, "/products/$POWER")->code == 404 }),
   'west-buyer: a new deny on tools hides power tools within seconds');
is(get('west-buyer', undef, "/products/$HAND")->code, 200,
   'west-buyer: the allow on hand-tools (more specific, same account) wins');
is(get('na-buyer', undef, "/products/$HAND")->code, 404, 'na-buyer: the group deny on ACME-NA hides hand tools');
is(get('na-buyer', undef, "/products/$POWER")->code, 200, 'na-buyer: power tools are still visible');
is(get('acme-admin', undef, "/products/$HAND")->code, 200, 'acme-admin (ACME): unaffected by ACME-NA rules');
my $tools = sql("SELECT count(*) FROM products p JOIN categories c ON c.id = p.category_id
                 JOIN categories t ON t.id = c.parent_id WHERE t.code = 'tools'");
my $hand = sql("SELECT count(*) FROM products p JOIN categories c ON c.id = p.category_id WHERE c.code = 'hand-tools'");
is(get('west-buyer', undef, '/products?per_page=1')->{json}{total}, $all - $tools + $hand,
   'west-buyer total: everything but tools, hand-tools back');
sql("DELETE FROM catalog_access_rules WHERE account_id IN ($west, $na)");
ok(wait_until(5, sub { get('west-buyer', undef, "/products/$POWER")->code == 200 }),
   'rules removed: visible again');
is(get('na-buyer', undef, "/products/$HAND")->code, 200, 'na-buyer sees hand tools again');

# Moving a product into a hidden category hides it (the card's access key follows).
my $cat = sql("SELECT category_id FROM products WHERE sku = '$HAND'");
sql("UPDATE products SET category_id = (SELECT id FROM categories WHERE code = 'hazardous-materials')
     WHERE sku = '$HAND'");
ok(wait_until(5, sub { get('emea-buyer', undef, "/products/$HAND")->code == 404 }),
   'a product moved into hazardous-materials is hidden from EMEA');
# The quote (and the cart) ask the access index, which the worker rebuilds
# at every catalog version: the moment the catalog says 404, so does the quote.
my $quote = sub {
    api(POST => '/prices/quote', user => $_[0], body => { lines => [{ sku => $_[1], qty => 1 }] })->code;
};
is($quote->('emea-buyer', $HAND), 404, 'and quoting it is 404 for EMEA');
is($quote->('fr-buyer', $HAND), 200, 'FR (allowed hazmat again) still quotes it');
sql("UPDATE products SET category_id = $cat WHERE sku = '$HAND'");
ok(wait_until(5, sub { get('emea-buyer', undef, "/products/$HAND")->code == 200 }), 'and back');
is($quote->('emea-buyer', $HAND), 200, 'and EMEA quotes it again');

# A product taken off the catalog is not quotable either, and comes back.
sql("UPDATE products SET active = false WHERE sku = '$HAND'");
ok(wait_until(5, sub { get('na-buyer', undef, "/products/$HAND")->code == 404 }),
   'a deactivated product is gone from the catalog');
is($quote->('na-buyer', $HAND), 404, 'and from the quote');
sql("UPDATE products SET active = true WHERE sku = '$HAND'");
ok(wait_until(5, sub { get('na-buyer', undef, "/products/$HAND")->code == 200 }), 'reactivated');
# prices follow within the pricing worker's staleness bound (a change made
# in SQL, not through the admin API, publishes nothing on Redis)
ok(wait_until(15, sub { $quote->('na-buyer', $HAND) == 200 }), 'and quotable again');

# Those answers came from the index once it caught up with the catalog.
my $ix = sub { api(GET => '/admin/status', user => 'portal-admin')->{json}{catalog} };
ok(wait_until(5, sub { my $c = $ix->(); $c->{access_index}{version} == $c->{content_version} }),
   'the access index is at the catalog version');
my $before = $ix->()->{access_index};
ok($before->{in_service}, 'the index is in service');
is($before->{products}, sql('SELECT count(*) FROM catalog_cards'), 'it holds every card of the catalog');
is($quote->('emea-buyer', $HAZMAT), 404, 'EMEA: hazmat still 404 through the index');
is($quote->('fr-buyer', $HAZMAT), 200, 'FR: hazmat quotable through the index');
cmp_ok($ix->()->{access_index}{answers}, '>=', $before->{answers} + 2,
       'the index answered both (no database read per line)');

# The same decision in SQL, for other modules.
is(sql("SELECT b2b_catalog_visible((SELECT id FROM accounts WHERE code = 'ACME-EMEA'),
                                   (SELECT id FROM products WHERE sku = '$HAZMAT'))"), 'f',
   'b2b_catalog_visible: EMEA may not see hazmat');
is(sql("SELECT b2b_catalog_visible((SELECT id FROM accounts WHERE code = 'ACME-FR'),
                                   (SELECT id FROM products WHERE sku = '$HAZMAT'))"), 't',
   'b2b_catalog_visible: FR may');

# The cart asks the catalog too: a hidden product cannot be added, and a
# quick-order row naming it is rejected like an unknown one.
sql("DELETE FROM cart_lines; DELETE FROM carts");
my $add = api(POST => '/cart/lines', user => 'emea-buyer', body => { sku => $HAZMAT, qty => 1 });
is($add->code, 404, 'emea-buyer: adding hazmat to the cart is 404');
is($add->{json}{error}{code}, api(POST => '/cart/lines', user => 'emea-buyer',
                                 body => { sku => 'SKU-99999', qty => 1 })->{json}{error}{code},
   'the same error as for a SKU that does not exist');
is(api(POST => '/cart/lines', user => 'fr-buyer', body => { sku => $HAZMAT, qty => 1 })->code, 201,
   'fr-buyer (allowed again below EMEA) may add it');
is(api(POST => '/cart/lines', user => 'globex-buyer', body => { sku => $POWER, qty => 1 })->code, 404,
   'globex-buyer: power tools are 404 in the cart');
my $imp = api(POST => '/cart/import', user => 'emea-buyer', raw => "$HAZMAT,1\n$HAND,1\n",
              content_type => 'text/csv');
is(scalar(@{ $imp->{json}{rejected} || [] }), 1, 'quick order: the hazmat row is rejected');
is(scalar(@{ $imp->{json}{added} || [] }), 1, 'and the visible row added');
sql("DELETE FROM cart_lines; DELETE FROM carts");

# A quote of a product the caller may not see must be the same 404
# (mod_b2b_pricing asks b2b_catalog_visible).
{
    my $r = api(POST => '/prices/quote', user => 'emea-buyer',
                body => { lines => [{ sku => $HAZMAT, qty => 1 }] });
    is($r->code, 404, 'emea-buyer: quoting hazmat is 404');
    is($r->{json}{error}{code}, 'unknown_sku', 'the same answer as a SKU that does not exist');
    $r = api(POST => '/prices/quote', user => 'fr-buyer',
             body => { lines => [{ sku => $HAZMAT, qty => 1 }] });
    is($r->code, 200, 'fr-buyer (ACME-FR allows it again) may quote it');
}

done_testing();

# Full-text search over the read model: an exact SKU or an exact name ranks
# above partial matches; words match as prefixes and in any order; SKUs are
# found with or without their punctuation. Uses products of its own (removed
# at the end) so the ranking is known.
use strict;
use warnings;
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use B2BTest;

sub search {
    my ($q, %o) = @_;
    (my $enc = $q) =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord $1)/ge;
    my $r = api(GET => "/catalog/products?q=$enc" . ($o{args} ? "&$o{args}" : ''),
                user => $o{user} // 'na-buyer');
    return $r;
}
sub skus { map { $_->{sku} } @{ $_[0]->{json}{items} || [] } }

ok(wait_until(30, sub { api(GET => '/catalog/products?per_page=1', user => 'na-buyer')->code == 200 }),
   'catalog ready');

my @fixture = (
    # sku, name, description
    ['TQW-100',     'Torque Wrench',                          'Click-type torque wrench, 1/2 in drive.'],
    ['TQW-100-EXT', 'Torque Wrench Extension Bar',            'Extension for the TQW-100 torque wrench.'],
    ['TQW-CAL',     'Calibration Kit for Torque Wrench TQW-100', 'Keeps torque wrenches honest.'],
    ['ZXQ-7',       'Zephyr Quill Pen',                       'A fountain pen.'],
    ['ZXQ-70',      'Zephyr Quill Pen Refill Pack',           'Refills for the Zephyr quill pen.'],
);
END {
    eval { sql("DELETE FROM price_rules WHERE product_id IN (SELECT id FROM products WHERE sku IN ("
               . join(',', map { "'$_->[0]'" } @fixture) . '))');
           sql('DELETE FROM products WHERE sku IN (' . join(',', map { "'$_->[0]'" } @fixture) . ')') };
}
sql('DELETE FROM products WHERE sku IN (' . join(',', map { "'$_->[0]'" } @fixture) . ')');
for (@fixture) {
    my ($sku, $name, $desc) = @$_;
    sql("INSERT INTO products (sku, name, description, category_id, product_group_id)
         SELECT '$sku', \$\$$name\$\$, \$\$$desc\$\$, c.id, g.id
           FROM categories c, product_groups g WHERE c.code = 'hand-tools' AND g.code = 'HAND-TOOLS'");
    sql("INSERT INTO price_rules (kind, product_id, currency, price_minor)
         SELECT 'list', id, 'USD', 9900 FROM products WHERE sku = '$sku'");
    sql("INSERT INTO stock (product_id, on_hand) SELECT id, 5 FROM products WHERE sku = '$sku'");
}
ok(wait_until(10, sub { (search('TQW-100')->{json}{items}[0]{sku} // '') eq 'TQW-100' }),
   'new products are searchable at once');

# exact SKU first, then the partial matches
my @r = skus(search('TQW-100'));
is($r[0], 'TQW-100', 'exact SKU ranks first');
ok((grep { $_ eq 'TQW-100-EXT' } @r), 'a longer SKU with that prefix is found too');
is(scalar(grep { /^TQW-/ } @r), 3, 'and the product naming it in its name');
is((skus(search('tqw-100')))[0], 'TQW-100', 'case does not matter');
is((skus(search('TQW100')))[0], 'TQW-100', 'nor punctuation in a SKU');
is((skus(search('ZXQ-7')))[0], 'ZXQ-7', 'ZXQ-7 beats ZXQ-70');
is((skus(search('ZXQ-70')))[0], 'ZXQ-70', 'and the other way round');

# exact name first
@r = skus(search('Torque Wrench'));
is($r[0], 'TQW-100', 'exact name ranks first');
is_deeply([sort @r[0 .. 2]], [sort qw(TQW-100 TQW-100-EXT TQW-CAL)], 'then the partial matches');
is((skus(search('torque   WRENCH')))[0], 'TQW-100', 'spacing and case are normalised');
@r = skus(search('Zephyr Quill Pen'));
is($r[0], 'ZXQ-7', 'exact name beats the longer name');

# prefixes, any order, stemming
is_deeply([sort(skus(search('torq wren')))], [sort qw(TQW-100 TQW-100-EXT TQW-CAL)],
          'word prefixes match');
is_deeply([sort(skus(search('wrench torque')))], [sort qw(TQW-100 TQW-100-EXT TQW-CAL)],
          'word order does not matter');
ok((grep { $_ eq 'ZXQ-70' } skus(search('refills'))), 'plural / stem: refills finds Refill');
is_deeply([skus(search('extension torque'))], ['TQW-100-EXT'], 'all words must match');
is(search('torque xylophone')->{json}{total}, 0, 'a word nothing has: no results');
ok((grep { $_ eq 'TQW-CAL' } skus(search('honest'))), 'the description is searched');

# demo products: the SKU forms buyers type
is((skus(search('SKU-00042')))[0], 'SKU-00042', 'SKU-00042 exact');
is((skus(search('sku 00042')))[0], 'SKU-00042', '"sku 00042" finds SKU-00042 first');
my @p = skus(search('SKU-0004', args => 'per_page=20'));
ok(@p >= 10 && !(grep { !/^SKU-0004/ } @p), 'a partial SKU finds the SKUs starting with it');
ok((grep { $_ eq 'SKU-00001' } skus(search('Hex Bolt M4', args => 'per_page=100'))), 'name words across a card');

# sorting a search by something else than relevance
my @by_sku = skus(search('Torque Wrench', args => 'sort=-sku'));
is_deeply(\@by_sku, [sort { $b cmp $a } @by_sku], 'a search can be sorted by SKU');

# search with a category, and the caller's visibility
is_deeply([sort(skus(search('torque', args => 'category=tools')))], [sort qw(TQW-100 TQW-100-EXT TQW-CAL)],
          'search within a parent category');
is(search('torque', args => 'category=valves')->{json}{total}, 0, 'and not in another');
ok(!(grep { $_ eq 'SKU-00022' } skus(search('SKU-00022', user => 'emea-buyer'))),
   'a hidden product is never a search result');

# stop words only, punctuation only: nothing, and no error
for my $q ('the', 'and or', '---', '...', '&|!') {
    my $r = search($q);
    is($r->code, 200, "q='$q' is fine");
}

done_testing();

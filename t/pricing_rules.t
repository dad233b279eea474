# The operator's price rules: validation, create/read/update/delete, the
# preview that changes nothing, and every change priced within moments.
use strict;
use warnings;
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use B2BTest;

sub unit { my ($user, $sku, %o) = @_;
    my $r = api(POST => '/prices/quote', user => $user,
                body => { lines => [{ sku => $sku, qty => $o{qty} // 1 }] });
    return $r->code == 200 ? $r->{json}{lines}[0]{unit_price}{amount} : 'HTTP ' . $r->code }
sub admin { api($_[0], "/admin/price-rules$_[1]", user => 'portal-admin',
                ($_[2] ? (body => $_[2]) : ())) }
sub status { api(GET => '/admin/status', user => 'portal-admin')->{json}{pricing} }

wait_until(20, sub { unit('na-buyer', 'SKU-00042') eq '17.25' });
is(unit('na-buyer', 'SKU-00300'), unit('na-buyer', 'SKU-00300'), 'prices are stable');
my $before = unit('na-buyer', 'SKU-00300');
like($before, qr/^\d+\.\d\d$/, "SKU-00300 costs ACME-NA $before before");

# only operators
my $r = api(POST => '/admin/price-rules', user => 'acme-admin',
            body => { kind => 'contract', account => 'ACME-NA', sku => 'SKU-00300',
                      price => { amount => '1.00', currency => 'USD' } });
is($r->code, 403, 'an account admin may not write price rules');
is(api(GET => '/admin/price-rules', user => 'na-buyer')->code, 403, 'nor may a buyer read them');

# validation: the field at fault, nothing written
my $count = sql('SELECT count(*) FROM price_rules');
for my $case (
    [ { account => 'ACME-NA', sku => 'SKU-00300' }, 'no kind' ],
    [ { kind => 'discount', account => 'ACME-NA' }, 'unknown kind' ],
    [ { kind => 'contract', account => 'NOPE', sku => 'SKU-00300', price => { amount => '1.00', currency => 'USD' } }, 'unknown account' ],
    [ { kind => 'contract', account => 'ACME-NA', sku => 'SKU-99999', price => { amount => '1.00', currency => 'USD' } }, 'unknown sku' ],
    [ { kind => 'contract', account => 'ACME-NA', sku => 'SKU-00300', price => { amount => '1.001', currency => 'USD' } }, 'sub-cent price' ],
    [ { kind => 'contract', account => 'ACME-NA', sku => 'SKU-00300', price => { amount => 1.5, currency => 'USD' } }, 'price as a float' ],
    [ { kind => 'contract', account => 'ACME-NA', sku => 'SKU-00300', discount_percent => '120' }, 'discount over 100%' ],
    [ { kind => 'contract', sku => 'SKU-00300', price => { amount => '1.00', currency => 'USD' } }, 'contract without account' ],
    [ { kind => 'contract', account => 'ACME-NA', sku => 'SKU-00300', price => { amount => '1.00', currency => 'USD' },
        valid_from => '2030-01-01', valid_to => '2029-01-01' }, 'validity backwards' ],
) {
    $r = admin(POST => '', $case->[0]);
    is($r->code, 422, "$case->[1]: 422");
    ok($r->{json}{error}{code}, "$case->[1]: JSON error ($r->{json}{error}{message})");
}
is(sql('SELECT count(*) FROM price_rules'), $count, 'nothing was written');

# preview: what would change, before anything does
$r = admin(POST => '/preview', { kind => 'contract', account => 'ACME-NA', sku => 'SKU-00300',
                                 price => { amount => '3.33', currency => 'USD' } });
is($r->code, 200, 'preview answers');
is($r->{json}{affected}{skus}, 1, 'preview: one SKU');
ok($r->{json}{affected}{accounts} >= 1, "preview: $r->{json}{affected}{accounts} account(s) (ACME-NA and below)");
my ($s) = grep { $_->{account} eq 'ACME-NA' } @{ $r->{json}{samples} || [] };
is($s->{before}{amount}, $before, 'preview: the price now');
is($s->{after}{amount}, '3.33', 'preview: the price after');
is(sql('SELECT count(*) FROM price_rules'), $count, 'preview wrote nothing');
is(unit('na-buyer', 'SKU-00300'), $before, 'preview changed no price');

# create: priced at once (the same node rebuilds only that scope)
my $inc = status()->{builds_incremental};
$r = admin(POST => '', { kind => 'contract', account => 'ACME-NA', sku => 'SKU-00300',
                         price => { amount => '3.33', currency => 'USD' } });
is($r->code, 201, 'create: 201');
my $id = $r->{json}{id};
ok($id, "the rule has id $id");
like($r->header('Location') // '', qr{/admin/price-rules/$id$}, 'Location names it');
ok(wait_until(5, sub { unit('na-buyer', 'SKU-00300') eq '3.33' }), 'the buyer pays the new price');
cmp_ok(status()->{builds_incremental}, '>', $inc, 'by an incremental rebuild');
is(unit('emea-buyer', 'SKU-00300') eq '3.33' ? 'leak' : 'ok', 'ok', 'ACME-EMEA is not affected');

$r = admin(GET => "/$id");
is($r->{json}{price}{amount}, '3.33', 'read back');
is($r->{json}{account}, 'ACME-NA', 'with codes, not ids');
$r = admin(GET => '?sku=SKU-00300&kind=contract');
ok((grep { $_->{id} == $id } @{ $r->{json}{items} || [] }), 'listed with filters');

# update
$r = admin(PUT => "/$id", { kind => 'contract', account => 'ACME-NA', sku => 'SKU-00300',
                            price => { amount => '4.44', currency => 'USD' } });
is($r->code, 200, 'update: 200');
ok(wait_until(5, sub { unit('na-buyer', 'SKU-00300') eq '4.44' }), 'the update is priced');

# the change log says what changed and where
my ($kind) = map { $_->[0] } sql_rows("SELECT scope_kind FROM price_rule_changes WHERE rule_id = $id ORDER BY version DESC LIMIT 1");
ok($kind && $kind ne 'all', "the change log names a narrow scope ($kind)");

# delete
$r = admin(DELETE => "/$id");
is($r->code, 200, 'delete: 200');
ok(wait_until(5, sub { unit('na-buyer', 'SKU-00300') eq $before }), 'the old price is back');
is(admin(GET => "/$id")->code, 404, 'gone');
is(admin(DELETE => "/$id")->code, 404, 'deleting twice: 404');
is(admin(GET => '/abc')->code, 404, 'a non-numeric id: 404');

# a tier change reaches everyone on that tier (a full rebuild)
$r = admin(POST => '', { kind => 'tier', tier => 'GOLD', sku => 'SKU-00301',
                         discount_percent => '50.00' });
is($r->code, 201, 'tier rule created');
my $tid = $r->{json}{id};
ok(wait_until(5, sub { my $p = unit('na-buyer', 'SKU-00301'); $p =~ /^\d/ }), 'still priced');
admin(DELETE => "/$tid");
done_testing();

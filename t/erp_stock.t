# Stock between the ERP and the portal: levels pulled by the worker every
# B2BErpStockInterval (2 s here) and pushed by the ERP to POST /erp/stock;
# the reconciliation report shows drift, it does not patch it.
use strict;
use warnings;
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use B2BTest;
use B2BErpTest;
use POSIX qw(strftime);

plan tests => 35;

my @SKU = qw(SKU-01961 SKU-01962 SKU-01963);
sub portal { sql("SELECT s.on_hand || '/' || s.reserved FROM stock s JOIN products p ON p.id = s.product_id WHERE p.sku = '$_[0]'") }
sub erp_row { sql("SELECT e.on_hand || '/' || e.source FROM erp_stock e JOIN products p ON p.id = e.product_id WHERE p.sku = '$_[0]'") // '' }
sub recon { api(GET => '/admin/stock/reconciliation' . ($_[0] // ''), user => 'portal-admin') }
sub drift_of {
    my ($res, $sku) = @_;
    my ($it) = grep { $_->{sku} eq $sku } @{ $res->{json}{items} || [] };
    return $it ? $it->{drift} : 0;
}
sub iso_now { strftime('%Y-%m-%dT%H:%M:%SZ', gmtime(time + ($_[0] // 0))) }

sim_mode(mode => 'ok');
# what an earlier run left (a level pushed with a later as_of wins over a pull)
my $skus = join ',', map { "'$_'" } @SKU;
sql("DELETE FROM erp_stock WHERE product_id IN (SELECT id FROM products WHERE sku IN ($skus))");
sql("UPDATE stock SET erp_as_of = NULL FROM products p WHERE p.id = stock.product_id AND p.sku IN ($skus)");
my %reserved0 = map { $_ => (split m{/}, portal($_))[1] } @SKU;

# ---- pulled ----
sim_set_stock([ $SKU[0], 50 ], [ $SKU[1], 7 ], [ $SKU[2], -3 ]);
ok(wait_until(15, sub { erp_row($SKU[2]) eq '-3/pull' }), 'the worker pulls the ERP levels');
is(erp_row($SKU[0]), '50/pull', "$SKU[0]: the ERP's level is kept as it is");
like(portal($SKU[0]), qr{^50/}, '... and the portal stock follows it');
like(portal($SKU[2]), qr{^0/}, 'a negative ERP level leaves the portal at 0');
my $r = api(GET => '/admin/status', user => 'portal-admin');
ok($r->{json}{erp}{stock_pull}{last_ok_at}, 'status: when stock was last pulled');

# ---- the report ----
$r = recon();
is($r->code, 200, 'GET /admin/stock/reconciliation');
is(drift_of($r, $SKU[0]), 0, "$SKU[0] is in step: not listed");
is(drift_of($r, $SKU[2]), 3, "$SKU[2]: the portal offers 0, the ERP says -3: drift 3");
ok($r->{json}{summary}{skus_compared} >= 3, 'the summary counts the SKUs compared');
$r = recon('?all=1&per_page=200');
my ($row) = grep { $_->{sku} eq $SKU[1] } @{ $r->{json}{items} };
is_deeply($row && [ $row->{erp}{on_hand}, $row->{portal}{on_hand}, $row->{drift} ], [ 7, 7, 0 ],
          '?all=1 lists the SKUs in step too');
is(api(GET => '/admin/stock/reconciliation', user => 'na-buyer')->code, 403, 'buyers may not see it');
is(recon('?per_page=0')->code, 422, 'per_page 0: 422');

# Drift made visible: someone changes portal stock by hand; the next pulls
# bring only what changed at the ERP, so the report keeps showing it.
sql("UPDATE stock SET on_hand = on_hand + 5 FROM products p WHERE p.id = stock.product_id AND p.sku = '$SKU[0]'");
sleep 3;
is(drift_of(recon(), $SKU[0]), 5, 'stock changed by hand shows as drift 5, and stays visible');
# A reserved counter that no open order explains is drift too.
sql("UPDATE stock SET reserved = reserved + 2 FROM products p WHERE p.id = stock.product_id AND p.sku = '$SKU[1]'");
is(drift_of(recon(), $SKU[1]), -2, 'units reserved by no open order: drift -2');
sql("UPDATE stock SET reserved = reserved - 2 FROM products p WHERE p.id = stock.product_id AND p.sku = '$SKU[1]'");
# Open orders the ERP has not seen are not drift: their units are reserved
# in the portal and still on hand at the ERP.
my @held = make_orders(2, sku => $SKU[1], qty => 3, hold => 3600);
is(drift_of(recon(), $SKU[1]), 0, 'open reservations of queued orders are not drift');
sql("DELETE FROM orders WHERE id IN (" . join(',', @held) . ")");
sql("UPDATE stock SET reserved = $reserved0{$SKU[1]} FROM products p WHERE p.id = stock.product_id AND p.sku = '$SKU[1]'");

# ---- pushed ----
$r = api(POST => '/erp/stock', user => 'erp', body => [ { sku => $SKU[0], on_hand => 40, as_of => iso_now() } ]);
is($r->code, 200, 'POST /erp/stock');
is_deeply([ @{ $r->{json} }{qw(received applied stale)} ], [ 1, 1, 0 ], '... one level applied');
is(erp_row($SKU[0]), '40/push', '... kept as the ERP sent it');
like(portal($SKU[0]), qr{^40/}, '... the portal follows it');
is(drift_of(recon(), $SKU[0]), 0, '... and the drift is gone');
$r = api(POST => '/erp/stock', user => 'erp',
         body => { items => [ { sku => $SKU[0], on_hand => 1, as_of => '2020-01-01T00:00:00Z' } ] });
is_deeply([ @{ $r->{json} }{qw(applied stale)} ], [ 0, 1 ], 'a level older than the one on file is ignored');
like(portal($SKU[0]), qr{^40/}, '... the portal keeps 40');
$r = api(POST => '/erp/stock', user => 'erp', body => [ { sku => 'NO-SUCH-SKU', on_hand => 1, as_of => iso_now() },
                                                       { sku => $SKU[1], on_hand => 9, as_of => '2031-01-01' } ]);
is_deeply($r->{json}{unknown_skus}, ['NO-SUCH-SKU'], 'unknown SKUs are named, the rest applied');
like(portal($SKU[1]), qr{^9/}, '... (a date alone is a time too)');
is(api(POST => '/erp/stock', user => 'erp', body => [])->code, 200, 'an empty list: 200');
# A mistyped year must not freeze the SKU until then.
api(POST => '/erp/stock', user => 'erp', body => [ { sku => $SKU[2], on_hand => 1, as_of => '2099-01-01T00:00:00Z' } ]);
$r = api(POST => '/erp/stock', user => 'erp', body => [ { sku => $SKU[2], on_hand => 2, as_of => iso_now(600) } ]);
is($r->{json}{applied}, 1, 'a level dated 2099 counts as now: a later one still applies');
like(portal($SKU[2]), qr{^2/}, '... and the portal follows it');

# ---- refused, nothing written ----
for my $bad ([ {} , 'an object without items' ],
             [ [ { sku => $SKU[0], on_hand => '5', as_of => iso_now() } ], 'on_hand as a string' ],
             [ [ { sku => $SKU[0], on_hand => 5, as_of => 'yesterday' } ], 'as_of not a time' ],
             [ [ { sku => $SKU[0], on_hand => 5, as_of => '2026-02-30T00:00:00Z' } ], 'as_of on 30 February' ],
             [ [ { sku => $SKU[0], on_hand => 5, as_of => iso_now() }, { on_hand => 1, as_of => iso_now() } ],
               'one item without a sku' ]) {
    my $res = api(POST => '/erp/stock', user => 'erp', body => $bad->[0]);
    is($res->code, 422, "$bad->[1]: 422");
}
like(portal($SKU[0]), qr{^40/}, 'nothing of a refused list was applied');
is(api(POST => '/erp/stock', user => 'portal-admin', body => [])->code, 403, 'only the integration user pushes');
is(api(POST => '/erp/stock', user => 'erp', raw => '[{', content_type => 'application/json')->code, 400,
   'malformed JSON: 400');

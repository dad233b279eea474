# Consolidated invoicing at the invoicing ancestor: ACME invoices the orders
# of its whole tree for a month, one invoice per currency, one line per
# order; who may issue and who may see; running twice invoices nothing twice.
use strict;
use warnings;
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use B2BTest;
use JSON::PP ();

my $seq = 0;
sub n { sql($_[0]) + 0 }
sub reset_orders {
    sql("TRUNCATE invoice_lines, invoices, order_history, order_lines, outbox, orders CASCADE");
    sql("DELETE FROM cart_lines; DELETE FROM carts");
    sql("UPDATE stock SET reserved = 0 WHERE reserved <> 0");
    sql("UPDATE accounts SET credit_used_minor = 0 WHERE credit_used_minor <> 0");
}
sub place {
    my ($user, $qty, $account) = @_;
    my $r = api(POST => '/orders', user => $user,
                body => { po_number => "INV-PO-" . ++$seq, lines => [{ sku => 'SKU-00042', qty => $qty // 1 }] },
                headers => { 'Idempotency-Key' => "invoices-t-$$-$seq",
                             ($account ? ('X-B2B-Account' => $account) : ()) });
    die "order for $user: " . $r->decoded_content unless $r->code == 201;
    return $r->{json};
}
sub run { my ($user, $body) = @_; api(POST => '/invoices/run', user => $user, body => $body) }

ok(wait_until(30, sub { api(POST => '/prices/quote', user => 'na-buyer',
                            body => { lines => [{ sku => 'SKU-00042', qty => 1 }] })->code == 200 }),
   'the pricing snapshot is in service') or BAIL_OUT('no pricing snapshot');
reset_orders();
my $on_hand42 = n("SELECT on_hand FROM stock s JOIN products p ON p.id = s.product_id WHERE p.sku = 'SKU-00042'");
sql("UPDATE stock SET on_hand = 100000 FROM products p WHERE p.id = stock.product_id AND p.sku = 'SKU-00042'");
my $month = sql("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM')");

# orders across both companies; some not invoiceable
my $na1 = place('na-buyer', 2);                         # 34.50 USD
my $na2 = place('na-buyer', 4);                         # 69.00 USD
my $west = place('west-buyer', 1);                      # 17.25 USD
my $emea = place('emea-buyer', 10);                     # 229.00 + 43.51 EUR
my $fr = place('fr-buyer', 1);                          # 22.90 + 4.58 EUR
my $pending = place('na-buyer', 300);                   # needs approval: not invoiced
my $cancelled = place('na-buyer', 1);
api(POST => "/orders/$cancelled->{id}/cancel", user => 'na-buyer');
my $globex = place('globex-buyer', 3);
is($pending->{status}, 'pending_approval', 'one order waits for approval');
# an order placed last month belongs to last month's invoice
sql("UPDATE orders SET created_at = date_trunc('month', now()) - interval '1 day' WHERE id = $na2->{id}");

# ---- who may issue ----------------------------------------------------------------------------
my $r = run('na-buyer', { account => 'ACME', period => $month });
is($r->code, 403, 'a buyer of a division may not invoice the group');
$r = run('na-approver', { account => 'ACME-NA', period => $month });
is($r->code, 403, 'an approver is not an account admin');
$r = run('globex-buyer', { account => 'ACME', period => $month });
is($r->code, 404, 'another company: 404');
$r = run('acme-admin', { account => 'ACME-NA', period => $month });
is($r->code, 422, 'ACME-NA is not an invoicing account');
is($r->{json}{error}{code}, 'not_invoicing_account', 'not_invoicing_account');
like($r->{json}{error}{message}, qr/ACME\b/, 'the message names the invoicing ancestor');
for my $bad ({ account => 'ACME', period => '2025-13' }, { account => 'ACME', period => 'June' },
             { account => 'ACME', period => '2999-01' }, { account => 42 }, [1]) {
    $r = run('acme-admin', $bad);
    is($r->code, 422, 'bad input: 422 (' . JSON::PP->new->canonical->encode($bad) . ')');
}
is(n("SELECT count(*) FROM invoices"), 0, 'nothing issued so far');

# ---- issue the month ----------------------------------------------------------------------------
$r = run('acme-admin', { account => 'ACME', period => $month });
is($r->code, 201, 'acme-admin issues ACME\'s invoices for this month') or diag($r->decoded_content);
my @inv = @{ $r->{json}{invoices} || [] };
is(scalar @inv, 2, 'two invoices: one per currency');
my ($eur) = grep { $_->{currency} eq 'EUR' } @inv;
my ($usd) = grep { $_->{currency} eq 'USD' } @inv;
is($usd->{account}, 'ACME', 'issued at ACME');
is_deeply([sort { $a <=> $b } map { $_->{order_id} } @{ $usd->{lines} }],
          [sort { $a <=> $b } $na1->{id}, $west->{id}], 'USD: the NA and NA-WEST orders of the month');
is_deeply([sort { $a <=> $b } map { $_->{order_id} } @{ $eur->{lines} }],
          [sort { $a <=> $b } $emea->{id}, $fr->{id}], 'EUR: the EMEA and FR orders');
is($usd->{totals}{net}{amount}, '51.75', 'USD net 34.50 + 17.25');
is($eur->{totals}{net}{amount}, '251.90', 'EUR net 229.00 + 22.90');
is($eur->{totals}{tax}{amount}, sprintf('%.2f', 43.51 + 4.58), 'EUR tax: the VAT of both countries');
is($eur->{totals}{gross}{amount}, sprintf('%.2f', 251.90 + 43.51 + 4.58), 'gross = net + tax');
is($usd->{order_count}, 2, 'order_count');
like($usd->{number}, qr/^INV-\d{6}-\d{6}$/, "a number: $usd->{number}");
is($usd->{period}{start}, "$month-01T00:00:00Z", 'the period');
my %line = map { $_->{order_id} => $_ } @{ $usd->{lines} };
is($line{$west->{id}}{account}, 'ACME-NA-WEST', 'each line names the ordering account');
is($line{$west->{id}}{po_number}, $west->{po_number}, 'and its PO number');
ok(!grep({ $_->{order_id} == $pending->{id} || $_->{order_id} == $cancelled->{id} }
         map { @{ $_->{lines} } } @inv), 'pending and cancelled orders are not invoiced');
ok(!grep({ $_->{order_id} == $globex->{id} } map { @{ $_->{lines} } } @inv), 'Globex is not in ACME\'s invoice');
is(api(GET => "/orders/$na1->{id}", user => 'na-buyer')->{json}{invoice}{number}, $usd->{number},
   'the order names its invoice');

$r = run('acme-admin', { account => 'ACME', period => $month });
is($r->code, 200, 'running again: 200');
is_deeply($r->{json}{invoices}, [], 'nothing new to invoice');
is(n("SELECT count(*) FROM invoice_lines"), 4, 'every order invoiced once');
my $late = place('west-buyer', 2);
$r = run('acme-admin', { account => 'ACME', period => $month });
is($r->code, 201, 'a later order of the same month');
is(scalar @{ $r->{json}{invoices} }, 1, 'goes on a new invoice');
is($r->{json}{invoices}[0]{lines}[0]{order_id}, $late->{id}, 'with just that order');
$r = run('acme-admin', { account => 'ACME' });
is($r->code, 201, 'no period: last month');
is($r->{json}{invoices}[0]{lines}[0]{order_id}, $na2->{id}, 'the order of last month');
$r = run('portal-admin', { account => 'GLOBEX', period => $month });
is($r->code, 201, 'an operator issues Globex\'s invoice');
my $gid = $r->{json}{invoices}[0]{id};

# ---- two runs at once invoice each order once ------------------------------------------------------
place('emea-buyer', 1) for 1 .. 3;
my @pids;
for (1 .. 4) {
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        Apache::TestRequest::user_agent(reset => 1, keep_alive => 0);
        run('acme-admin', { account => 'ACME', period => $month });
        require POSIX;
        POSIX::_exit(0);
    }
    push @pids, $pid;
}
waitpid($_, 0) for @pids;
is(n("SELECT count(*) FROM invoice_lines l JOIN orders o ON o.id = l.order_id "
     . "JOIN accounts a ON a.id = o.account_id WHERE a.code = 'ACME-EMEA'"), 4,
   'four parallel runs: the three new EMEA orders are invoiced once each');
is(n("SELECT count(*) FROM orders o WHERE o.invoice_id IS NOT NULL AND NOT EXISTS "
     . "(SELECT 1 FROM invoice_lines l WHERE l.order_id = o.id AND l.invoice_id = o.invoice_id)"), 0,
   'orders and invoice lines agree');

# ---- who may see -------------------------------------------------------------------------------------
my $uid = $usd->{id};
is(api(GET => "/invoices/$uid", user => 'acme-admin')->code, 200, 'acme-admin reads the ACME invoice');
is(api(GET => "/invoices/$uid", user => 'portal-admin')->code, 200, 'so does an operator');
for my $u (qw(na-buyer na-approver emea-buyer west-buyer globex-buyer)) {
    is(api(GET => "/invoices/$uid", user => $u)->code, 404, "$u may not see ACME's invoice (404)");
}
is(api(GET => "/invoices/$gid", user => 'globex-buyer')->code, 200, "globex-buyer reads Globex's invoice");
is(api(GET => "/invoices/$gid", user => 'acme-admin')->code, 404, "acme-admin may not see Globex's (404)");
is(api(GET => '/invoices/abc', user => 'acme-admin')->code, 404, 'a bad id: 404');
$r = api(GET => '/invoices', user => 'acme-admin');
is($r->{json}{total}, n("SELECT count(*) FROM invoices i JOIN accounts a ON a.id = i.account_id WHERE a.code = 'ACME'"),
   'GET /invoices lists ACME\'s invoices for acme-admin');
ok(!grep({ $_->{account} ne 'ACME' } @{ $r->{json}{items} }), 'and only those');
$r = api(GET => "/invoices?period=$month", user => 'acme-admin');
ok(!grep({ $_->{period}{start} ne "$month-01T00:00:00Z" } @{ $r->{json}{items} }), 'period filter');
is(api(GET => '/invoices?period=2025-1', user => 'acme-admin')->code, 400, 'a bad period filter: 400');
is_deeply(api(GET => '/invoices', user => 'na-buyer')->{json}{items}, [], 'na-buyer sees none');
is(api(GET => '/invoices', user => 'globex-buyer')->{json}{total}, 1, 'globex-buyer sees Globex\'s');
is(api(GET => '/invoices', user => 'portal-admin')->{json}{total}, n("SELECT count(*) FROM invoices"),
   'an operator sees all');

reset_orders();
sql("UPDATE stock SET on_hand = $on_hand42 FROM products p WHERE p.id = stock.product_id AND p.sku = 'SKU-00042'");
done_testing();

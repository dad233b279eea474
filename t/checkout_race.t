# Checkout under real concurrency: many forked clients, each with its own
# connection, released at the same instant.
#   - 50 buyers check out the last 10 units: exactly 10 orders, stock never
#     negative, the 40 others get 409 and keep their carts;
#   - ACME-NA (USD) and ACME-EMEA (EUR) spend ACME's shared 50,000.00 USD
#     credit in parallel: the limit is never exceeded, and what is used is
#     exactly what the accepted orders were charged;
#   - 20 requests with one Idempotency-Key: one order, every answer names it
#     (also when the stock for a second order is no longer there).
use strict;
use warnings;
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use B2BTest;
use JSON::PP ();
use LWP::UserAgent ();
use HTTP::Request ();
use MIME::Base64 ();
use POSIX ();

my $HASH = '$2y$10$9NDLtomTUHirRPIuhzh7IuBhkF1SjsWpt2/gmRGh6A8uInUHqtR5C';   # "demo"
my $json = JSON::PP->new->canonical;
sub n { sql($_[0]) + 0 }
sub reset_orders {
    sql("TRUNCATE invoice_lines, invoices, order_history, order_lines, outbox, orders CASCADE");
    sql("DELETE FROM cart_lines; DELETE FROM carts");
    sql("UPDATE stock SET reserved = 0 WHERE reserved <> 0");
    sql("UPDATE accounts SET credit_used_minor = 0 WHERE credit_used_minor <> 0");
}
sub stock_of { my $sku = shift;
    my ($row) = sql_rows("SELECT s.on_hand, s.reserved FROM stock s JOIN products p ON p.id = s.product_id "
                         . "WHERE p.sku = '$sku'");
    return @$row }
sub set_stock { my ($sku, $on_hand) = @_;
    sql("UPDATE stock SET on_hand = $on_hand, reserved = 0 FROM products p "
        . "WHERE p.id = stock.product_id AND p.sku = '$sku'") }

# Runs every request in its own process, all released together; returns
# [code, decoded body] per request, in the order given.
sub parallel {
    my @reqs = @_;                      # { user, method, path, body, headers }
    pipe(my $go_r, my $go_w) or die "pipe: $!";
    my @kids;
    for my $i (0 .. $#reqs) {
        pipe(my $res_r, my $res_w) or die "pipe: $!";
        my $pid = fork();
        die "fork: $!" unless defined $pid;
        if (!$pid) {
            close $go_w;
            close $res_r;
            my $q = $reqs[$i];
            my $ua = LWP::UserAgent->new(keep_alive => 0, timeout => 60);
            my $req = HTTP::Request->new($q->{method} // 'POST',
                Apache::TestRequest::resolve_url("/api/v1$q->{path}"));
            $req->header(Authorization => 'Basic '
                . MIME::Base64::encode_base64("$q->{user}:demo", ''));
            if ($q->{body}) {
                $req->header('Content-Type' => 'application/json');
                $req->content($json->encode($q->{body}));
            }
            $req->header($_ => $q->{headers}{$_}) for keys %{ $q->{headers} || {} };
            <$go_r>;                    # blocks until the parent closes the pipe
            my $res = $ua->request($req);
            print {$res_w} $res->code, "\n", $res->decoded_content // '';
            close $res_w;
            POSIX::_exit(0);
        }
        close $res_w;
        push @kids, [$pid, $res_r];
    }
    close $go_r;
    close $go_w;                        # go
    my @out;
    for my $k (@kids) {
        my ($pid, $fh) = @$k;
        local $/;
        my $text = <$fh> // '';
        waitpid($pid, 0);
        my ($code, $body) = split /\n/, $text, 2;
        push @out, [$code // 0, eval { $json->decode($body // '') }];
    }
    return @out;
}

sub make_users {
    my ($prefix, $account, $n) = @_;
    sql("INSERT INTO users (username, password_hash, display_name, account_id) "
        . "SELECT format('%s-%s', '$prefix', lpad(i::text, 2, '0')), '$HASH', 'Race buyer', a.id "
        . "FROM generate_series(1, $n) i, accounts a WHERE a.code = '$account' ON CONFLICT DO NOTHING");
    sql("INSERT INTO memberships (user_id, account_id, role) SELECT u.id, u.account_id, 'buyer' "
        . "FROM users u WHERE u.username LIKE '$prefix-%' ON CONFLICT DO NOTHING");
    return map { sprintf('%s-%02d', $prefix, $_) } 1 .. $n;
}
sub drop_users {
    my $prefix = shift;
    sql("DELETE FROM memberships WHERE user_id IN (SELECT id FROM users WHERE username LIKE '$prefix-%')");
    sql("DELETE FROM users WHERE username LIKE '$prefix-%'");
}

ok(wait_until(30, sub { api(POST => '/prices/quote', user => 'na-buyer',
                            body => { lines => [{ sku => 'SKU-00042', qty => 1 }] })->code == 200 }),
   'the pricing snapshot is in service') or BAIL_OUT('no pricing snapshot');
reset_orders();
my @saved = map { [$_, (stock_of($_))[0]] } qw(SKU-00010 SKU-00042);

# ---- 50 buyers, 10 units ------------------------------------------------------------------
my @buyers = make_users('race', 'ACME-NA', 50);
set_stock('SKU-00010', 10);
for my $u (@buyers) {
    my $r = api(POST => '/cart/lines', user => $u, body => { sku => 'SKU-00010', qty => 1 });
    die "cart of $u: " . $r->decoded_content unless $r->code == 201;
}
my @res = parallel(map { { user => $buyers[$_], path => '/orders', body => { po_number => "RACE-$_" },
                           headers => { 'Idempotency-Key' => "race-stock-$_" } } } 0 .. 49);
my @won = grep { $_->[0] == 201 } @res;
my @lost = grep { $_->[0] == 409 } @res;
is(scalar @won, 10, '50 parallel checkouts of the last 10 units: exactly 10 orders');
is(scalar @lost, 40, 'the other 40 get 409');
is(scalar(grep { ($_->[1]{error}{code} // '') eq 'insufficient_stock' } @lost), 40, 'insufficient_stock');
is(scalar(grep { $_->[0] >= 500 } @res), 0, 'no 5xx');
my ($on_hand, $reserved) = stock_of('SKU-00010');
is($reserved, 10, 'reserved = 10');
cmp_ok($on_hand - $reserved, '>=', 0, 'stock never negative');
is(n("SELECT count(*) FROM orders o JOIN order_lines l ON l.order_id = o.id "
     . "JOIN products p ON p.id = l.product_id WHERE p.sku = 'SKU-00010'"), 10, '10 orders hold the SKU');
is(n("SELECT coalesce(sum(l.reserved_qty), 0) FROM order_lines l JOIN products p ON p.id = l.product_id "
     . "WHERE p.sku = 'SKU-00010'"), 10, 'their lines reserve exactly the 10 units');
is(n("SELECT count(*) FROM outbox"), 10, 'ten outbox rows');
is(n("SELECT count(*) FROM cart_lines"), 40, 'the 40 losers keep their carts');
is(n("SELECT count(DISTINCT o.id) FROM orders o WHERE NOT EXISTS "
     . "(SELECT 1 FROM order_lines l WHERE l.order_id = o.id)"), 0, 'no order without lines');

# ---- the shared credit of ACME, from two divisions in two currencies -------------------------
reset_orders();
set_stock('SKU-00042', 100000);
my @na = make_users('race-na', 'ACME-NA', 12);
my @emea = make_users('race-emea', 'ACME-EMEA', 12);
# NA: 280 x 17.25 = 4,830.00 USD; EMEA: 170 x 22.90 = 3,893.00 EUR + 19% VAT = 4,632.67 EUR
# = 5,027.37 USD at 1.0852. 24 orders ask ~118,000 USD of 50,000.00.
for my $u (@na)   { api(POST => '/cart/lines', user => $u, body => { sku => 'SKU-00042', qty => 280 }) }
for my $u (@emea) { api(POST => '/cart/lines', user => $u, body => { sku => 'SKU-00042', qty => 170 }) }
my @who = map { ($na[$_], $emea[$_]) } 0 .. 11;
@res = parallel(map { { user => $who[$_], path => '/orders', body => { po_number => "CREDIT-$_" },
                        headers => { 'Idempotency-Key' => "race-credit-$_" } } } 0 .. $#who);
@won = grep { $_->[0] == 201 } @res;
@lost = grep { $_->[0] == 409 } @res;
is(scalar(@won) + scalar(@lost), 24, 'every request is answered 201 or 409');
is(scalar(grep { ($_->[1]{error}{code} // '') eq 'credit_limit_exceeded' } @lost), scalar @lost,
   'the refusals are credit_limit_exceeded');
ok(scalar(grep { $_->[1]{currency} eq 'USD' } @won) && scalar(grep { $_->[1]{currency} eq 'EUR' } @won),
   'both divisions got orders through');
my ($limit, $used) = @{ (sql_rows("SELECT credit_limit_minor, credit_used_minor FROM accounts WHERE code = 'ACME'"))[0] };
cmp_ok($used, '<=', $limit, "ACME credit used $used <= limit $limit");
is($used, n("SELECT coalesce(sum(credit_minor), 0) FROM orders WHERE credit_account_id = "
            . "(SELECT id FROM accounts WHERE code = 'ACME')"),
   'used = the sum of what the accepted orders were charged');
is(n("SELECT count(*) FROM orders"), scalar @won, 'one order per 201');
my @refused = map { int($_->[1]{error}{details}{order_total}{amount} * 100 + 0.5) } @lost;
ok(@refused, scalar(@refused) . ' orders were refused');
is(scalar(grep { $limit - $used >= $_ } @refused), 0,
   'none of the refused orders would fit in what is left ' . ($limit - $used));
cmp_ok(scalar @won, '>=', 9, 'about ten orders fit (' . scalar(@won) . ')');

# ---- one Idempotency-Key, 20 requests -------------------------------------------------------
reset_orders();
set_stock('SKU-00042', 100000);
api(DELETE => '/cart', user => 'na-buyer');
api(POST => '/cart/lines', user => 'na-buyer', body => { sku => 'SKU-00042', qty => 3 });
my ($before) = stock_of('SKU-00042');
@res = parallel(map { { user => 'na-buyer', path => '/orders', body => { po_number => 'SAME-KEY' },
                        headers => { 'Idempotency-Key' => 'race-same-key' } } } 1 .. 20);
is(scalar(grep { $_->[0] == 201 } @res), 20, '20 parallel requests with one key: all 201');
my %ids = map { ($_->[1]{id} // 'none') => 1 } @res;
is(scalar keys %ids, 1, 'all name the same order');
is(n("SELECT count(*) FROM orders WHERE idempotency_key = 'race-same-key'"), 1, 'one order');
is(n("SELECT count(*) FROM orders"), 1, 'and nothing else');
is(n("SELECT count(*) FROM order_lines"), 1, 'one line');
is(n("SELECT count(*) FROM order_history"), 1, 'one history entry');
is(n("SELECT count(*) FROM outbox"), 1, 'one outbox row');
is((stock_of('SKU-00042'))[1], 3, 'three units reserved once');
is(n("SELECT credit_used_minor FROM accounts WHERE code = 'ACME'"), 5175, 'credit charged once (51.75)');
is(scalar(grep { $_->[1]{replayed} } @res), 19, '19 answers are replays');

# the same in a direct order for the last unit: a retry never sees "out of stock"
reset_orders();
set_stock('SKU-00010', 1);
@res = parallel(map { { user => 'na-buyer', path => '/orders',
                        body => { po_number => 'LAST-ONE', lines => [{ sku => 'SKU-00010', qty => 1 }] },
                        headers => { 'Idempotency-Key' => 'race-last-unit' } } } 1 .. 20);
is(scalar(grep { $_->[0] == 201 } @res), 20, '20 same-key requests for the last unit: all 201')
    or diag(join ', ', map { "$_->[0] " . ($_->[1]{error}{code} // '') } @res);
%ids = map { ($_->[1]{id} // 'none') => 1 } @res;
is(scalar keys %ids, 1, 'one order');
is((stock_of('SKU-00010'))[1], 1, 'the unit is reserved once');

# ---- approve and reject racing on one order ------------------------------------------------------
reset_orders();
api(DELETE => '/cart', user => 'na-buyer');
api(POST => '/cart/lines', user => 'na-buyer', body => { sku => 'SKU-00042', qty => 300 });
my $p = api(POST => '/orders', user => 'na-buyer', body => { po_number => 'BIG' },
            headers => { 'Idempotency-Key' => 'race-approval' });
is($p->{json}{status}, 'pending_approval', 'an order waiting for approval');
my $id = $p->{json}{id};
@res = parallel(map { { user => $_ % 2 ? 'na-approver' : 'acme-admin',
                        path => "/orders/$id/" . ($_ % 3 ? 'approve' : 'reject') } } 1 .. 10);
is(scalar(grep { $_->[0] == 200 } @res), 1, '10 racing approve/reject calls: exactly one wins');
is(scalar(grep { $_->[0] == 409 } @res), 9, 'the others get 409');
my $final = n("SELECT count(*) FROM order_history WHERE order_id = $id");
is($final, 2, 'two history entries: pending_approval and the winner');
my $status = sql("SELECT status FROM orders WHERE id = $id");
is(n("SELECT count(*) FROM outbox WHERE order_id = $id"), $status eq 'queued' ? 1 : 0,
   "outbox matches the outcome ($status)");

# ---- clean up ------------------------------------------------------------------------------------
reset_orders();
drop_users($_) for qw(race race-na race-emea);
sql("UPDATE stock SET on_hand = $_->[1] FROM products p WHERE p.id = stock.product_id AND p.sku = '$_->[0]'")
    for @saved;
done_testing();

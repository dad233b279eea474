# Orders after checkout: who sees which (own account; descendants for
# approvers and account admins; never siblings or other companies: 404),
# list filters, detail with history, and the approval state machine with
# every illegal transition answered 409.
use strict;
use warnings;
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use B2BTest;

my $seq = 0;
sub n { sql($_[0]) + 0 }
sub reset_orders {
    sql("TRUNCATE invoice_lines, invoices, order_history, order_lines, outbox, orders CASCADE");
    sql("DELETE FROM cart_lines; DELETE FROM carts");
    sql("UPDATE stock SET reserved = 0 WHERE reserved <> 0");
    sql("UPDATE accounts SET credit_used_minor = 0 WHERE credit_used_minor <> 0");
}
# places an order as $user (optionally acting for $account) and returns its JSON
sub place {
    my ($user, $qty, $account) = @_;
    my %h = $account ? (headers => { 'X-B2B-Account' => $account }) : ();
    my $r = api(POST => '/orders', user => $user,
                body => { po_number => "PO-$user-" . ++$seq, lines => [{ sku => 'SKU-00042', qty => $qty // 1 }] },
                headers => { 'Idempotency-Key' => "orders-t-$$-$seq", %{ $h{headers} || {} } });
    die "order for $user: " . $r->decoded_content unless $r->code == 201;
    return $r->{json};
}
sub ids { my $r = shift; [sort { $a <=> $b } map { $_->{id} } @{ $r->{json}{items} || [] }] }
sub action { my ($user, $id, $what, $body) = @_;
             api(POST => "/orders/$id/$what", user => $user, ($body ? (body => $body) : ())) }

ok(wait_until(30, sub { api(POST => '/prices/quote', user => 'na-buyer',
                            body => { lines => [{ sku => 'SKU-00042', qty => 1 }] })->code == 200 }),
   'the pricing snapshot is in service') or BAIL_OUT('no pricing snapshot');
reset_orders();
my $on_hand42 = n("SELECT on_hand FROM stock s JOIN products p ON p.id = s.product_id WHERE p.sku = 'SKU-00042'");
sql("UPDATE stock SET on_hand = 100000 FROM products p WHERE p.id = stock.product_id AND p.sku = 'SKU-00042'");

# ---- one order per account of the two companies ---------------------------------------------
my %o = (
    NA     => place('na-buyer'),
    WEST   => place('west-buyer'),
    EMEA   => place('emea-buyer'),
    FR     => place('fr-buyer'),
    GLOBEX => place('globex-buyer'),
    ACME   => place('acme-admin', 1, 'ACME'),
);
my %id = map { $_ => $o{$_}{id} } keys %o;

# who sees what: [user, [visible orders]]
my @matrix = (
    [ 'na-buyer',     [qw(NA)] ],
    [ 'west-buyer',   [qw(WEST)] ],
    [ 'na-approver',  [qw(NA WEST)] ],
    [ 'emea-buyer',   [qw(EMEA)] ],
    [ 'fr-buyer',     [qw(FR)] ],
    [ 'acme-admin',   [qw(ACME NA WEST EMEA FR)] ],
    [ 'globex-buyer', [qw(GLOBEX)] ],
    [ 'portal-admin', [qw(ACME NA WEST EMEA FR GLOBEX)] ],
);
for my $m (@matrix) {
    my ($user, $sees) = @$m;
    my %yes = map { $_ => 1 } @$sees;
    for my $k (sort keys %id) {
        my $r = api(GET => "/orders/$id{$k}", user => $user);
        if ($yes{$k}) {
            is($r->code, 200, "$user sees the $k order");
        }
        else {
            is($r->code, 404, "$user does not see the $k order (404)");
            is($r->{json}{error}{code}, 'order_not_found', '... order_not_found, as for a missing one')
                if $r->code == 404 && $k eq 'GLOBEX';
        }
    }
    my $r = api(GET => '/orders?per_page=200', user => $user);
    is_deeply(ids($r), [sort { $a <=> $b } map { $id{$_} } @$sees], "$user lists exactly those");
}
is(api(GET => '/orders', user => 'erp')->code, 403, 'the ERP user has no account: 403');
is(api(GET => '/orders/99999999', user => 'acme-admin')->code, 404, 'a missing order: 404');
is(api(GET => '/orders/abc', user => 'acme-admin')->code, 404, 'a non-numeric id: 404');
is(api(GET => '/orders/0', user => 'acme-admin')->code, 404, 'id 0: 404');

# ---- detail ------------------------------------------------------------------------------------
my $d = api(GET => "/orders/$id{NA}", user => 'na-buyer')->{json};
is($d->{status}, 'queued', 'status');
is($d->{placed_by}, 'na-buyer', 'placed_by');
is($d->{account}, 'ACME-NA', 'account');
is($d->{lines}[0]{sku}, 'SKU-00042', 'lines');
is($d->{totals}{gross}{amount}, '17.25', 'totals');
is_deeply([map { $_->{status} } @{ $d->{history} }], ['queued'], 'history');
like($d->{history}[0]{at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'with an ISO 8601 time');
is($d->{invoice}, undef, 'not invoiced yet');
is($d->{credit}{account}, 'ACME', 'the credit holder');

# ---- list filters ---------------------------------------------------------------------------------
my $r = api(GET => '/orders?account=ACME-NA', user => 'acme-admin');
is_deeply(ids($r), [sort { $a <=> $b } @id{qw(NA WEST)}], 'account=ACME-NA: its subtree');
$r = api(GET => '/orders?account=ACME-NA&subtree=0', user => 'acme-admin');
is_deeply(ids($r), [$id{NA}], 'subtree=0: the account alone');
$r = api(GET => '/orders', user => 'acme-admin', headers => { 'X-B2B-Account' => 'ACME-EMEA' });
is_deeply(ids($r), [sort { $a <=> $b } @id{qw(EMEA FR)}], 'acting for ACME-EMEA: its subtree');
$r = api(GET => '/orders?account=ACME-EMEA', user => 'na-approver');
is($r->code, 403, 'a sibling account of the same company: 403');
$r = api(GET => '/orders?account=GLOBEX', user => 'acme-admin');
is($r->code, 404, 'another company: 404');
$r = api(GET => '/orders?account=GLOBEX', user => 'portal-admin');
is_deeply(ids($r), [$id{GLOBEX}], 'operators may filter by any account');
$r = api(GET => '/orders?status=queued', user => 'acme-admin');
is($r->{json}{total}, 5, 'status=queued');
$r = api(GET => '/orders?status=pending_approval,rejected', user => 'acme-admin');
is($r->{json}{total}, 0, 'status=pending_approval,rejected: none yet');
$r = api(GET => '/orders?mine=1', user => 'acme-admin');
is_deeply(ids($r), [$id{ACME}], 'mine=1: orders the caller placed');
my $today = sql("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD')");
$r = api(GET => "/orders?from=$today&to=$today", user => 'acme-admin');
is($r->{json}{total}, 5, 'from/to today (to is inclusive)');
$r = api(GET => '/orders?to=2020-01-01', user => 'acme-admin');
is($r->{json}{total}, 0, 'to=2020-01-01: nothing');
$r = api(GET => '/orders?from=2020-01-01T00:00:00Z', user => 'acme-admin');
is($r->{json}{total}, 5, 'an ISO 8601 time');
$r = api(GET => '/orders?per_page=2&page=2', user => 'acme-admin');
is(scalar @{ $r->{json}{items} }, 2, 'page 2 of 2 per page');
is($r->{json}{total}, 5, 'total 5');
is($r->{json}{page}, 2, 'page 2');
$r = api(GET => '/orders?per_page=2&page=9', user => 'acme-admin');
is_deeply($r->{json}{items}, [], 'a page past the end is empty');
is($r->{json}{total}, 5, 'and still says the total');
for my $bad ('status=shipping', 'status=', 'from=2025-02-30', 'from=yesterday', 'to=2025-13-01',
             'per_page=201', 'per_page=0', 'page=-1', 'page=x', 'subtree=maybe', "from=2025-01-01'--") {
    my $q = $bad;
    $r = api(GET => "/orders?$q", user => 'acme-admin');
    if ($q eq 'status=') {
        is($r->code, 200, 'an empty status filter is no filter');
        next;
    }
    is($r->code, 400, "bad filter $q: 400");
}

# ---- the state machine ------------------------------------------------------------------------------
# approvers: of the account or an ancestor; never of a sibling; never their own order
my $big = place('na-buyer', 300);
is($big->{status}, 'pending_approval', 'a big order waits for approval');
$r = action('na-buyer', $big->{id}, 'approve');
is($r->code, 403, 'a buyer cannot approve');
is($r->{json}{error}{code}, 'not_an_approver', 'not_an_approver');
$r = action('emea-buyer', $big->{id}, 'approve');
is($r->code, 404, 'a sibling account cannot even see it');
$r = action('globex-buyer', $big->{id}, 'reject');
is($r->code, 404, 'nor another company');
$r = action('portal-admin', $big->{id}, 'approve');
is($r->code, 403, 'an operator does not approve orders');
$r = action('na-approver', $big->{id}, 'approve', { reason => 'budget ok' });
is($r->code, 200, 'an approver of ACME-NA approves') or diag($r->decoded_content);
is($r->{json}{status}, 'queued', 'queued');
is_deeply([map { $_->{status} } @{ $r->{json}{history} }], ['pending_approval', 'queued'], 'history');
is($r->{json}{history}[1]{by}, 'na-approver', 'with the approver');
is($r->{json}{history}[1]{note}, 'budget ok', 'and the reason');
is(n("SELECT count(*) FROM outbox WHERE order_id = $big->{id} AND state = 'pending'"), 1,
   'the approved order enters the outbox');

my $west = place('west-buyer', 300);
$r = action('acme-admin', $west->{id}, 'approve');
is($r->code, 200, 'an approver at an ancestor (ACME) approves an ACME-NA-WEST order');
my $own = place('acme-admin', 300, 'ACME-NA');
is($own->{status}, 'pending_approval', 'acme-admin places a big order for ACME-NA');
$r = action('acme-admin', $own->{id}, 'approve');
is($r->code, 403, 'and may not approve it');
is($r->{json}{error}{code}, 'own_order', 'own_order');
is(action('na-approver', $own->{id}, 'approve')->code, 200, 'another approver may');

# reject and cancel give back stock and credit
my $credit0 = n("SELECT credit_used_minor FROM accounts WHERE code = 'ACME'");
my $res0 = n("SELECT reserved FROM stock s JOIN products p ON p.id = s.product_id WHERE p.sku = 'SKU-00042'");
my $rej = place('na-buyer', 300);
cmp_ok(n("SELECT credit_used_minor FROM accounts WHERE code = 'ACME'"), '>', $credit0, 'a pending order holds credit');
$r = action('na-approver', $rej->{id}, 'reject', { reason => 'too much' });
is($r->code, 200, 'reject');
is($r->{json}{status}, 'rejected', 'rejected');
is(n("SELECT credit_used_minor FROM accounts WHERE code = 'ACME'"), $credit0, 'its credit is given back');
is(n("SELECT reserved FROM stock s JOIN products p ON p.id = s.product_id WHERE p.sku = 'SKU-00042'"),
   $res0, 'and its stock');
is(n("SELECT count(*) FROM outbox WHERE order_id = $rej->{id}"), 0, 'it never reaches the outbox');

my $mine = place('na-buyer', 2);
$r = action('na-approver', $mine->{id}, 'cancel');
is($r->code, 200, 'an approver may cancel a queued order of the account');
is(n("SELECT count(*) FROM outbox WHERE order_id = $mine->{id}"), 0, 'its outbox row is gone');
my $colleague = place('na-buyer', 1);
sql("INSERT INTO users (username, password_hash, account_id) SELECT 'na-buyer2', password_hash, account_id "
    . "FROM users WHERE username = 'na-buyer' ON CONFLICT DO NOTHING");
sql("INSERT INTO memberships SELECT u.id, u.account_id, 'buyer' FROM users u WHERE u.username = 'na-buyer2' "
    . "ON CONFLICT DO NOTHING");
$r = action('na-buyer2', $colleague->{id}, 'cancel');
is($r->code, 403, "another buyer of the account sees the order but may not cancel it");
is(action('na-buyer2', $colleague->{id}, 'approve')->code, 403, 'nor approve it');
sql("DELETE FROM memberships WHERE user_id = (SELECT id FROM users WHERE username = 'na-buyer2')");
sql("DELETE FROM users WHERE username = 'na-buyer2'");

# every status x every action: legal ones move, illegal ones are 409 and change nothing
my $sm = place('na-buyer', 300);
my @statuses = qw(pending_approval queued submitted confirmed backordered shipped invoiced rejected cancelled failed);
my %legal = ('pending_approval approve' => 'queued', 'pending_approval reject' => 'rejected',
             'pending_approval cancel' => 'cancelled', 'queued cancel' => 'cancelled',
             'failed cancel' => 'cancelled');
my ($n_illegal, $n_legal) = (0, 0);
for my $s (@statuses) {
    for my $a (qw(approve reject cancel)) {
        sql("UPDATE orders SET status = '$s' WHERE id = $sm->{id}");
        sql("DELETE FROM outbox WHERE order_id = $sm->{id}");
        sql("INSERT INTO outbox (order_id, state) VALUES ($sm->{id}, "
            . ($s eq 'failed' ? "'dead'" : "'pending'") . ")") if $s eq 'queued' || $s eq 'failed';
        my $hist = n("SELECT count(*) FROM order_history WHERE order_id = $sm->{id}");
        my $who = $a eq 'cancel' ? 'na-buyer' : 'na-approver';
        $r = action($who, $sm->{id}, $a);
        if (my $to = $legal{"$s $a"}) {
            $n_legal++ if is($r->code, 200, "$s --$a--> $to");
            is(sql("SELECT status FROM orders WHERE id = $sm->{id}"), $to, "... now $to");
        }
        else {
            $n_illegal++ if is($r->code, 409, "$s --$a--> 409");
            is($r->{json}{error}{code}, 'illegal_transition', '... illegal_transition');
            is(sql("SELECT status FROM orders WHERE id = $sm->{id}"), $s, "... still $s");
            is(n("SELECT count(*) FROM order_history WHERE order_id = $sm->{id}"), $hist, '... no history');
        }
    }
}
is($n_legal, 5, 'five legal transitions');
is($n_illegal, 25, 'twenty-five illegal ones, each a 409');

# a queued order the ERP worker has already claimed cannot be cancelled here
my $claimed = place('na-buyer', 1);
sql("UPDATE outbox SET state = 'in_flight', lease_until = now() + interval '1 minute' WHERE order_id = $claimed->{id}");
$r = action('na-buyer', $claimed->{id}, 'cancel');
is($r->code, 409, 'cancel while the worker delivers it: 409');
is($r->{json}{error}{code}, 'order_in_transmission', 'order_in_transmission');
is(sql("SELECT status FROM orders WHERE id = $claimed->{id}"), 'queued', 'still queued');

# bad bodies and ids
is(action('na-approver', $big->{id}, 'approve', [1])->code, 422, 'a body that is not an object: 422');
$r = api(POST => "/orders/$big->{id}/approve", user => 'na-approver', raw => '{"reason":', );
is($r->code, 400, 'malformed JSON: 400');
$r = api(POST => "/orders/$big->{id}/cancel", user => 'na-buyer', raw => 'x', content_type => 'text/plain');
is($r->code, 415, 'a text body: 415');
is(action('na-approver', 'abc', 'approve')->code, 404, 'a bad id: 404');
is(action('na-approver', 99999999, 'approve')->code, 404, 'a missing order: 404');
is(api(GET => "/orders/$big->{id}/approve", user => 'na-approver')->code, 405, 'GET on an action: 405');

reset_orders();
sql("UPDATE stock SET on_hand = $on_hand42 FROM products p WHERE p.id = stock.product_id AND p.sku = 'SKU-00042'");
done_testing();

# The ERP simulator itself (tools/erp-sim): idempotent delivery, the failure modes,
# stock, status push-back, reset, exact counting under concurrent delivery; then the C
# HTTP adapter's own test program against it. Talks to the simulator that
# scripts/erp-sim.sh started on 127.0.0.1:$B2B_ERP_PORT (it resets it: portal tests
# must not rely on orders delivered before this file ran). For push-back it starts a
# second, private simulator pointed at a stand-in portal, and stops both at the end.
use strict;
use warnings;
use Apache::Test qw(-withtestmore);
use HTTP::Tiny ();
use JSON::PP ();
use IO::Socket::INET ();
use HTTP::Daemon ();
use HTTP::Response ();
use File::Temp ();
use POSIX ();
use Time::HiRes qw(time sleep);

plan skip_all => 'B2B_ERP_PORT is not set (run through scripts/test.sh, or export it)'
    unless $ENV{B2B_ERP_PORT};

my $root = $ENV{B2B_ROOT} // '.';
my $BASE = "http://127.0.0.1:$ENV{B2B_ERP_PORT}";
my $json = JSON::PP->new->canonical->utf8;
my $http = HTTP::Tiny->new(timeout => 15, keep_alive => 0);

sub call {
    my ($method, $path, $body, %o) = @_;
    my $base = $o{base} // $BASE;
    my %headers = %{ $o{headers} || {} };
    my %args = (headers => \%headers);
    if (defined $body) {
        $headers{'Content-Type'} = 'application/json';
        $args{content} = ref $body ? $json->encode($body) : $body;
    }
    my $res = $http->request($method, "$base$path", \%args);
    $res->{json} = eval { $json->decode($res->{content}) } if length($res->{content} // '');
    return $res;
}

my $n = 0;
sub order {
    my (%o) = @_;
    $n++;
    return {
        order_id        => $o{order_id} // "7000$n",
        idempotency_key => $o{key} // "t-erp-$$-$n",
        account         => 'ACME-NA',
        po_number       => 'PO-1',
        currency        => 'USD',
        lines  => $o{lines} // [ { line_no => 1, sku => 'SKU-00042', qty => 3, unit_price => '17.25',
                                   net => '51.75', tax => '4.31', gross => '56.06' } ],
        totals => $o{totals} // { net => '51.75', tax => '4.31', gross => '56.06' },
    };
}
sub mode { call(POST => '/_sim/mode', {@_}) }
sub sim_orders { call(GET => '/_sim/orders' . ($_[0] // ''))->{json} }
# Only this file's orders: a portal worker may deliver to the same simulator meanwhile.
my $MINE = "t-erp-$$-";
sub my_orders { sim_orders("?prefix=$MINE") }

# ---- health, reset ----
my $r = call(GET => '/_sim/health');
ok($r->{status} == 200 && ($r->{json}{service} // '') eq 'erp-sim', "the simulator answers on $BASE")
    or BAIL_OUT("no simulator on $BASE: start it with scripts/erp-sim.sh start");
is(call(POST => '/_sim/reset')->{status}, 200, 'reset');
my $s = sim_orders();
is_deeply([ $s->{distinct}, $s->{total_deliveries}, $s->{mode}{mode} ], [ 0, 0, 'ok' ],
          'after reset: no orders, mode ok');

# ---- idempotent delivery ----
my $o = order(order_id => '42', key => "t-erp-$$-idem");
$r = call(POST => '/orders', $o);
is($r->{status}, 201, 'first delivery: 201 Created');
like($r->{json}{erp_ref} // '', qr/^ERP-\d{6}$/, "with an erp_ref ($r->{json}{erp_ref})");
is($r->{json}{status}, 'confirmed', 'status confirmed');
my $ref = $r->{json}{erp_ref};
$r = call(POST => '/orders', $o);
is($r->{status}, 200, 'the same key again: 200');
is($r->{json}{erp_ref}, $ref, '... with the same erp_ref');
$s = my_orders();
is($s->{distinct}, 1, 'one order');
is($s->{total_deliveries}, 2, 'two deliveries in total');
my ($rec) = @{ $s->{orders} };
is_deeply([ @{$rec}{qw(key order_id erp_ref deliveries)} ], [ $o->{idempotency_key}, '42', $ref, 2 ],
          'the order: key, order_id, erp_ref, deliveries 2');
ok($rec->{first_at} =~ /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/ && $rec->{last_at} ge $rec->{first_at},
   'first_at and last_at (ISO 8601, ms)');

# The key may come as a header instead.
my $h = order(key => 'unused');
delete $h->{idempotency_key};
$r = call(POST => '/orders', $h, headers => { 'Idempotency-Key' => "t-erp-$$-hdr" });
is($r->{status}, 201, 'key from the Idempotency-Key header');
$r = call(POST => '/orders', $h, headers => { 'Idempotency-Key' => "t-erp-$$-hdr" });
is($r->{status}, 200, '... and repeated by header');
$r = call(POST => '/orders', order(key => 'a'), headers => { 'Idempotency-Key' => 'b' });
is($r->{status}, 422, 'header and body keys that differ: 422');
$r = call(POST => '/orders', order(order_id => '43', key => $o->{idempotency_key}));
is($r->{status}, 409, 'a key reused for another order_id: 409');
is($r->{json}{error}{code}, 'idempotency_key_reused', '... idempotency_key_reused');

# ---- validation: 422 (400 for what is not JSON) ----
my @bad = (
    [ 'no lines',             sub { $_[0]{lines} = [] } ],
    [ 'qty as a string',      sub { $_[0]{lines}[0]{qty} = '3' } ],
    [ 'qty 0',                sub { $_[0]{lines}[0]{qty} = 0 } ],
    [ 'price as a number',    sub { $_[0]{lines}[0]{unit_price} = 17.25 } ],
    [ 'mixed minor digits',   sub { $_[0]{lines}[0]{unit_price} = '17.250' } ],
    [ 'bad currency',         sub { $_[0]{currency} = 'usd' } ],
    [ 'gross != net + tax',   sub { $_[0]{totals}{gross} = '56.07' } ],
    [ 'no account',           sub { delete $_[0]{account} } ],
    [ 'blank po_number',      sub { $_[0]{po_number} = '  ' } ],
    [ 'no key at all',        sub { delete $_[0]{idempotency_key} } ],
);
for my $b (@bad) {
    my $x = order();
    $b->[1]->($x);
    $r = call(POST => '/orders', $x);
    ok($r->{status} == 422 && ($r->{json}{error}{code} // '') eq 'invalid_order',
       "422 invalid_order: $b->[0]") or diag($r->{content});
}
is(call(POST => '/orders', '{"order_id":')->{status}, 400, 'not JSON: 400');
is(my_orders()->{distinct}, 2, 'no invalid order was recorded');

# ---- mode down ----
is(mode(mode => 'down', retry_after => 5)->{status}, 200, 'mode down');
$r = call(POST => '/orders', my $down = order());
is($r->{status}, 503, 'down: orders get 503');
is($r->{headers}{'retry-after'}, '5', '... with Retry-After when asked for');
is($r->{json}{error}{code}, 'unavailable', '... and a JSON error');
is(call(GET => '/stock')->{status}, 503, 'down: stock too');
is(call(GET => '/_sim/health')->{status}, 200, 'down: the control API still answers');
is(sim_orders("?key=$down->{idempotency_key}")->{distinct}, 0, 'down: nothing recorded');

# ---- mode slow: delays each answer, but not one after another ----
is(mode(mode => 'slow', delay_ms => 800)->{status}, 200, 'mode slow, 800 ms');
my $t0 = time;
$r = call(POST => '/orders', order());
my $took = time - $t0;
ok($r->{status} == 201 && $took >= 0.75, sprintf('slow: answers normally, after %.2f s', $took));
{
    $t0 = time;
    my @pids;
    for my $i (1 .. 6) {
        my $x = order();
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            my $res = call(POST => '/orders', $x);
            POSIX::_exit($res->{status} == 201 ? 0 : 1);
        }
        push @pids, $pid;
    }
    my $fails = 0;
    for (@pids) { waitpid($_, 0); $fails++ if $? }
    $took = time - $t0;
    is($fails, 0, 'slow: 6 concurrent deliveries all created');
    ok($took < 2.5, sprintf('... in %.2f s: served in parallel, not 6 x 0.8 s', $took));
}

# ---- mode flaky: the given share fails with 500/503, reproducibly per --seed ----
# Scoped to our keys, so nobody else's requests draw from the random stream.
sub flaky_run {
    call(POST => '/_sim/reset');
    mode(mode => 'flaky', fail_ratio => 0.5, key_prefix => $MINE);
    return join ' ', map { call(POST => '/orders', order(key => "t-erp-$$-flaky-$_"))->{status} } 1 .. 30;
}
my $run1 = flaky_run();
my %count;
$count{$_}++ for split ' ', $run1;
ok($count{201} && ($count{500} // 0) + ($count{503} // 0), "flaky 0.5: some fail, some pass ($run1)");
is(($count{201} // 0) + ($count{500} // 0) + ($count{503} // 0), 30, 'flaky: only 201, 500 or 503');
is(my_orders()->{distinct}, $count{201}, 'flaky: exactly the answered orders were recorded');
is(flaky_run(), $run1, 'flaky: after a reset the same seed gives the same sequence');
mode(mode => 'flaky', fail_ratio => 1, fail_when => 'after', key_prefix => $MINE);
my $lost = order();
$r = call(POST => '/orders', $lost);
ok($r->{status} >= 500, "flaky, fail_when after: the answer is a $r->{status}");
is(sim_orders("?key=$lost->{idempotency_key}")->{orders}[0]{deliveries}, 1,
   '... but the ERP did take the order');
mode(mode => 'ok');
$r = call(POST => '/orders', $lost);
is($r->{status}, 200, 'the retry finds it: 200, no second order');

# ---- mode reject (scoped to our keys: a rejected portal order would be dead) ----
is(mode(mode => 'reject', key_prefix => $MINE)->{status}, 200, 'mode reject');
$r = call(POST => '/orders', my $rej = order());
is($r->{status}, 422, 'reject: 422');
is($r->{json}{error}{code}, 'rejected', '... code rejected');
is(sim_orders("?key=$rej->{idempotency_key}")->{distinct}, 0, 'reject: nothing recorded');
is(call(GET => '/stock')->{status}, 200, 'reject: stock is served');
mode(mode => 'reject', key_prefix => "${MINE}rj-");
is(call(POST => '/orders', order(key => "${MINE}rj-1"))->{status}, 422, 'key_prefix: a matching key is rejected');
is(call(POST => '/orders', order())->{status}, 201, 'key_prefix: other keys are served normally');
is(mode(mode => 'sideways')->{status}, 422, 'an unknown mode: 422');
is(mode(mode => 'flaky', fail_ratio => 2)->{status}, 422, 'fail_ratio above 1: 422');
is(call(GET => '/_sim/mode')->{json}{mode}{mode}, 'reject', '... and the mode is unchanged');
mode(mode => 'ok');

# ---- stock ----
call(POST => '/_sim/reset');
$r = call(POST => '/_sim/stock', [ { sku => 'SKU-A', on_hand => 10, as_of => '2030-01-01T00:00:00Z' },
                                   { sku => 'SKU-B', on_hand => 2 } ]);
is($r->{status}, 200, 'set stock levels');
$r = call(GET => '/stock');
is_deeply([ map { [ $_->{sku}, $_->{on_hand} ] } @{ $r->{json} } ], [ [ 'SKU-A', 10 ], [ 'SKU-B', 2 ] ],
          'GET /stock: every level');
is($r->{json}[0]{as_of}, '2030-01-01T00:00:00.000Z', 'as_of as set');
$r = call(GET => '/stock?since=2029-12-31T23:00:00%2B00:00');
is_deeply([ map { $_->{sku} } @{ $r->{json} } ], ['SKU-A'], 'since (ISO with offset): only what changed since');
$r = call(GET => '/stock?since=1893456000');
is_deeply([ map { $_->{sku} } @{ $r->{json} } ], ['SKU-A'], 'since as unix seconds, inclusive');
is(call(GET => '/stock?since=soon')->{status}, 400, 'an unreadable since: 400');
is(call(POST => '/_sim/stock', [ { sku => 'X', on_hand => '1' } ])->{status}, 422, 'stock with a string on_hand: 422');
my $line = sub { my ($sku, $qty) = @_;
    { lines => [ { sku => $sku, qty => $qty, unit_price => '1.00' } ],
      totals => { net => sprintf('%d.00', $qty), tax => '0.00', gross => sprintf('%d.00', $qty) } } };
$r = call(POST => '/orders', order(%{ $line->('SKU-A', 4) }));
is($r->{json}{status}, 'confirmed', 'an order within stock: confirmed');
$r = call(POST => '/orders', order(%{ $line->('SKU-B', 3) }));
is($r->{json}{status}, 'backordered', 'an order beyond stock: backordered');
my %lvl = map { $_->{sku} => $_ } @{ call(GET => '/stock')->{json} };
is($lvl{'SKU-A'}{on_hand}, 6, 'the confirmed order took its quantity off');
isnt($lvl{'SKU-A'}{as_of}, '2030-01-01T00:00:00.000Z', '... and moved as_of to the change');
is($lvl{'SKU-B'}{on_hand}, 2, 'the backordered one did not');

# ---- control API odds and ends ----
is(call(GET => '/nope')->{status}, 404, 'unknown path: 404');
is(call(GET => '/orders')->{status}, 405, 'wrong method: 405');
$r = call(POST => '/_sim/advance', { order_id => 'no-such', status => 'shipped' });
is($r->{status}, 404, 'advance an unknown order: 404');
$r = call(POST => '/_sim/advance', { order_id => $o->{order_id}, status => 'teleported' });
is($r->{status}, 422, 'advance to an unknown status: 422');

# ---- one key from 10 processes at once: one order ----
call(POST => '/_sim/reset');
{
    my $x = order(key => "t-erp-$$-race");
    my $dir = File::Temp->newdir;
    my $go = time + 0.5;
    my @pids;
    for my $i (1 .. 10) {
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            sleep($go - time) if $go > time;
            my $res = call(POST => '/orders', $x);
            open my $fh, '>', "$dir/$i" or POSIX::_exit(2);
            print $fh "$res->{status} " . ($res->{json}{erp_ref} // '-');
            close $fh;
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    waitpid($_, 0) for @pids;
    my @ans = map { open my $fh, '<', "$dir/$_" or die; scalar <$fh> } 1 .. 10;
    my %codes;
    $codes{ (split ' ', $_)[0] }++ for @ans;
    my %refs = map { (split ' ', $_)[1] => 1 } @ans;
    is($codes{201}, 1, '10 concurrent deliveries of one key: exactly one 201');
    is($codes{200}, 9, '... nine 200');
    is(scalar keys %refs, 1, '... all with the same erp_ref');
    $s = my_orders();
    is($s->{distinct}, 1, 'one order recorded');
    is($s->{orders}[0]{deliveries}, 10, 'with 10 deliveries');
}

# ---- status push-back, against a stand-in portal and a private simulator ----
SKIP: {
    my $portal = HTTP::Daemon->new(LocalAddr => '127.0.0.1', LocalPort => 0, ReuseAddr => 1)
        or skip "cannot listen for a stand-in portal: $!", 9;
    my $pport = $portal->sockport;
    my $seen = File::Temp->new;
    my $portal_pid = fork // die "fork: $!";
    if (!$portal_pid) {
        # Answers 204 and appends "METHOD PATH AUTH BODY" per request.
        while (my $c = $portal->accept) {
            while (my $req = $c->get_request) {
                open my $fh, '>>', $seen->filename or POSIX::_exit(1);
                print $fh join("\t", $req->method, $req->uri->path,
                               $req->header('Authorization') // '', $req->content), "\n";
                close $fh;
                $c->send_response(HTTP::Response->new(204));
            }
            $c->close;
        }
        POSIX::_exit(0);
    }
    $portal->close;
    my $probe = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 1);
    my $sport = $probe->sockport;
    close $probe;
    my $state = File::Temp->newdir;
    my $sim_pid = fork // die "fork: $!";
    if (!$sim_pid) {
        open STDERR, '>', "$state/log";
        exec $^X, "$root/tools/erp-sim/erp-sim.pl", '--port', $sport, '--state-dir', "$state",
            '--portal', "http://127.0.0.1:$pport", '--portal-user', 'erp', '--portal-password', 'demo',
            '--auto-push-ms', '200'
            or POSIX::_exit(127);
    }
    my $sbase = "http://127.0.0.1:$sport";
    my $up = 0;
    for (1 .. 50) { last if $up = (call(GET => '/_sim/health', undef, base => $sbase)->{status} == 200); sleep 0.1 }
    ok($up, 'a private simulator with --portal and --auto-push-ms 200');
    my $lines_seen = sub { open my $fh, '<', $seen->filename or return (); map { chomp; [ split /\t/ ] } <$fh> };

    $r = call(POST => '/orders', order(order_id => '9001', key => 'push-1'), base => $sbase);
    is($r->{status}, 201, 'an order');
    my @got;
    for (1 .. 30) { @got = $lines_seen->(); last if @got; sleep 0.1 }
    is(scalar @got, 1, 'auto-push: the portal heard about it once');
    is($got[0][1] // '', '/api/v1/erp/orders/9001/status', '... at /api/v1/erp/orders/{order_id}/status');
    is($got[0][2] // '', 'Basic ZXJwOmRlbW8=', '... as the erp integration user');
    is_deeply(eval { $json->decode($got[0][3]) }, { status => 'confirmed', erp_ref => $r->{json}{erp_ref} },
              '... with {"status","erp_ref"}');
    $r = call(POST => '/_sim/advance', { order_id => '9001', status => 'shipped' }, base => $sbase);
    ok($r->{status} == 200 && $r->{json}{pushed} && $r->{json}{portal}{status} == 204,
       'advance to shipped: pushed, the portal said 204');
    @got = $lines_seen->();
    is_deeply(eval { $json->decode($got[1][3]) }, { status => 'shipped', erp_ref => $r->{json}{erp_ref} },
              '... the portal got shipped');
    my $hist = call(GET => '/_sim/orders', undef, base => $sbase)->{json}{orders}[0]{history};
    is_deeply([ map { $_->{status} } @$hist ], [ 'confirmed', 'shipped' ], 'the order history in the simulator');

    kill 'TERM', $sim_pid;
    waitpid($sim_pid, 0);
    kill 'TERM', $portal_pid;
    waitpid($portal_pid, 0);
}

# ---- the C adapter's test program, against this simulator ----
my $bin = "$root/build/unit/erp_adapter";
SKIP: {
    skip "$bin is not built (make unit-build)", 1 unless -x $bin;
    local $ENV{B2B_ERP_URL} = $BASE;
    my @out = `$bin 2>&1`;
    my $rc = $? >> 8;
    my $count = 0;
    for (@out) {
        next unless /^(not )?ok\s+\d+\s*-?\s*(.*)$/;
        $count++;
        ok(!$1, "erp_adapter: $2");
    }
    ok($count > 1 && $rc == 0, "erp_adapter ran $count assertions and exited $rc")
        or diag(join '', grep { !/^ok / } @out);
}

# ---- reset leaves a clean simulator behind ----
mode(mode => 'slow', delay_ms => 50);
is(call(POST => '/_sim/reset')->{status}, 200, 'reset');
$s = sim_orders();
is_deeply([ $s->{distinct}, $s->{total_deliveries}, $s->{mode}{mode} ], [ 0, 0, 'ok' ],
          'after reset: no orders, mode ok');
is_deeply(call(GET => '/stock')->{json}, [], '... and no stock levels');

done_testing();

# The ERP queue under faults, with real processes: the ERP down during a
# burst of checkouts, the worker killed -9 mid-drain (several times), httpd
# restarted gracefully mid-drain. Each time: every order delivered, none lost,
# none taking effect twice at the ERP. "Effect" is checked twice: one order
# per key at the simulator with the erp_ref the portal recorded, and the
# simulator's stock level of the SKU ordered going down by exactly the number
# of orders. The suite's server takes the checkouts; a node of the test's own
# drains (t/lib/B2BErpTest.pm).
use strict;
use warnings;
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use B2BTest;
use B2BErpTest;
use Time::HiRes qw(time sleep);
use LWP::UserAgent ();
use JSON::PP ();
use File::Temp ();
use POSIX ();

plan tests => 31;

my $prefix = 'b2b-' . install_id() . '-';
my $SKU = 'SKU-01950';        # the SQL-made orders
my $CHEAP = 'SKU-01234';      # the checkouts: 200 of them stay far below ACME's credit
sim_mode(mode => 'ok');
sim_set_stock([ $SKU, 1_000_000 ], [ $CHEAP, 1_000_000 ]);

my $node = drain_node(1);
ok($node->start, 'a draining node starts');

sub release { sql("UPDATE outbox SET next_attempt_at = now() WHERE order_id IN (" . join(',', @_) . ")") }
sub done_count { sql("SELECT count(*) FROM outbox WHERE state = 'done' AND order_id IN (" . join(',', @_) . ")") }

sub effect_once {
    my ($what, $sku, $level0, @ids) = @_;
    my ($bad, $deliveries) = check_effect_once(@ids);
    is_deeply($bad, [], "$what: every order at the ERP once, with the portal's erp_ref")
        or diag(join "\n", @$bad[0 .. ($#$bad < 9 ? $#$bad : 9)]);
    is(sim_level($sku), $level0 - @ids, "$what: the ERP's stock went down by exactly " . scalar(@ids));
    return $deliveries;
}

# N checkouts (direct orders of one unit) from 4 clients at once:
# ([order ids], [latencies in ms], number answered 201 queued)
sub checkouts {
    my ($n) = @_;
    my $url = Apache::TestRequest::resolve_url('/api/v1/orders');
    my $out = File::Temp->new;
    my @kids;
    for my $c (1 .. 4) {
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            my $ua = LWP::UserAgent->new(keep_alive => 1, timeout => 30);
            open my $fh, '>>', $out->filename or die;
            for my $i (1 .. $n / 4) {
                my $t0 = time;
                my $res = $ua->post($url, 'Content-Type' => 'application/json',
                    Authorization => 'Basic bmEtYnV5ZXI6ZGVtbw==',
                    'Idempotency-Key' => "erp-burst-$$-$c-$i-" . int($t0 * 1000),
                    Content => JSON::PP::encode_json({ po_number => "PO-BURST-$c-$i",
                                                       lines => [ { sku => $CHEAP, qty => 1 } ] }));
                my $j = eval { JSON::PP::decode_json($res->decoded_content) } // {};
                syswrite $fh, sprintf("%d %.1f %s %s\n", $res->code, (time - $t0) * 1000,
                                      $j->{id} // 0, $j->{status} // '-');
            }
            POSIX::_exit(0);
        }
        push @kids, $pid;
    }
    waitpid $_, 0 for @kids;
    open my $fh, '<', $out->filename or die;
    my (@ids, @ms, $ok);
    while (<$fh>) {
        my ($code, $ms, $id, $status) = split;
        push @ms, $ms;
        if ($code == 201 && $status eq 'queued') { $ok++; push @ids, $id }
    }
    return (\@ids, [ sort { $a <=> $b } @ms ], $ok // 0);
}

# ---- ERP down for the length of a burst of 200 checkouts, then up ----
my $level0 = sim_level($CHEAP);
my $credit0 = sql("SELECT credit_used_minor FROM accounts WHERE code = 'ACME'");
sim_mode(mode => 'down', key_prefix => $prefix);
my $t0 = time;
my ($ids, $ms, $ok) = checkouts(200);
my $burst = time - $t0;
my @ids = @$ids;
my @mine = @ids;
is($ok, 200, 'ERP down: all 200 checkouts answered 201, queued');
# The checkouts never wait for the ERP; the bounds leave room for a machine
# shared with other work (the figures are printed either way).
my ($p50, $p99) = ($ms->[$#$ms / 2], $ms->[int(0.99 * $#$ms)]);
diag(sprintf 'checkout latency with the ERP down, 4 clients: p50 %.0f ms, p99 %.0f ms, max %.0f ms',
     $p50, $p99, $ms->[-1]);
ok($p50 < 500 && $p99 < 3000, sprintf 'and fast (p50 %.0f ms < 500, p99 %.0f ms < 3000)', $p50, $p99);
ok(wait_until(30, sub {
    sql("SELECT min(attempts) FROM outbox WHERE order_id IN (" . join(',', @ids) . ")") >= 2 }),
   'while the ERP is down every order is tried, and tried again');
my $st = queue_states(@ids);
ok(!$st->{done} && !$st->{dead}, 'none delivered, none given up');
is(sql("SELECT count(*) FROM orders WHERE status = 'queued' AND id IN (" . join(',', @ids) . ")"), 200,
   'the orders stay queued');
sim_mode(mode => 'ok');
my $t1 = time;
$st = wait_drained(60, @ids);
my $drain = time - $t1;
is($st->{done}, 200, 'ERP up again: all 200 delivered');
my $deliveries = effect_once('down, then up', $CHEAP, $level0, @ids);
my ($problems, $retried) = attempt_problems(@ids);
is_deeply($problems, [], 'each order accepted by the ERP once, never sent twice at once')
    or diag(join "\n", @$problems[0 .. ($#$problems < 9 ? $#$problems : 9)]);
my $tries = sql("SELECT sum(attempts) FROM outbox WHERE order_id IN (" . join(',', @ids) . ")");
diag(sprintf 'burst of 200 checkouts in %.2f s with the ERP down; %d attempts while down; drained %.1f s after it came back',
     $burst, $tries - 200, $drain);
sql("UPDATE accounts SET credit_used_minor = $credit0 WHERE code = 'ACME'");

# ---- kill -9 of the worker while it drains 1,000 orders, three times ----
$level0 = sim_level($SKU);
@ids = make_orders(1000, sku => $SKU, hold => 3600);
push @mine, @ids;
my $restarts0 = $node->status->{worker}{restarts};
release(@ids);
my ($kills, $seen) = (0, 0);
for my $round (1 .. 3) {
    my $pid = $node->worker_pid;
    # kill while it is busy: after roughly another fifth of the orders
    wait_until(30, sub { done_count(@ids) >= $seen + 150 });
    $seen = done_count(@ids);
    if ($pid && $pid > 1 && kill('KILL', $pid)) {
        $kills++;
        diag("round $round: killed worker $pid with $seen of 1000 delivered");
    }
    wait_until(15, sub { my $p = $node->worker_pid; $p && $p != $pid });
}
is($kills, 3, 'the worker was killed three times mid-drain');
is($node->status->{worker}{restarts}, $restarts0 + 3, 'and restarted each time');
my @w = worker_pids($node->master_pid);
is(scalar @w, 1, 'one worker runs');
$st = wait_drained(120, @ids);
is($st->{done}, 1000, 'all 1000 delivered');
ok(!$st->{dead} && !$st->{pending} && !$st->{in_flight}, 'none dead, none left behind');
$deliveries = effect_once('kill -9 x3', $SKU, $level0, @ids);
cmp_ok($deliveries, '>=', 1000, 'deliveries cut off by a kill were made again');
($problems) = attempt_problems(@ids);
is_deeply($problems, [], 'kill -9 x3: no order sent twice at once, none accepted twice');
diag(($deliveries - 1000) . ' delivery(ies) repeated after a kill; the ERP took each order once');

# ---- graceful restart while draining ----
$level0 = sim_level($SKU);
@ids = make_orders(600, sku => $SKU, hold => 3600);
push @mine, @ids;
my $pid = $node->worker_pid;
release(@ids);
wait_until(30, sub { done_count(@ids) >= 100 });
my $at = done_count(@ids);
ok($node->graceful, "graceful restart with $at of 600 delivered");
ok(wait_until(30, sub { my $p = $node->worker_pid; $p && $p != $pid }), 'a new worker after the graceful restart');
$st = wait_drained(90, @ids);
is($st->{done}, 600, 'all 600 delivered');
$deliveries = effect_once('graceful restart', $SKU, $level0, @ids);
cmp_ok($deliveries, '>=', 600, 'every order reached the ERP');
($problems) = attempt_problems(@ids);
is_deeply($problems, [], 'graceful restart: no order sent twice at once, none accepted twice');
@w = worker_pids($node->master_pid);
is(scalar @w, 1, 'one worker runs after the restart');

ok($node->stop, 'the node stops');

# ---- nothing left for the next test to trip over ----
is(sql("SELECT count(*) FROM outbox WHERE state IN ('pending', 'in_flight') AND order_id IN ("
       . join(',', @mine) . ")"), 0, 'nothing of ours is left in the queue');
ok(api(GET => '/me', user => 'na-buyer')->code == 200, 'the portal answers');
is(sql("SELECT count(*) FROM orders WHERE status = 'failed' AND id IN (" . join(',', @mine) . ")"), 0,
   'no order failed');

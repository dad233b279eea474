# The ERP queue under faults, with real processes: the ERP down for a burst
# of orders, the worker killed -9 mid-drain (several times), httpd restarted
# gracefully mid-drain. Each time: every order delivered, none lost, none
# taking effect twice at the ERP. "Effect" is checked twice: one order per
# key at the simulator with the erp_ref the portal recorded, and the
# simulator's stock level of the SKU ordered going down by exactly the
# number of orders.
use strict;
use warnings;
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use B2BTest;
use B2BErpTest;
use Time::HiRes qw(time sleep);

plan tests => 26;

my $vars = Apache::Test::vars();
my $prefix = 'b2b-' . install_id() . '-';
my $SKU = 'SKU-01950';
sim_mode(mode => 'ok');
sim_set_stock([ $SKU, 1_000_000 ]);

sub status { api(GET => '/admin/status', user => 'portal-admin')->{json} // {} }
sub release { sql("UPDATE outbox SET next_attempt_at = now() WHERE order_id IN (" . join(',', @_) . ")") }
sub done_count { sql("SELECT count(*) FROM outbox WHERE state = 'done' AND order_id IN (" . join(',', @_) . ")") }
sub worker_pid { my $w = status()->{worker} // {}; ($w->{state} // '') eq 'running' ? $w->{pid} : 0 }

sub effect_once {
    my ($what, $level0, @ids) = @_;
    my ($bad, $deliveries) = check_effect_once(@ids);
    is_deeply($bad, [], "$what: every order at the ERP once, with the portal's erp_ref")
        or diag(join "\n", @$bad[0 .. ($#$bad < 9 ? $#$bad : 9)]);
    is(sim_level($SKU), $level0 - @ids, "$what: the ERP's stock went down by exactly " . scalar(@ids));
    return $deliveries;
}

ok(wait_until(20, sub { worker_pid() }), 'the worker runs');

# ---- ERP down for the length of a burst of 200, then up ----
my $level0 = sim_level($SKU);
sim_mode(mode => 'down', key_prefix => $prefix);
my $t0 = time;
my @ids;
push @ids, make_orders(50, sku => $SKU) for 1 .. 4;     # the burst
my $burst = time - $t0;
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
my $deliveries = effect_once('down, then up', $level0, @ids);
is($deliveries, 200, 'one delivery per order reached the ERP');
my $tries = sql("SELECT sum(attempts) FROM outbox WHERE order_id IN (" . join(',', @ids) . ")");
diag(sprintf 'burst of 200 recorded in %.2f s; %d attempts while down; drained %.1f s after the ERP came back',
     $burst, $tries - 200, $drain);

# ---- kill -9 of the worker while it drains 1,000 orders, three times ----
$level0 = sim_level($SKU);
@ids = make_orders(1000, sku => $SKU, hold => 3600);
my $restarts0 = status()->{worker}{restarts};
release(@ids);
my ($kills, $seen) = (0, 0);
for my $round (1 .. 3) {
    my $pid = worker_pid();
    # kill while it is busy: after roughly another fifth of the orders
    wait_until(30, sub { done_count(@ids) >= $seen + 150 });
    $seen = done_count(@ids);
    if ($pid && $pid > 1 && kill('KILL', $pid)) {
        $kills++;
        diag("round $round: killed worker $pid with $seen of 1000 delivered");
    }
    wait_until(15, sub { my $p = worker_pid(); $p && $p != $pid });
}
is($kills, 3, 'the worker was killed three times mid-drain');
is(status()->{worker}{restarts}, $restarts0 + 3, 'and restarted each time');
my @w = worker_pids(httpd_pid($vars->{t_pid_file}));
is(scalar @w, 1, 'one worker runs');
$st = wait_drained(120, @ids);
is($st->{done}, 1000, 'all 1000 delivered');
ok(!$st->{dead} && !$st->{pending} && !$st->{in_flight}, 'none dead, none left behind');
$deliveries = effect_once('kill -9 x3', $level0, @ids);
cmp_ok($deliveries, '>=', 1000, 'deliveries cut off by a kill were made again');
diag(($deliveries - 1000) . ' delivery(ies) repeated after a kill; the ERP took each order once');

# ---- graceful restart while draining ----
$level0 = sim_level($SKU);
@ids = make_orders(600, sku => $SKU, hold => 3600);
my $pid = worker_pid();
release(@ids);
wait_until(30, sub { done_count(@ids) >= 100 });
my $at = done_count(@ids);
ok(kill('USR1', httpd_pid($vars->{t_pid_file})), "graceful restart with $at of 600 delivered");
ok(wait_until(30, sub { my $p = worker_pid(); $p && $p != $pid }), 'a new worker after the graceful restart');
$st = wait_drained(90, @ids);
is($st->{done}, 600, 'all 600 delivered');
$deliveries = effect_once('graceful restart', $level0, @ids);
cmp_ok($deliveries, '>=', 600, 'every order reached the ERP');
@w = worker_pids(httpd_pid($vars->{t_pid_file}));
is(scalar @w, 1, 'one worker runs after the restart');

# ---- nothing left for the next test to trip over ----
is(sql("SELECT count(*) FROM outbox WHERE state IN ('pending', 'in_flight')"), 0, 'the queue is empty');
ok(api(GET => '/me', user => 'na-buyer')->code == 200, 'the portal answers');
is(sql("SELECT count(*) FROM orders WHERE status = 'failed'"), 0, 'no order failed');

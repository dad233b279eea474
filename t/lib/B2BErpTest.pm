package B2BErpTest;
# Helpers for the ERP queue tests: httpd nodes of their own that drain the
# queue (the suite's server has B2BErpDrain Off, so the orders tests see
# orders stay queued), orders made straight in SQL the way checkout leaves
# them (order, line, history, outbox row), the simulator's control API, and
# waiting for the queue to drain.
use strict;
use warnings;
use Exporter 'import';
use HTTP::Tiny ();
use JSON::PP ();
use Time::HiRes ();
use lib 't/lib';
use B2BTest;

our @EXPORT = qw(sim sim_mode sim_orders sim_level sim_set_stock install_id key_of
                 make_orders queue_states wait_drained outbox_rows worker_pids
                 httpd_pid check_effect_once attempt_problems drain_node);

my $json = JSON::PP->new->canonical->utf8;
my $http = HTTP::Tiny->new(timeout => 30, keep_alive => 1);
my $base = "http://127.0.0.1:" . ($ENV{B2B_ERP_PORT} // 8099);

# sim(METHOD, PATH, BODY?) -> decoded JSON answer (status in {_status})
sub sim {
    my ($method, $path, $body) = @_;
    my %args = (headers => {});
    if (defined $body) {
        $args{headers}{'Content-Type'} = 'application/json';
        $args{content} = $json->encode($body);
    }
    my $res = $http->request($method, "$base$path", \%args);
    my $v = eval { $json->decode($res->{content}) } // {};
    $v->{_status} = $res->{status} if ref $v eq 'HASH';
    return $v;
}

sub sim_mode { sim(POST => '/_sim/mode', {@_}) }

# The simulator's orders whose key starts with PREFIX, by key.
sub sim_orders {
    my ($prefix) = @_;
    my $r = sim(GET => '/_sim/orders?prefix=' . $prefix);
    return { map { $_->{key} => $_ } @{ $r->{orders} || [] } };
}

sub sim_level {
    my ($sku) = @_;
    my $r = $http->request(GET => "$base/stock");
    my $items = eval { $json->decode($r->{content}) } || [];
    my ($it) = grep { $_->{sku} eq $sku } @$items;
    return $it ? $it->{on_hand} : undef;
}

sub sim_set_stock { sim(POST => '/_sim/stock', [ map { { sku => $_->[0], on_hand => $_->[1] } } @_ ]) }

sub install_id { sql("SELECT install_id FROM erp_install WHERE id = 1") }
sub key_of { 'b2b-' . install_id() . '-' . $_[0] }

my $batch = 0;
my $has_reserved;

# make_orders(N, sku => 'SKU-01950', qty => 1, hold => SECONDS, account =>, user =>)
# -> order ids. Like checkout: status queued with its history, the units
# reserved, an outbox row (due now, or after `hold` seconds).
sub make_orders {
    my ($n, %o) = @_;
    my $sku = $o{sku} // 'SKU-01950';
    my $qty = $o{qty} // 1;
    my $hold = $o{hold} // 0;
    my $account = $o{account} // 'ACME-NA';
    my $user = $o{user} // 'na-buyer';
    my $tag = "erp-t-$$-" . ++$batch . '-' . int(Time::HiRes::time() * 1000);
    $has_reserved //= sql("SELECT count(*) FROM information_schema.columns WHERE "
                          . "table_name = 'order_lines' AND column_name = 'reserved_qty'");
    my ($rcol, $rval, $reserve) = ('', '', '');
    if ($has_reserved) {
        # checkout reserves what is on hand (the test SKUs have plenty)
        ($rcol, $rval) = (', reserved_qty', ", $qty");
        $reserve = ", r AS (UPDATE stock s SET reserved = s.reserved + $n * $qty FROM p "
                 . "WHERE s.product_id = p.id)";
    }
    my @ids = map { $_->[0] } sql_rows(<<"SQL");
WITH a AS (SELECT id FROM accounts WHERE code = '$account'),
u AS (SELECT id FROM users WHERE username = '$user'),
p AS (SELECT id, sku FROM products WHERE sku = '$sku'),
pr AS (SELECT price_minor FROM price_rules r, p WHERE r.kind = 'list' AND r.product_id = p.id
       AND r.currency = 'USD'),
o AS (INSERT INTO orders (account_id, user_id, po_number, idempotency_key, status, currency,
                          net_minor, tax_minor, gross_minor)
      SELECT a.id, u.id, 'PO-' || g, '$tag-' || g, 'queued', 'USD', pr.price_minor * $qty, 0,
             pr.price_minor * $qty
      FROM a, u, pr, generate_series(1, $n) g RETURNING id),
l AS (INSERT INTO order_lines (order_id, line_no, product_id, sku, qty, unit_price_minor,
                               net_minor, tax_minor, gross_minor$rcol)
      SELECT o.id, 1, p.id, p.sku, $qty, pr.price_minor, pr.price_minor * $qty, 0,
             pr.price_minor * $qty$rval FROM o, p, pr),
h AS (INSERT INTO order_history (order_id, status, note)
      SELECT id, 'queued', 'made by the test' FROM o),
b AS (INSERT INTO outbox (order_id, next_attempt_at)
      SELECT id, now() + make_interval(secs => $hold) FROM o)$reserve
SELECT id FROM o ORDER BY id
SQL
    die "make_orders: made " . scalar(@ids) . " of $n\n" unless @ids == $n;
    return @ids;
}

sub id_list { join ',', map { int } @_ }

# {state => count} over the outbox rows of these orders.
sub queue_states {
    my @ids = @_;
    return { map { $_->[0] => $_->[1] } sql_rows(
        "SELECT state, count(*) FROM outbox WHERE order_id IN (" . id_list(@ids) . ") GROUP BY state") };
}

# Waits until none of these orders' rows is pending or in flight; returns
# the states then.
sub wait_drained {
    my ($secs, @ids) = @_;
    my $deadline = Time::HiRes::time() + $secs;
    my $st;
    while (1) {
        $st = queue_states(@ids);
        last if !($st->{pending} || $st->{in_flight}) || Time::HiRes::time() > $deadline;
        # psql costs CPU the drain would rather have: look twice a second
        Time::HiRes::sleep(0.5);
    }
    return $st;
}

# [order_id, state, attempts, erp_key, order status, erp_ref, delivered_by]
sub outbox_rows {
    my @ids = @_;
    return sql_rows("SELECT b.order_id, b.state, b.attempts, b.erp_key, o.status, "
        . "coalesce(o.erp_ref, ''), coalesce(b.delivered_by, '') FROM outbox b "
        . "JOIN orders o ON o.id = b.order_id WHERE b.order_id IN (" . id_list(@ids) . ") "
        . "ORDER BY b.order_id");
}

sub httpd_pid {
    my ($pidfile) = @_;
    open my $fh, '<', $pidfile or return 0;
    my $p = <$fh> // 0;
    chomp $p;
    return $p + 0;
}

# Processes named b2b-worker whose parent is PARENT.
sub worker_pids {
    my ($parent) = @_;
    my @w;
    for my $dir (glob '/proc/[0-9]*') {
        open my $c, '<', "$dir/comm" or next;
        my $comm = <$c> // '';
        chomp $comm;
        next unless $comm eq 'b2b-worker';
        open my $s, '<', "$dir/stat" or next;
        my @f = split ' ', (<$s> // '');
        push @w, $f[0] + 0 if $f[3] == $parent;
    }
    return @w;
}

# Every order delivered, each exactly once in effect at the ERP: one order
# there per key, with this order's id and the erp_ref the portal recorded.
# Returns (problems, total deliveries).
sub check_effect_once {
    my (@ids) = @_;
    my $sim = sim_orders('b2b-' . install_id() . '-');
    my (@bad, $deliveries);
    for my $r (outbox_rows(@ids)) {
        my ($oid, $state, $attempts, $key, $status, $ref) = @$r;
        my $s = $sim->{$key};
        if ($state ne 'done') { push @bad, "order $oid is $state"; next }
        if (!$s) { push @bad, "order $oid ($key) never reached the ERP"; next }
        push @bad, "order $oid: the ERP has order_id $s->{order_id}" if $s->{order_id} ne $oid;
        push @bad, "order $oid: portal erp_ref $ref, ERP $s->{erp_ref}" if $s->{erp_ref} ne $ref;
        push @bad, "order $oid is $status" unless $status =~ /^(submitted|confirmed|backordered)$/;
        $deliveries += $s->{deliveries};
    }
    return (\@bad, $deliveries // 0);
}

# What the attempt log says about these orders, as problems: an order sent
# by two workers at once (an attempt that began before the previous one was
# recorded), or accepted by the ERP other than once (delivered + "already
# have it" answers). Retries after a failed attempt are fine: the key makes
# them harmless. Returns (problems, number of orders tried more than once).
sub attempt_problems {
    my (@ids) = @_;
    my $list = id_list(@ids);
    my @bad;
    for my $r (sql_rows(<<"SQL")) {
WITH a AS (SELECT id, order_id, node, at - make_interval(secs => duration_ms / 1000.0) AS t0, at AS t1
           FROM erp_attempts WHERE order_id IN ($list))
SELECT DISTINCT a.order_id, a.node, b.node FROM a JOIN a b ON b.order_id = a.order_id AND b.id > a.id
 WHERE b.t0 < a.t1
SQL
        push @bad, "order $r->[0]: attempts by $r->[1] and $r->[2] overlap";
    }
    for my $r (sql_rows("SELECT order_id, count(*) FILTER (WHERE outcome IN ('delivered', 'duplicate')), "
                        . "string_agg(outcome, ',' ORDER BY id) FROM erp_attempts WHERE order_id IN ($list) "
                        . "GROUP BY order_id HAVING count(*) FILTER (WHERE outcome IN ('delivered', 'duplicate')) <> 1")) {
        push @bad, "order $r->[0]: accepted $r->[1] times ($r->[2])";
    }
    my $retried = sql("SELECT count(*) FROM outbox WHERE attempts > 1 AND order_id IN ($list)");
    return (\@bad, $retried);
}

# ---- draining nodes ----------------------------------------------------------------

# drain_node(1 or 2) -> a B2BErpTest::Node: its own httpd (scripts/httpd.sh,
# instance erpnodeN) on the suite's database, Redis and simulator, with the
# shipped site configuration and fast retries. Ports: $B2B_NODE2_PORT (8531)
# and $B2B_NODE3_PORT (the next one).
my @nodes;
sub drain_node {
    my ($n) = @_;
    my $p1 = $ENV{B2B_NODE2_PORT} || 8531;
    my $port = $n == 1 ? $p1 : ($ENV{B2B_NODE3_PORT} || $p1 + 1);
    my $node = B2BErpTest::Node->new("erpnode$n", $port);
    push @nodes, $node;
    return $node;
}
END { $_->stop for grep { $_->{started} } @nodes }

package B2BErpTest::Node;
use JSON::PP ();
use HTTP::Tiny ();
use File::Path qw(make_path);

# What the suite's own server would do with t/conf/extra.conf.in, but
# draining: retries within fractions of a second, a short lease.
my $SETTINGS = <<'CONF';
B2BErpDrain On
B2BErpThreads 8
B2BErpRetryBase 50
B2BErpRetryCap 1000
B2BErpRetryMax 100
B2BErpTimeout 10000
B2BErpLease 15
B2BErpStockInterval 0
LogLevel warn b2bportal:info
CONF

sub new {
    my ($class, $name, $port) = @_;
    my $var = "$ENV{B2B_VAR}/../$name";
    make_path($var);
    my $extra = "$var.conf";
    open my $fh, '>', $extra or die "$extra: $!";
    print $fh $SETTINGS;
    close $fh;
    return bless { name => $name, port => $port, var => $var, extra => $extra,
                   http => HTTP::Tiny->new(timeout => 5) }, $class;
}

sub port { $_[0]{port} }
sub error_log { "$_[0]{var}/httpd/error.log" }

sub httpd {
    my ($self, $cmd) = @_;
    local $ENV{B2B_INSTANCE} = $self->{name};
    local $ENV{B2B_HTTP_PORT} = $self->{port};
    local $ENV{B2B_VAR} = $self->{var};
    local $ENV{B2B_EXTRA_CONF} = $self->{extra};
    delete local $ENV{B2B_DBD_PARAMS};
    delete local $ENV{B2B_HTDOCS};
    my $ok = system('bash', "$ENV{B2B_ROOT}/scripts/httpd.sh", $cmd, $self->{name}) == 0;
    $self->{started} = 1 if $ok && $cmd eq 'start';
    $self->{started} = 0 if $cmd eq 'stop';
    return $ok;
}

# Starts and waits until its worker drains.
sub start {
    my ($self) = @_;
    $self->httpd('start') or return 0;
    return B2BTest::wait_until(30, sub { $self->worker_pid && $self->status->{erp}{draining} });
}
sub stop { $_[0]->httpd('stop') }
sub graceful { $_[0]->httpd('graceful') }

sub status {
    my ($self) = @_;
    my $res = $self->{http}->get("http://127.0.0.1:$self->{port}/api/v1/admin/status",
                                 { headers => { Authorization => 'Basic cG9ydGFsLWFkbWluOmRlbW8=' } });
    return {} unless $res->{status} == 200;
    return eval { JSON::PP::decode_json($res->{content}) } // {};
}

sub worker_pid {
    my $w = $_[0]->status->{worker} // {};
    return ($w->{state} // '') eq 'running' ? $w->{pid} : 0;
}

sub master_pid { B2BErpTest::httpd_pid("$_[0]{var}/httpd/httpd.pid") }

1;

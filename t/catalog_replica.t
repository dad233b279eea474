# Catalog reads from a real PostgreSQL streaming replica, made here with
# pg_basebackup beside the test primary. The test configuration points
# B2BCatalogReplica at a socket folder of its own (same port number), so
# until this test starts the replica it is down and reads use the primary.
#   1. replica down: served from the primary, status says down;
#   2. replica up: catalog reads go to it (the status counters say so);
#   3. replay paused: a product change is still seen at once (the replica is
#      behind the version the worker published: that read goes to the
#      primary), and once the lag passes B2BCatalogReplicaMaxLag the replica
#      is left alone;
#   4. replica stopped: still served, no 5xx.
use strict;
use warnings;
use Apache::Test qw(-withtestmore);
use Time::HiRes qw(sleep);
use lib 't/lib';
use B2BTest;

my $bin = $ENV{B2B_PG_BIN} || '/usr/lib/postgresql/15/bin';
my $port = $ENV{B2B_PG_PORT};
my $sock = "$ENV{B2B_PG_SOCKDIR}-replica";
my $data = "$ENV{B2B_VAR}/pg-replica";
my $log = "$ENV{B2B_VAR}/pg-replica.log";
my $as_root = $> == 0;

plan skip_all => 'no PostgreSQL binaries' unless -x "$bin/pg_basebackup" && -x "$bin/pg_ctl";

# Runs a command as the cluster's user (postgres refuses root).
sub as_pg {
    my @cmd = @_;
    @cmd = ('runuser', '-u', 'postgres', '--', @cmd) if $as_root;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        chdir '/';
        open STDOUT, '>>', $log; open STDERR, '>&', \*STDOUT;
        exec @cmd or exit 127;
    }
    waitpid $pid, 0;
    return $? >> 8;
}
sub super_sql {   # the primary, as the bootstrap superuser over its socket
    my ($q, $host) = @_;
    as_pg("$bin/psql", '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', $host // $ENV{B2B_PG_SOCKDIR},
          '-p', $port, '-U', 'postgres', '-d', 'postgres', '-c', $q);
}
sub replica_stop { as_pg("$bin/pg_ctl", '-D', $data, 'stop', '-m', 'immediate', '-w') if -f "$data/PG_VERSION" }
sub status { api(GET => '/admin/status', user => 'portal-admin')->{json}{catalog} }
sub state { status()->{replica}{state} // '' }
sub detail { api(GET => "/catalog/products/$_[0]", user => 'na-buyer') }

END { replica_stop(); system('rm', '-rf', $data) if $data && -d $data }

ok(wait_until(30, sub { detail('SKU-00042')->code == 200 }), 'catalog ready');

# ---- 1. the replica does not exist yet ---------------------------------------------
replica_stop();
system('rm', '-rf', $data, $sock);
ok(wait_until(5, sub { state() eq 'down' }), 'status: replica down') or diag explain status();
my $before = status()->{reads};
my @codes = map { detail($_)->code } map { sprintf 'SKU-%05d', $_ } 100 .. 119;
is_deeply(\@codes, [(200) x 20], 'replica down: every detail is served');
is(status()->{reads}{replica}, $before->{replica}, 'no read went to the replica');
cmp_ok(status()->{reads}{primary}, '>', $before->{primary}, 'they went to the primary');

# ---- 2. build and start a streaming replica ------------------------------------------------
my $pw = 'replica-test-' . $$;
is(super_sql("DO \$\$ BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'b2b_replicator') THEN
                    CREATE ROLE b2b_replicator REPLICATION LOGIN;
                END IF;
              END \$\$; ALTER ROLE b2b_replicator PASSWORD '$pw'"), 0,
   'a replication role (the b2b role has no REPLICATION)');
mkdir $data;
chmod 0700, $data;
mkdir $sock;
chmod 0755, $sock;
open my $lf, '>>', $log or die "$log: $!";
close $lf;
if ($as_root) {
    system('chown', 'postgres:postgres', $data, $sock, $log);
}
{
    local $ENV{PGPASSWORD} = $pw;
    is(as_pg("$bin/pg_basebackup", '-h', '127.0.0.1', '-p', $port, '-U', 'b2b_replicator',
             '-D', $data, '-R', '-X', 'stream', '-c', 'fast'), 0, 'pg_basebackup');
}
ok(-f "$data/standby.signal", 'it is a standby');
is(as_pg("$bin/pg_ctl", '-D', $data, '-l', $log, '-w', '-t', '60', '-o',
         "-c port=$port -c listen_addresses='' -c unix_socket_directories='$sock' "
         . "-c unix_socket_permissions=0777 -c hot_standby=on -c hot_standby_feedback=on",
         'start'), 0, 'the replica starts');
ok(wait_until(20, sub { state() eq 'ok' }), 'status: replica ok') or diag explain status();
my $st = status();
cmp_ok($st->{replica}{lag_ms}, '<=', 2000, 'lag within B2BCatalogReplicaMaxLag');

# uncached reads (searches nobody made yet) go to the replica
$before = status()->{reads};
my @q = map { "/catalog/products?q=SKU-0$_&per_page=3" } 1100 .. 1109;
my @r = map { api(GET => $_, user => 'na-buyer') } @q;
is_deeply([map { $_->code } @r], [(200) x 10], 'searches answered');
is($r[3]{json}{items}[0]{sku}, 'SKU-01103', 'with the right product');
my $after = status()->{reads};
cmp_ok($after->{replica} - $before->{replica}, '>=', 10, 'the catalog read from the replica');
is($after->{primary}, $before->{primary}, 'and not from the primary');

# ---- 3. replay paused: fresh data still, then the lag bound ---------------------------------
is(super_sql('SELECT pg_wal_replay_pause()', $sock), 0, 'replay paused on the replica');
my $orig = sql("SELECT name FROM products WHERE sku = 'SKU-00077'");
detail('SKU-00077');
my $fallbacks = status()->{reads}{replica_fallbacks};
sql("UPDATE products SET name = 'Replica Test Renamed Product' WHERE sku = 'SKU-00077'");
ok(wait_until(3, sub { detail('SKU-00077')->{json}{name} eq 'Replica Test Renamed Product' }),
   'a change is seen at once although the replica has not replayed it');
ok(status()->{reads}{replica_fallbacks} > $fallbacks || state() eq 'lagging',
   'that read went to the primary (the replica was behind)');
ok(wait_until(10, sub { state() eq 'lagging' }), 'status: replica lagging past the bound')
    or diag explain status();
$before = status()->{reads};
@r = map { api(GET => "/catalog/products?q=SKU-0$_&per_page=3", user => 'na-buyer') } 1200 .. 1204;
is_deeply([map { $_->code } @r], [(200) x 5], 'lagging: still served');
is(status()->{reads}{replica}, $before->{replica}, 'not from the lagging replica');
is(super_sql('SELECT pg_wal_replay_resume()', $sock), 0, 'replay resumed');
ok(wait_until(10, sub { state() eq 'ok' }), 'status: replica ok again');
is(detail('SKU-00077')->{json}{name}, 'Replica Test Renamed Product', 'and it has the change');
sql("UPDATE products SET name = \$\$$orig\$\$ WHERE sku = 'SKU-00077'");

# ---- 4. the replica dies ------------------------------------------------------------------------
$before = status()->{reads};
replica_stop();
my @after_stop = map { api(GET => "/catalog/products?q=SKU-0$_&per_page=3", user => 'na-buyer')->code } 1300 .. 1319;
is_deeply(\@after_stop, [(200) x 20], 'replica stopped: every request still answered');
ok(wait_until(5, sub { state() eq 'down' }), 'status: replica down');
@codes = map { detail(sprintf 'SKU-%05d', $_)->code } 300 .. 309;
is_deeply(\@codes, [(200) x 10], 'and served from the primary');
like(`grep -c 'B2B0403[13]' $ENV{B2B_ROOT}/t/logs/error_log 2>/dev/null` // '', qr/^[1-9]/,
     'state changes are logged with their tags');

done_testing();

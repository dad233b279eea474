# The module-managed background worker: exactly one per httpd instance,
# restarted when it dies, visible in /admin/status.
use strict;
use warnings;
use Apache::Test qw(-withtestmore);
use Apache::TestConfig ();
use lib 't/lib';
use B2BTest;

plan tests => 14;

my $vars = Apache::Test::vars();
my $pidfile = $vars->{t_pid_file};

sub parent_pid {
    open my $fh, '<', $pidfile or return 0;
    my $p = <$fh>; chomp $p; return $p + 0;
}

# Processes named b2b-worker whose parent is this httpd.
sub workers {
    my $ppid = parent_pid();
    my @w;
    for my $dir (glob '/proc/[0-9]*') {
        open my $c, '<', "$dir/comm" or next;
        my $comm = <$c> // ''; chomp $comm;
        next unless $comm eq 'b2b-worker';
        open my $s, '<', "$dir/stat" or next;
        my @f = split ' ', (<$s> // '');
        # stat: pid (comm) state ppid ...
        push @w, $f[0] + 0 if $f[3] == $ppid;
    }
    return @w;
}

sub status { api(GET => '/admin/status', user => 'portal-admin') }

my $r = api(GET => '/admin/status', user => 'na-buyer');
is($r->code, 403, 'buyers may not read the status');
is($r->{json}{error}{code}, 'forbidden', 'JSON 403');

$r = wait_until(10, sub { my $x = status();
    ($x->{json}{worker}{state} // '') eq 'running' && $x->{json}{worker}{database_ok} ? $x : undef });
ok($r, 'worker running and reaching the database');
my $pid = $r ? $r->{json}{worker}{pid} : 0;
ok($pid > 0, "status names the worker pid ($pid)");
my @w = workers();
is(scalar @w, 1, 'exactly one worker process under this httpd');
is($w[0], $pid, 'and it is the one status names');
my $restarts = $r->{json}{worker}{restarts};

for my $round (1 .. 2) {
    # never kill 0: that is our own process group
    BAIL_OUT('no worker pid to kill') unless $pid && $pid > 1;
    kill 'KILL', $pid;
    my $new = wait_until(15, sub {
        my $x = status();
        my $p = $x->{json}{worker}{pid} // 0;
        $p && $p != $pid && ($x->{json}{worker}{state} // '') eq 'running' ? $x : undef;
    });
    ok($new, "round $round: a new worker after kill -9");
    my $np = $new ? $new->{json}{worker}{pid} : 0;
    @w = workers();
    is(scalar @w, 1, "round $round: still exactly one worker");
    is($new ? $new->{json}{worker}{restarts} : -1, $restarts + $round,
       "round $round: the restart is counted");
    $pid = $np;
}

# It beats: the heartbeat is recent.
$r = status();
ok(defined $r->{json}{worker}{last_beat_ms_ago}
   && $r->{json}{worker}{last_beat_ms_ago} < 5000, 'heartbeat is fresh');
my ($probe) = grep { $_->{name} eq 'db-probe' } @{ $r->{json}{worker}{tasks} || [] };
ok($probe && defined $probe->{last_beat_ms_ago}, 'the db-probe task beats');

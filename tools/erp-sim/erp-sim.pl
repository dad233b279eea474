#!/usr/bin/perl
# erp-sim.pl — a stand-in ERP for the demo and the tests of mod_b2bportal.
#
# It accepts orders as the portal's HTTP ERP adapter sends them (idempotent by
# key), serves stock levels, pushes order statuses back to the portal, and has
# a control API (/_sim/*) that makes it slow, down, flaky or rejecting on
# demand. The wire format and every endpoint are in README.md next to this file.
#
# Process model: the parent only accepts; every connection is served by its
# own forked child (so a "slow" answer never holds up other deliveries). All
# state lives in small Storable files under --state-dir (one per order, plus
# the control record and the stock levels), every access under one flock, so
# counts stay exact however many children run at once and a request costs the
# same with 10 or 100,000 orders on file.
#
# Perl 5.36 with Debian-packaged modules only (libhttp-daemon-perl, JSON::PP).
use v5.36;
use Fcntl qw(:flock O_WRONLY O_APPEND O_CREAT);
use File::Temp ();
use Getopt::Long qw(GetOptions);
use HTTP::Daemon ();
use HTTP::Response ();
use HTTP::Tiny ();
use JSON::PP ();
use MIME::Base64 qw(encode_base64);
use POSIX qw(WNOHANG);
use Storable qw(nstore retrieve);
use Time::HiRes ();
use Time::Local qw(timegm);
use B ();
use Digest::MD5 qw(md5_hex);
use Encode qw(encode_utf8);
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Scalar::Util qw(looks_like_number);

my $VERSION = '1';
my %opt = (
    port              => undef,
    'state-dir'       => undef,
    'pid-file'        => undef,
    log               => undef,
    seed              => 1,
    'keep-state'      => 0,
    'stock-file'      => undef,
    portal            => undef,
    'portal-user'     => 'erp',
    'portal-password' => 'demo',
    'auto-push-ms'    => 0,
    'idle-timeout'    => 15,
);
GetOptions(\%opt, 'port=i', 'state-dir=s', 'pid-file=s', 'log=s', 'seed=i', 'keep-state!',
           'stock-file=s', 'portal=s', 'portal-user=s', 'portal-password=s',
           'auto-push-ms=i', 'idle-timeout=i', 'help')
    or usage(2);
usage(0) if $opt{help};
usage(2) unless defined $opt{port} && $opt{port} > 0 && $opt{port} < 65536;
$opt{portal} =~ s{/+$}{} if defined $opt{portal};

sub usage ($rc) {
    print STDERR <<"EOT";
usage: $0 --port N [--state-dir DIR] [--pid-file FILE] [--log FILE] [--seed N]
          [--keep-state] [--stock-file FILE.json] [--portal URL [--portal-user U]
          [--portal-password P] [--auto-push-ms MS]] [--idle-timeout S]
Listens on 127.0.0.1:N only. See tools/erp-sim/README.md.
EOT
    exit $rc;
}

my $JSON = JSON::PP->new->canonical->utf8;
my $PARENT_PID = $$;

# ---- logging: one line per request, one write() per line (children share it) ----
my $LOGFH;
if (defined $opt{log}) {
    sysopen($LOGFH, $opt{log}, O_WRONLY | O_APPEND | O_CREAT, 0644)
        or die "erp-sim: cannot open log $opt{log}: $!\n";
} else {
    open($LOGFH, '>&', \*STDERR) or die "erp-sim: cannot dup stderr: $!\n";
}
sub logline ($msg) {
    syswrite($LOGFH, iso_ms(now_ms()) . " erp-sim[$$] $msg\n");
}

# ---- time ----
sub now_ms () { int(Time::HiRes::time() * 1000) }
sub iso_ms ($ms) {
    my $s = int($ms / 1000);
    my @t = gmtime($s);
    return sprintf('%04d-%02d-%02dT%02d:%02d:%02d.%03dZ', $t[5] + 1900, $t[4] + 1, $t[3],
                   $t[2], $t[1], $t[0], $ms - $s * 1000);
}
# Unix seconds (integer or fractional) or ISO 8601 ("YYYY-MM-DD", optional
# "[T ]HH:MM[:SS[.fff]]", optional "Z"/"+HH[:MM]"; no zone = UTC) -> epoch ms.
sub parse_time_ms ($s) {
    return undef unless defined $s && !ref $s;
    return int($1 * 1000) if $s =~ /^(\d{1,12}(?:\.\d{1,9})?)$/;
    return undef unless $s =~ /^(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,9}))?)?)?
                              (Z|[+-]\d\d(?::?\d\d)?)?$/x;
    my ($y, $mo, $d, $h, $mi, $se, $frac, $zone) = ($1, $2, $3, $4 // 0, $5 // 0, $6 // 0, $7, $8);
    my $t = eval { timegm($se, $mi, $h, $d, $mo - 1, $y) };
    return undef unless defined $t && $h < 24 && $mi < 60 && $se < 61;
    my $ms = $t * 1000 + (defined $frac ? int(substr($frac . '00', 0, 3)) : 0);
    if (defined $zone && $zone ne 'Z') {
        my ($sign, $zh, $zm) = $zone =~ /^([+-])(\d\d):?(\d\d)?$/;
        my $off = ($zh * 60 + ($zm // 0)) * 60_000;
        $ms += $sign eq '+' ? -$off : $off;
    }
    return $ms;
}

# ---- JSON type checks (look at the scalar's flags before any string/number use) ----
sub is_json_string ($v) {
    return 0 if !defined $v || ref $v;
    my $f = B::svref_2object(\$v)->FLAGS;
    return ($f & B::SVp_POK) && !($f & (B::SVp_IOK | B::SVp_NOK)) ? 1 : 0;
}
sub is_json_int ($v) {
    return 0 if !defined $v || ref $v;
    my $f = B::svref_2object(\$v)->FLAGS;
    return 0 if ($f & B::SVp_POK) && !($f & (B::SVp_IOK | B::SVp_NOK));
    return $v =~ /^-?\d{1,15}$/ ? 1 : 0;
}
# Decimal money string: returns (value in units of 10^-3, fractional digits) or ().
sub parse_amount ($v) {
    return () unless is_json_string($v) && $v =~ /^(\d{1,15})(?:\.(\d{1,3}))?$/;
    my ($int, $frac) = ($1, $2 // '');
    return ($int * 1000 + int(substr($frac . '000', 0, 3)), length $frac);
}

# ---- state: small Storable files under --state-dir, all behind one flock ----
my $TMPDIR;
my $STATE_DIR = $opt{'state-dir'};
if (!defined $STATE_DIR) {
    $TMPDIR = File::Temp->newdir('erp-sim-XXXXXX', TMPDIR => 1);
    $STATE_DIR = "$TMPDIR";
}
-d $STATE_DIR or die "erp-sim: state dir $STATE_DIR does not exist\n";
my $LOCK_FILE  = "$STATE_DIR/erp-sim.lock";
my $CTL_FILE   = "$STATE_DIR/erp-sim.ctl";      # counters, mode, random stream, stats
my $STOCK_FILE = "$STATE_DIR/erp-sim.stock";    # sku -> {on_hand, as_of_ms}
my $ORDERS_DIR = "$STATE_DIR/erp-sim.orders";   # one file per idempotency key
my $IDS_DIR    = "$STATE_DIR/erp-sim.ids";      # order_id -> key

# locked(EXCLUSIVE, CODE): CODE's result, run under the state lock.
sub locked ($exclusive, $code) {
    open my $lk, '>>', $LOCK_FILE or die "erp-sim: cannot open $LOCK_FILE: $!\n";
    flock($lk, $exclusive ? LOCK_EX : LOCK_SH) or die "erp-sim: flock: $!\n";
    my $r = $code->();
    close $lk;    # releases the lock
    return $r;
}
sub save ($path, $data) {
    nstore($data, "$path.$$");
    rename "$path.$$", $path or die "erp-sim: rename $path: $!\n";
}
sub load ($path) { -e $path ? retrieve($path) : undef }
sub fname ($s) { md5_hex(encode_utf8($s)) . '.sto' }

sub ctl () { load($CTL_FILE) }
sub ctl_update ($code) {    # CODE changes the control record in place
    locked(1, sub { my $c = ctl(); my $r = $code->($c); save($CTL_FILE, $c); $r });
}
sub order_get ($key) { load("$ORDERS_DIR/" . fname($key)) }
sub order_put ($o) { save("$ORDERS_DIR/" . fname($o->{key}), $o) }
sub key_of_id ($oid) { my $r = load("$IDS_DIR/" . fname($oid)); $r ? $r->{key} : undef }
sub all_orders () { map { retrieve($_) } glob "$ORDERS_DIR/*.sto" }

sub seed_stock () {
    my %stock;
    return \%stock unless defined $opt{'stock-file'};
    open my $fh, '<', $opt{'stock-file'} or die "erp-sim: cannot read $opt{'stock-file'}: $!\n";
    my $items = eval { $JSON->decode(do { local $/; <$fh> }) };
    my $err = ref $items eq 'ARRAY' ? stock_apply(\%stock, $items, now_ms()) : 'not a JSON array';
    die "erp-sim: bad --stock-file $opt{'stock-file'}: $err\n" if $err;
    return \%stock;
}

# Back to the start (under the exclusive lock). The erp_ref counter carries on,
# so a reference is never handed out twice by one simulator.
sub wipe_state ($next_ref) {
    for my $d ($ORDERS_DIR, $IDS_DIR) {
        mkdir $d unless -d $d;
        unlink glob "$d/*";
    }
    save($CTL_FILE, { version => 2, next_ref => $next_ref, next_seq => 1, mode => { mode => 'ok' },
                      rng => $opt{seed}, stats => { refused => 0, requests => 0 } });
    save($STOCK_FILE, seed_stock());
}

# The random stream for "flaky": drand48 reseeded from a stored seed at each
# draw, so the sequence of draws is the same for a given --seed whichever
# child makes them. Call inside ctl_update.
sub draw ($c) {
    srand($c->{rng});
    my $r = rand();
    $c->{rng} = int(rand(4294967296));
    return $r;
}

# ---- responses ----
sub json_res ($code, $body, %hdr) {
    my $res = HTTP::Response->new($code);
    $res->header('Content-Type' => 'application/json');
    $res->header($_ => $hdr{$_}) for keys %hdr;
    $res->content($JSON->encode($body));
    return $res;
}
sub error_res ($code, $ecode, $message, %hdr) {
    return json_res($code, { error => { code => $ecode, message => $message } }, %hdr);
}

sub decode_body ($req) {
    my $raw = $req->content // '';
    return (undef, error_res(400, 'malformed_json', 'empty body')) unless length $raw;
    my $v = eval { $JSON->decode($raw) };
    return (undef, error_res(400, 'malformed_json', "body is not JSON: " . ($@ =~ s/ at \S+ line \d+.*//sr)))
        unless defined $v || !$@;
    return ($v, undef);
}

# ---- modes ----
my %MODES = map { $_ => 1 } qw(ok down slow flaky reject garbage);

sub mode_view ($m) { return { %$m } }

# Decide, under the lock, what an ERP request meets: returns a hash with
# delay_ms, and fail => [status, phase] or reject/garbage flags.
sub mode_effect ($c, $kind, $key) {
    my $m = $c->{mode};
    my %e = (delay_ms => 0);
    my $mode = $m->{mode};
    return \%e if $mode eq 'ok';
    # A key_prefix scopes the mode to orders whose key starts with it.
    if (defined $m->{key_prefix}) {
        return \%e unless $kind eq 'order' && defined $key
            && substr($key, 0, length $m->{key_prefix}) eq $m->{key_prefix};
    }
    if ($mode eq 'down') {
        $e{fail} = 503; $e{phase} = 'before';
    } elsif ($mode eq 'slow') {
        $e{delay_ms} = $m->{delay_ms};
    } elsif ($mode eq 'flaky') {
        if (draw($c) < $m->{fail_ratio}) {
            $e{fail} = draw($c) < 0.5 ? 500 : 503;
            my $when = $m->{fail_when};
            $e{phase} = $when eq 'either' ? (draw($c) < 0.5 ? 'before' : 'after') : $when;
        }
    } elsif ($mode eq 'reject') {
        $e{reject} = 1 if $kind eq 'order';
    } elsif ($mode eq 'garbage') {
        $e{garbage} = 1;
    }
    return \%e;
}

sub failure_res ($e, $st_mode) {
    my %hdr;
    $hdr{'Retry-After'} = $st_mode->{retry_after} if defined $st_mode->{retry_after} && $e->{fail} == 503;
    my $msg = $st_mode->{mode} eq 'down' ? 'ERP is down (simulated)' : "simulated failure (mode $st_mode->{mode})";
    return error_res($e->{fail}, $e->{fail} == 503 ? 'unavailable' : 'internal_error', $msg, %hdr);
}

sub garbage_res () {
    my $res = HTTP::Response->new(200);
    $res->header('Content-Type' => 'text/html');
    $res->content("<html><body>Down for maintenance (simulated)</body></html>\n");
    return $res;
}

sub set_mode ($req) {
    my ($b, $err) = decode_body($req);
    return $err if $err;
    return error_res(422, 'invalid_mode', 'body must be an object') unless ref $b eq 'HASH';
    my $mode = $b->{mode} // '';
    return error_res(422, 'invalid_mode', "mode must be one of: " . join(', ', sort keys %MODES))
        unless !ref $mode && $MODES{$mode};
    my %m = (mode => $mode);
    if ($mode eq 'slow' || defined $b->{delay_ms}) {
        my $d = $b->{delay_ms} // 1000;
        return error_res(422, 'invalid_mode', 'delay_ms must be an integer 0..600000')
            unless is_json_int($d) && $d >= 0 && $d <= 600_000;
        $m{delay_ms} = $d + 0;
    }
    if ($mode eq 'flaky') {
        my $r = $b->{fail_ratio} // 0.5;
        return error_res(422, 'invalid_mode', 'fail_ratio must be a number 0..1')
            unless !ref $r && looks_like_number($r) && $r >= 0 && $r <= 1;
        $m{fail_ratio} = $r + 0;
        my $w = $b->{fail_when} // 'before';
        return error_res(422, 'invalid_mode', 'fail_when must be before, after or either')
            unless !ref $w && $w =~ /^(?:before|after|either)$/;
        $m{fail_when} = $w;
    }
    if (defined $b->{retry_after}) {
        return error_res(422, 'invalid_mode', 'retry_after must be an integer 0..86400 (seconds)')
            unless is_json_int($b->{retry_after}) && $b->{retry_after} >= 0 && $b->{retry_after} <= 86400;
        $m{retry_after} = $b->{retry_after} + 0;
    }
    if (defined $b->{key_prefix}) {
        return error_res(422, 'invalid_mode', 'key_prefix must be a non-empty string')
            unless is_json_string($b->{key_prefix}) && length $b->{key_prefix};
        $m{key_prefix} = $b->{key_prefix};
    }
    ctl_update(sub ($c) { $c->{mode} = \%m });
    return json_res(200, { mode => mode_view(\%m) });
}

# ---- orders ----
sub validate_order ($b, $hdr_key) {
    return ('invalid_order', 'body must be a JSON object') unless ref $b eq 'HASH';
    my $oid = $b->{order_id};
    if (is_json_int($oid) && $oid > 0) { $b->{order_id} = "$oid" }
    elsif (!is_json_string($oid) || $oid !~ /^[\x21-\x7e]{1,64}$/) {
        return ('invalid_order', 'order_id must be a string of 1..64 printable ASCII characters (or a positive integer)');
    }
    my $key = $b->{idempotency_key};
    if (defined $key) {
        return ('invalid_order', 'idempotency_key must be a string of 1..255 characters without controls')
            unless is_json_string($key) && length $key <= 255 && $key =~ /^[^\x00-\x1f\x7f]+$/;
        return ('idempotency_key_mismatch', 'the Idempotency-Key header and idempotency_key differ')
            if defined $hdr_key && $hdr_key ne $key;
    } elsif (defined $hdr_key && length $hdr_key && length $hdr_key <= 255) {
        $b->{idempotency_key} = $hdr_key;
    } else {
        return ('invalid_order', 'idempotency_key (or the Idempotency-Key header) is required');
    }
    return ('invalid_order', 'account must be a string of 1..64 characters')
        unless is_json_string($b->{account}) && $b->{account} =~ /^[^\x00-\x1f\x7f]{1,64}$/;
    return ('invalid_order', 'po_number must be a non-blank string of at most 64 characters')
        unless is_json_string($b->{po_number}) && $b->{po_number} =~ /\S/
            && $b->{po_number} =~ /^[^\x00-\x1f\x7f]{1,64}$/;
    return ('invalid_order', 'currency must be three upper-case letters')
        unless is_json_string($b->{currency}) && $b->{currency} =~ /^[A-Z]{3}$/;
    for my $opt (qw(note placed_at promo_code)) {
        return ('invalid_order', "$opt must be a string when present")
            if exists $b->{$opt} && defined $b->{$opt} && !is_json_string($b->{$opt});
    }
    my $lines = $b->{lines};
    return ('invalid_order', 'lines must be a non-empty array of at most 1000 lines')
        unless ref $lines eq 'ARRAY' && @$lines && @$lines <= 1000;
    my $digits;
    my $amount = sub ($where, $v) {
        my ($u, $d) = parse_amount($v);
        return (undef, "$where must be a decimal string like \"17.25\"") unless defined $u;
        $digits //= $d;
        return (undef, "$where has $d fractional digits, other amounts have $digits: use the currency's minor digits")
            if $d != $digits;
        return ($u, undef);
    };
    my $i = 0;
    for my $l (@$lines) {
        my $w = "lines[$i]";
        return ('invalid_order', "$w must be an object") unless ref $l eq 'HASH';
        return ('invalid_order', "$w.sku must be a string of 1..64 characters")
            unless is_json_string($l->{sku}) && $l->{sku} =~ /^[^\x00-\x1f\x7f]{1,64}$/;
        return ('invalid_order', "$w.qty must be an integer 1..1000000")
            unless is_json_int($l->{qty}) && $l->{qty} >= 1 && $l->{qty} <= 1_000_000;
        return ('invalid_order', "$w.line_no must be a positive integer")
            if exists $l->{line_no} && !(is_json_int($l->{line_no}) && $l->{line_no} >= 1);
        my (undef, $e) = $amount->("$w.unit_price", $l->{unit_price});
        return ('invalid_order', $e) if $e;
        my %v;
        for my $f (qw(net tax gross)) {
            next unless exists $l->{$f};
            ($v{$f}, $e) = $amount->("$w.$f", $l->{$f});
            return ('invalid_order', $e) if $e;
        }
        return ('invalid_order', "$w: gross must equal net + tax")
            if keys %v == 3 && $v{gross} != $v{net} + $v{tax};
        $i++;
    }
    my $t = $b->{totals};
    return ('invalid_order', 'totals must be an object {"net","tax","gross"}') unless ref $t eq 'HASH';
    my %tv;
    for my $f (qw(net tax gross)) {
        my $e;
        ($tv{$f}, $e) = $amount->("totals.$f", $t->{$f});
        return ('invalid_order', $e) if $e;
    }
    return ('invalid_order', 'totals: gross must equal net + tax') if $tv{gross} != $tv{net} + $tv{tax};
    return ();
}

sub order_view ($o, $full = 0) {
    my %v = (key => $o->{key}, order_id => $o->{order_id}, erp_ref => $o->{erp_ref},
             status => $o->{status}, deliveries => $o->{deliveries},
             first_at => iso_ms($o->{first_ms}), last_at => iso_ms($o->{last_ms}),
             account => $o->{account}, currency => $o->{currency}, gross => $o->{gross},
             history => [ map { { status => $_->[0], at => iso_ms($_->[1]) } } @{ $o->{history} } ]);
    $v{last_push} = $o->{last_push} if $o->{last_push};
    $v{request} = $o->{request} if $full;
    return \%v;
}

# Stock checked by the order: backordered if a tracked SKU lacks quantity;
# a confirmed order takes its quantities off the tracked SKUs. SKUs the
# simulator has no level for are unlimited.
sub allocate ($stock, $lines, $now) {
    my %need;
    $need{ $_->{sku} } += $_->{qty} for @$lines;
    my @tracked = grep { $stock->{$_} } keys %need;
    for my $sku (@tracked) {
        return ('backordered', 0) if $stock->{$sku}{on_hand} < $need{$sku};
    }
    for my $sku (@tracked) {
        $stock->{$sku}{on_hand} -= $need{$sku};
        $stock->{$sku}{as_of_ms} = $now;
    }
    return ('confirmed', scalar @tracked);
}

sub post_order ($req, $note) {
    my ($b, $err) = decode_body($req);
    my $hdr_key = $req->header('Idempotency-Key');
    my $key = ref $b eq 'HASH' && is_json_string($b->{idempotency_key}) ? $b->{idempotency_key} : $hdr_key;
    $note->{key} = $key if defined $key;

    # Mode decisions (and the delay) come first: a simulated outage refuses
    # even malformed orders, as a real one would.
    my ($effect, $mode) = @{ ctl_update(sub ($c) {
        $c->{stats}{requests}++;
        my $e = mode_effect($c, 'order', $key);
        $c->{stats}{refused}++ if ($e->{fail} && $e->{phase} eq 'before') || $e->{reject} || $e->{garbage};
        [ $e, { %{ $c->{mode} } } ];
    }) };
    $note->{mode} = $mode->{mode};
    Time::HiRes::sleep($effect->{delay_ms} / 1000) if $effect->{delay_ms};
    return failure_res($effect, $mode) if $effect->{fail} && $effect->{phase} eq 'before';
    return garbage_res() if $effect->{garbage};
    return error_res(422, 'rejected', 'order rejected by the ERP (simulated: mode reject)') if $effect->{reject};
    return $err if $err;

    my ($ecode, $emsg) = validate_order($b, $hdr_key);
    return error_res(422, $ecode, $emsg) if $ecode;
    $key = $b->{idempotency_key};
    $note->{key} = $key;

    my $now = now_ms();
    my $r = locked(1, sub {
        my $o = order_get($key);
        if ($o) {
            return { conflict => $o->{order_id} } if $o->{order_id} ne $b->{order_id};
            $o->{deliveries}++;
            $o->{last_ms} = $now;
            order_put($o);
            return { code => 200, o => order_view($o) };
        }
        my $c = ctl();
        my $ref = sprintf('ERP-%06d', $c->{next_ref}++);
        my $seq = $c->{next_seq}++;
        save($CTL_FILE, $c);
        my $stock = load($STOCK_FILE);
        my ($status, $changed) = allocate($stock, $b->{lines}, $now);
        save($STOCK_FILE, $stock) if $changed;
        $o = { key => $key, order_id => $b->{order_id}, erp_ref => $ref, status => $status,
               deliveries => 1, first_ms => $now, last_ms => $now, seq => $seq,
               account => $b->{account}, currency => $b->{currency}, gross => $b->{totals}{gross},
               history => [ [ $status, $now ] ], request => $b };
        order_put($o);
        # The first key seen for an order_id is the one /_sim/advance moves.
        my $idf = "$IDS_DIR/" . fname($b->{order_id});
        save($idf, { key => $key }) unless -e $idf;
        return { code => 201, o => order_view($o) };
    });
    if ($r->{conflict}) {
        return error_res(409, 'idempotency_key_reused',
                         "idempotency key '$key' already belongs to order $r->{conflict}");
    }
    my $o = $r->{o};
    $note->{erp_ref} = $o->{erp_ref};
    $note->{deliveries} = $o->{deliveries};
    # "after": the ERP took the order but the answer is lost.
    return failure_res($effect, $mode) if $effect->{fail};
    schedule_push($o->{order_id}) if $r->{code} == 201 && $opt{portal} && $opt{'auto-push-ms'} > 0;
    return json_res($r->{code}, { erp_ref => $o->{erp_ref}, status => $o->{status},
                                  order_id => $o->{order_id}, idempotency_key => $o->{key},
                                  deliveries => $o->{deliveries} });
}

sub list_orders ($req) {
    my %q = $req->uri->query_form;
    my $full = ($q{full} // '') eq '1';
    return locked(0, sub {
        my $c = ctl();
        my @o = sort { $a->{seq} <=> $b->{seq} } all_orders();
        @o = grep { $_->{order_id} eq $q{order_id} } @o if defined $q{order_id};
        @o = grep { $_->{key} eq $q{key} } @o if defined $q{key};
        @o = grep { substr($_->{key}, 0, length $q{prefix}) eq $q{prefix} } @o if defined $q{prefix};
        my $total = 0;
        $total += $_->{deliveries} for @o;
        json_res(200, { orders => [ map { order_view($_, $full) } @o ], total_deliveries => $total,
                        distinct => scalar @o, refused => $c->{stats}{refused},
                        requests => $c->{stats}{requests}, mode => mode_view($c->{mode}) });
    });
}

# ---- stock ----
# Upserts items [{sku, on_hand, as_of?}] into %$stock; returns an error or ''.
sub stock_apply ($stock, $items, $now) {
    my $i = 0;
    my @ok;
    for my $it (@$items) {
        return "[$i] must be an object" unless ref $it eq 'HASH';
        return "[$i].sku must be a string of 1..64 characters"
            unless is_json_string($it->{sku}) && $it->{sku} =~ /^[^\x00-\x1f\x7f]{1,64}$/;
        return "[$i].on_hand must be an integer" unless is_json_int($it->{on_hand});
        my $at = $now;
        if (defined $it->{as_of}) {
            $at = parse_time_ms($it->{as_of});
            return "[$i].as_of must be ISO 8601 or unix seconds" unless defined $at;
        }
        push @ok, [ $it->{sku}, $it->{on_hand} + 0, $at ];
        $i++;
    }
    $stock->{ $_->[0] } = { on_hand => $_->[1], as_of_ms => $_->[2] } for @ok;
    return '';
}

sub set_stock ($req) {
    my ($b, $err) = decode_body($req);
    return $err if $err;
    $b = $b->{items} if ref $b eq 'HASH' && ref $b->{items} eq 'ARRAY';
    return error_res(422, 'invalid_stock', 'body must be [{"sku","on_hand","as_of"?}] or {"items":[...]}')
        unless ref $b eq 'ARRAY';
    my $now = now_ms();
    my $e = locked(1, sub {
        my $stock = load($STOCK_FILE);
        my $e = stock_apply($stock, $b, $now);    # all or nothing: it checks first
        save($STOCK_FILE, $stock) unless $e;
        $e;
    });
    return error_res(422, 'invalid_stock', $e) if $e;
    return json_res(200, { updated => scalar @$b });
}

sub get_stock ($req, $note) {
    my %q = $req->uri->query_form;
    my $since;
    if (defined $q{since} && length $q{since}) {
        $since = parse_time_ms($q{since});
        return error_res(400, 'invalid_since', 'since must be ISO 8601 or unix seconds') unless defined $since;
    }
    my ($effect, $mode) = @{ ctl_update(sub ($c) {
        $c->{stats}{requests}++;
        my $e = mode_effect($c, 'stock', undef);
        $c->{stats}{refused}++ if $e->{fail} || $e->{garbage};
        [ $e, { %{ $c->{mode} } } ];
    }) };
    $note->{mode} = $mode->{mode};
    Time::HiRes::sleep($effect->{delay_ms} / 1000) if $effect->{delay_ms};
    return failure_res($effect, $mode) if $effect->{fail};
    return garbage_res() if $effect->{garbage};
    my $items = locked(0, sub {
        my $stock = load($STOCK_FILE);
        [ map { { sku => $_, on_hand => $stock->{$_}{on_hand} + 0, as_of => iso_ms($stock->{$_}{as_of_ms}) } }
          grep { !defined $since || $stock->{$_}{as_of_ms} >= $since } sort keys %$stock ];
    });
    $note->{items} = scalar @$items;
    return json_res(200, $items);
}

# ---- status push-back to the portal ----
my %PUSH_STATUSES = map { $_ => 1 } qw(confirmed backordered shipped invoiced);

sub push_status ($order_id, $status, $erp_ref) {
    my $url = "$opt{portal}/api/v1/erp/orders/" . uri_escape($order_id) . "/status";
    my $http = HTTP::Tiny->new(timeout => 10, agent => "b2b-erp-sim/$VERSION");
    my $auth = 'Basic ' . encode_base64("$opt{'portal-user'}:$opt{'portal-password'}", '');
    my $res = $http->post($url, { headers => { 'Content-Type' => 'application/json', Authorization => $auth },
                                  content => $JSON->encode({ status => $status, erp_ref => $erp_ref }) });
    # HTTP::Tiny reports its own failures (refused, timeout) as status 599.
    my $r = { url => $url, status => $res->{status}, ok => $res->{success} ? JSON::PP::true : JSON::PP::false,
              at => iso_ms(now_ms()) };
    $r->{body} = substr($res->{content} // '', 0, 2000);
    logline("push $order_id $status -> $url: $res->{status}");
    return $r;
}

sub uri_escape ($s) { $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ger }

sub record_push ($order_id, $push) {
    locked(1, sub {
        my $key = key_of_id($order_id) // return;
        my $o = order_get($key) // return;
        $o->{last_push} = $push;
        order_put($o);
    });
}

sub advance ($req, $note) {
    my ($b, $err) = decode_body($req);
    return $err if $err;
    return error_res(422, 'invalid_advance', 'body must be {"order_id","status"}') unless ref $b eq 'HASH';
    my $oid = $b->{order_id};
    $oid = "$oid" if is_json_int($oid);
    return error_res(422, 'invalid_advance', 'order_id must be given') unless defined $oid && !ref $oid;
    my $status = $b->{status} // '';
    return error_res(422, 'invalid_advance', 'status must be one of: ' . join(', ', sort keys %PUSH_STATUSES))
        unless !ref $status && $PUSH_STATUSES{$status};
    my $now = now_ms();
    my $o = locked(1, sub {
        my $key = key_of_id($oid) // return undef;
        my $o = order_get($key) // return undef;
        if ($o->{status} ne $status) {
            $o->{status} = $status;
            push @{ $o->{history} }, [ $status, $now ];
            order_put($o);
        }
        order_view($o);
    });
    $note->{order_id} = $oid;
    return error_res(404, 'unknown_order', "no order with order_id '$oid'") unless $o;
    my %ans = (order_id => $oid, erp_ref => $o->{erp_ref}, status => $status);
    unless ($opt{portal}) {
        return json_res(200, { %ans, pushed => JSON::PP::false, reason => 'no --portal configured' });
    }
    my $push = push_status($oid, $status, $o->{erp_ref});
    record_push($oid, { status => $status, portal_status => $push->{status}, at => $push->{at} });
    $ans{pushed} = $push->{ok};
    $ans{portal} = { url => $push->{url}, status => $push->{status}, body => $push->{body} };
    return json_res($push->{ok} ? 200 : 502, \%ans);
}

# Automatic push (--auto-push-ms): a detached grandchild waits, then pushes
# the order's current status. It stays in the simulator's process group, so
# stopping the simulator stops it too.
sub schedule_push ($order_id) {
    my $pid = fork;
    return unless defined $pid;
    if ($pid) { waitpid($pid, 0); return }
    my $gpid = fork;
    POSIX::_exit(0) if !defined $gpid || $gpid;
    Time::HiRes::sleep($opt{'auto-push-ms'} / 1000);
    my $o = locked(0, sub {
        my $key = key_of_id($order_id) // return undef;
        my $o = order_get($key);
        $o ? order_view($o) : undef;
    });
    if ($o) {
        my $push = push_status($order_id, $o->{status}, $o->{erp_ref});
        record_push($order_id, { status => $o->{status}, portal_status => $push->{status}, at => $push->{at} });
    }
    POSIX::_exit(0);
}

# ---- control ----
sub reset_state () {
    locked(1, sub { wipe_state(ctl()->{next_ref}) });
    return json_res(200, { reset => JSON::PP::true });
}

sub health () {
    my $m = locked(0, sub { ctl()->{mode} });
    return json_res(200, { status => 'ok', service => 'erp-sim', version => $VERSION, pid => $PARENT_PID + 0,
                           port => $opt{port} + 0, mode => $m,
                           portal => $opt{portal} // JSON::PP::null });
}

# ---- dispatch ----
sub dispatch ($req, $note) {
    my $m = $req->method;
    my $p = $req->uri->path;
    my %routes = (
        '/orders'       => { POST => sub { post_order($req, $note) } },
        '/stock'        => { GET  => sub { get_stock($req, $note) } },
        '/_sim/health'  => { GET  => sub { health() } },
        '/_sim/mode'    => { POST => sub { set_mode($req) },
                             GET  => sub { json_res(200, { mode => locked(0, sub { ctl()->{mode} }) }) } },
        '/_sim/orders'  => { GET  => sub { list_orders($req) } },
        '/_sim/reset'   => { POST => sub { reset_state() } },
        '/_sim/stock'   => { POST => sub { set_stock($req) } },
        '/_sim/advance' => { POST => sub { advance($req, $note) } },
    );
    my $r = $routes{$p} or return error_res(404, 'not_found', "no such endpoint: $p");
    my $h = $r->{$m} or return error_res(405, 'method_not_allowed', "$m not allowed on $p",
                                         Allow => join(', ', sort keys %$r));
    my $res = eval { $h->() };
    return $res if $res;
    my $e = $@ =~ s/\s+$//r;
    logline("internal error on $m $p: $e");
    return error_res(500, 'internal_error', 'simulator bug: ' . $e);
}

sub serve_connection ($c) {
    $c->timeout($opt{'idle-timeout'});
    # HTTP::Daemon writes status, headers and body separately: without
    # TCP_NODELAY, Nagle and delayed ACKs add ~40 ms to every answer.
    setsockopt($c, IPPROTO_TCP, TCP_NODELAY, 1);
    my $peer = $c->peerhost // '?';
    while (my $req = $c->get_request) {
        my $t0 = Time::HiRes::time();
        my %note;
        my $res = dispatch($req, \%note);
        $c->send_response($res);
        my $ms = int((Time::HiRes::time() - $t0) * 1000);
        my $extra = join ' ', map { "$_=$note{$_}" } sort grep { defined $note{$_} } keys %note;
        logline(sprintf('%s %s %s %d %dms%s', $peer, $req->method, $req->uri->path_query,
                        $res->code, $ms, length $extra ? " $extra" : ''));
    }
    $c->close;
}

package ErpSim::ClosedDaemon {
    sub new ($class, $url, $tokens) { bless { url => $url, tokens => $tokens }, $class }
    sub url ($self) { $self->{url} }
    sub product_tokens ($self) { $self->{tokens} }
}

# ---- main ----
$SIG{PIPE} = 'IGNORE';    # a client that gave up (timeout) must not kill its child
# Our own process group (unless already a leader), so a stop can take the
# children and any push grandchildren with us.
POSIX::setsid() if getpgrp() != $$;

# Fresh state unless --keep-state finds some (then orders, stock, mode and
# the erp_ref counter survive a restart).
locked(1, sub {
    if ($opt{'keep-state'} && -f $CTL_FILE && -d $ORDERS_DIR && -d $IDS_DIR) {
        save($STOCK_FILE, seed_stock()) unless -f $STOCK_FILE;
    } else {
        wipe_state(1);
    }
});

my $d = HTTP::Daemon->new(LocalAddr => '127.0.0.1', LocalPort => $opt{port}, ReuseAddr => 1,
                          Listen => 128, Timeout => 0.5)
    or die "erp-sim: cannot listen on 127.0.0.1:$opt{port}: $@\n";

if (defined $opt{'pid-file'}) {
    open my $pf, '>', "$opt{'pid-file'}.$$" or die "erp-sim: pid file: $!\n";
    print $pf "$$\n";
    close $pf;
    rename "$opt{'pid-file'}.$$", $opt{'pid-file'} or die "erp-sim: pid file: $!\n";
}

my %kids;
my $stopping = 0;
$SIG{CHLD} = sub { while ((my $k = waitpid(-1, WNOHANG)) > 0) { delete $kids{$k} } };
my $stop = sub ($sig) { $stopping = $sig };
$SIG{TERM} = $stop;
$SIG{INT}  = $stop;
$SIG{HUP}  = $stop;

logline("listening on 127.0.0.1:$opt{port} (state $STATE_DIR, seed $opt{seed}"
        . ($opt{portal} ? ", portal $opt{portal}" : '') . ")");

while (!$stopping) {
    my $c = $d->accept;
    next unless $c;    # timeout (0.5 s) or EINTR: check $stopping
    # SIGCHLD waits until the child is in %kids, or a quick child's reaping
    # would leave a stale pid there (that stop would later signal).
    my $blocked = POSIX::SigSet->new(POSIX::SIGCHLD());
    POSIX::sigprocmask(POSIX::SIG_BLOCK(), $blocked);
    my $pid = fork;
    $kids{$pid} = 1 if $pid;
    POSIX::sigprocmask(POSIX::SIG_UNBLOCK(), $blocked) unless defined $pid && $pid == 0;
    if (!defined $pid) {
        logline("fork failed: $!; answering 503");
        eval { $c->send_response(error_res(503, 'unavailable', 'simulator cannot fork')) };
        $c->close;
        next;
    }
    if ($pid == 0) {
        $SIG{$_} = 'DEFAULT' for qw(TERM INT HUP CHLD);
        POSIX::sigprocmask(POSIX::SIG_UNBLOCK(), $blocked);
        # The child must not hold the listening socket (a stop waits for the
        # port to be free), but HTTP::Daemon asks its daemon for the URL and
        # the Server header: hand it a stand-in.
        ${*$c}{'httpd_daemon'} = ErpSim::ClosedDaemon->new($d->url, "b2b-erp-sim/$VERSION");
        $d->close;
        serve_connection($c);
        POSIX::_exit(0);
    }
    $c->close;
}

logline("stopping on SIG$stopping");
$d->close;
kill 'TERM', keys %kids;
my $deadline = Time::HiRes::time() + 3;
while (%kids && Time::HiRes::time() < $deadline) { Time::HiRes::sleep(0.05) }
kill 'KILL', keys %kids if %kids;
unlink $opt{'pid-file'} if defined $opt{'pid-file'};
exit 0;

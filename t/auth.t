# Who may reach the API at all: Apache's Basic auth against the portal's
# users (bcrypt), answered as JSON errors.
use strict;
use warnings;
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use B2BTest;

plan tests => 16;

my $r = api(GET => '/me');
is($r->code, 401, 'no credentials: 401');
is($r->{json}{error}{code}, 'unauthorized', 'no credentials: JSON error code');
like($r->header('WWW-Authenticate') // '', qr/^Basic realm=/, 'asks for Basic auth');

$r = api(GET => '/me', user => 'na-buyer', password => 'wrong');
is($r->code, 401, 'wrong password: 401');
is($r->{json}{error}{code}, 'unauthorized', 'wrong password: JSON error');

$r = api(GET => '/me', user => 'nobody-here', password => 'demo');
is($r->code, 401, 'unknown user: 401');

$r = api(GET => '/me', user => "na-buyer' OR '1'='1", password => 'demo');
is($r->code, 401, 'SQL in the user name: 401');

$r = api(GET => '/me', user => 'na-buyer', password => '');
is($r->code, 401, 'empty password: 401');

$r = api(GET => '/me', user => 'na-buyer');
is($r->code, 200, 'right password: 200');
is($r->{json}{user}{username}, 'na-buyer', 'and it is that user');

# The cached check (mod_authn_socache) must not outlive a wrong password.
$r = api(GET => '/me', user => 'na-buyer', password => 'demo2');
is($r->code, 401, 'after a good login, a wrong password is still refused');

# A disabled user is refused even though the password matches (and even if
# the password check is cached): within B2BIdentityCacheTTL (5 s here).
sql(q{UPDATE users SET active = false WHERE username = 'globex-buyer'});
$r = wait_until(10, sub { my $x = api(GET => '/me', user => 'globex-buyer');
                          $x->code == 401 ? $x : undef })
     || api(GET => '/me', user => 'globex-buyer');
is($r->code, 401, 'disabled user: 401');
is($r->{json}{error}{code}, 'unauthorized', 'disabled user: JSON error');
sql(q{UPDATE users SET active = true WHERE username = 'globex-buyer'});
$r = wait_until(10, sub { my $x = api(GET => '/me', user => 'globex-buyer');
                          $x->code == 200 ? $x : undef });
ok($r, 're-enabled user gets in again');

# Passwords are stored as bcrypt hashes, never in clear.
my $bad = sql(q{SELECT count(*) FROM users WHERE password_hash !~ '^\$2[aby]\$'});
is($bad, 0, 'every password is a bcrypt hash');
my $clear = sql(q{SELECT count(*) FROM users WHERE password_hash = 'demo'});
is($clear, 0, 'no clear-text password');

# The acting-account matrix: every demo user x every demo account, through
# X-B2B-Account on /me and through GET /accounts/{code}. Allowed, or a JSON
# 403 (same company) / 404 (unknown, or another company: codes do not leak).
use strict;
use warnings;
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use B2BTest;

my @accounts = demo_accounts();
my %may_act = (
    'acme-admin'   => { map { $_ => 1 } qw(ACME ACME-NA ACME-EMEA) },
    'na-buyer'     => { 'ACME-NA' => 1 },
    'na-approver'  => { 'ACME-NA' => 1 },
    'emea-buyer'   => { 'ACME-EMEA' => 1 },
    'globex-buyer' => { 'GLOBEX' => 1 },
    'portal-admin' => {},
    'erp'          => {},
);
my %company = (ACME => 'ACME', 'ACME-NA' => 'ACME', 'ACME-EMEA' => 'ACME',
               GLOBEX => 'GLOBEX');
my %user_company = ('acme-admin' => 'ACME', 'na-buyer' => 'ACME',
                    'na-approver' => 'ACME', 'emea-buyer' => 'ACME',
                    'globex-buyer' => 'GLOBEX');

sub expected_denial {
    my ($user, $acct) = @_;
    return 403 if !$user_company{$user};                   # operators: exists, not theirs
    return $user_company{$user} eq $company{$acct} ? 403 : 404;
}

plan tests => 2 * (keys %may_act) * @accounts * 2 + 6;

for my $user (sort keys %may_act) {
    for my $acct (@accounts) {
        my $r = api(GET => '/me', user => $user, headers => { 'X-B2B-Account' => $acct });
        if ($may_act{$user}{$acct}) {
            is($r->code, 200, "$user acts for $acct");
            is($r->{json}{acting_account}{code}, $acct, "$user acting account is $acct");
        }
        else {
            my $want = expected_denial($user, $acct);
            is($r->code, $want, "$user may not act for $acct: $want");
            is($r->{json}{error}{code}, $want == 403 ? 'account_forbidden'
                                                     : 'account_not_found',
               "$user/$acct: JSON error code");
        }

        # Reading an account: whoever may act for it, and portal operators.
        $r = api(GET => "/accounts/$acct", user => $user);
        if ($may_act{$user}{$acct} || $user eq 'portal-admin') {
            is($r->code, 200, "$user reads account $acct");
            is($r->{json}{code}, $acct, "$user reads the right account");
        }
        else {
            my $want = expected_denial($user, $acct);
            is($r->code, $want, "$user may not read $acct: $want");
            ok($r->{json}{error}{code}, "$user/$acct read: JSON error");
        }
    }
}

# Parent and children only as far as the caller may see.
my $r = api(GET => '/accounts/ACME', user => 'acme-admin');
my %kids = map { $_->{code} => 1 } @{ $r->{json}{children} || [] };
ok($kids{'ACME-NA'} && $kids{'ACME-EMEA'}, 'acme-admin sees ACME children');
is($r->{json}{credit}{limit}{amount}, '50000.00', 'ACME credit limit is exact money');

$r = api(GET => '/accounts/ACME-NA', user => 'na-buyer');
ok(!$r->{json}{parent} || !ref $r->{json}{parent}, 'na-buyer does not see the ACME parent');
$r = api(GET => '/accounts/ACME-NA', user => 'acme-admin');
is($r->{json}{parent}{code}, 'ACME', 'acme-admin sees the parent');

$r = api(GET => '/me', user => 'na-buyer', headers => { 'X-B2B-Account' => "ACME'; DROP TABLE accounts;--" });
is($r->code, 404, 'an injected account code is just not found');
is(sql('SELECT count(*) > 0 FROM accounts'), 't', 'accounts table intact');

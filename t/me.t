# GET /me for every demo user: identity, roles and the accounts they may act for.
use strict;
use warnings;
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use B2BTest;

my %expect = (
    'acme-admin'   => { acting => 'ACME', accounts => [qw(ACME ACME-EMEA ACME-NA)],
                        roles => [qw(account_admin approver)] },
    'na-buyer'     => { acting => 'ACME-NA', accounts => ['ACME-NA'], roles => ['buyer'] },
    'na-approver'  => { acting => 'ACME-NA', accounts => ['ACME-NA'], roles => ['approver'] },
    'emea-buyer'   => { acting => 'ACME-EMEA', accounts => ['ACME-EMEA'], roles => ['buyer'] },
    'globex-buyer' => { acting => 'GLOBEX', accounts => ['GLOBEX'], roles => ['buyer'] },
    'portal-admin' => { acting => undef, accounts => [], roles => ['portal_admin'] },
    'erp'          => { acting => undef, accounts => [], roles => ['integration'] },
);

plan tests => 5 * keys(%expect);

for my $user (sort keys %expect) {
    my $e = $expect{$user};
    my $r = api(GET => '/me', user => $user);
    is($r->code, 200, "$user: 200");
    my $j = $r->{json} || {};
    is($j->{user}{username}, $user, "$user: username");
    is($j->{acting_account} ? $j->{acting_account}{code} : undef, $e->{acting},
       "$user: acting account");
    # deeper demo accounts (if any) are fine: check the ones API.md names
    my %got = map { $_->{code} => 1 } @{ $j->{accounts} || [] };
    my @named = grep { /^(ACME|ACME-NA|ACME-EMEA|GLOBEX)$/ } sort keys %got;
    is_deeply(\@named, $e->{accounts}, "$user: accounts to act for");
    my %roles = map { $_ => 1 } @{ $j->{roles} || [] };
    ok(!grep({ !$roles{$_} } @{ $e->{roles} }), "$user: roles include @{$e->{roles}}");
}

# The pure C units (pricing engine, parsers, ...) are plain programs that
# print TAP; `make unit-build` puts them in build/unit/. Each of their
# assertions is reported here, so one prove summary covers everything.
use strict;
use warnings;
use Apache::Test qw(-withtestmore);

my $root = $ENV{B2B_ROOT} // '.';
my @bins = grep { -x $_ && -f $_ } glob "$root/build/unit/*";
plan skip_all => 'no unit test programs were built' unless @bins;

for my $bin (@bins) {
    my $name = (split m{/}, $bin)[-1];
    my @out = `$bin 2>&1`;
    my $rc = $? >> 8;
    my $n = 0;
    for (@out) {
        next unless /^(not )?ok\s+\d+\s*-?\s*(.*)$/;
        $n++;
        ok(!$1, "$name: $2");
    }
    ok($n > 0, "$name ran assertions");
    is($rc, 0, "$name exited 0") or diag(join '', grep { !/^ok / } @out);
}
done_testing();

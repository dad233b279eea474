# The libFuzzer targets (quote body + admin rule parser; rule compiler), run
# briefly on every `make test` with AddressSanitizer and UBSan; run longer by
# hand with `make pricing-fuzz FUZZ_SECONDS=600`.
use strict;
use warnings;
use Apache::Test qw(-withtestmore);

my $root = $ENV{B2B_ROOT} // '.';
my $secs = $ENV{FUZZ_SECONDS} // 5;
my $out = `make -s -C $root pricing-fuzz FUZZ_SECONDS=$secs 2>&1`;
my $rc = $? >> 8;
my @runs = $out =~ /^(Done \d+ runs in \d+ second)/mg;
is($rc, 0, "both fuzz targets ran $secs s without a crash, leak or sanitizer report")
    or diag(substr($out, -3000));
is(scalar @runs, 2, 'two targets reported their runs') or diag(substr($out, -2000));
diag($_) for @runs;
done_testing();

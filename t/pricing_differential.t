# The compiled engine against the SQL reference resolver (sql/050): seeded
# random rule sets on scratch databases built from the real migrations,
# 10,000 random (account, sku, qty, promo, currency, date) cases per seed;
# every case must agree. modules/pricing/tests/differential.sh does the work.
use strict;
use warnings;
use Apache::Test qw(-withtestmore);

my $root = $ENV{B2B_ROOT} // '.';
local $ENV{PGHOST} = $ENV{B2B_PG_HOST} // '127.0.0.1';
local $ENV{PGPORT} = $ENV{B2B_PG_PORT};
local $ENV{PGUSER} = $ENV{B2B_PG_USER} // 'b2b';
local $ENV{PGPASSWORD} = $ENV{B2B_PG_PASSWORD} // 'b2b';
local $ENV{PGDATABASE} = $ENV{B2B_PG_DB} // 'b2b';
local $ENV{DIFF_SEEDS} = $ENV{DIFF_SEEDS} // '1 2';
local $ENV{DIFF_CASES} = $ENV{DIFF_CASES} // '10000';

my @out = `bash $root/modules/pricing/tests/differential.sh 2>&1`;
my $rc = $? >> 8;
my $n = 0;
for (@out) {
    if (/^(not )?ok\s+\d+\s*-?\s*(.*)$/) { $n++; ok(!$1, $2) }
    elsif (/^#/) { print }
}
ok($n >= 2, "the differential test ran ($n checks)");
is($rc, 0, 'and exited 0') or diag(join '', @out[-20 .. -1]);
done_testing();

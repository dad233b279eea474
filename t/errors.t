# The error model: unknown routes and methods, oversized and malformed bodies.
# Always JSON, always the right 4xx, never a 500.
use strict;
use warnings;
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use B2BTest;

plan tests => 19;

my $r = api(GET => '/no/such/thing', user => 'na-buyer');
is($r->code, 404, 'unknown route: 404');
is($r->{json}{error}{code}, 'not_found', 'unknown route: JSON');

$r = api(GET => '/api/v1', user => 'na-buyer');
is($r->code, 404, 'API root: 404 JSON');

$r = api(DELETE => '/me', user => 'na-buyer');
is($r->code, 405, 'wrong method: 405');
is($r->{json}{error}{code}, 'method_not_allowed', 'wrong method: JSON');
like($r->header('Allow') // '', qr/GET/, 'Allow names GET');

$r = api(POST => '/accounts/ACME-NA', user => 'na-buyer', body => {});
is($r->code, 405, 'POST to a GET route: 405');

$r = api(GET => '/accounts/' . ('A' x 300), user => 'na-buyer');
is($r->code, 404, 'over-long path segment: 404');

$r = api(GET => '/accounts/%00abc', user => 'na-buyer');
ok($r->code == 404 || $r->code == 400, 'NUL in path: 4xx');

# Bodies go through one reader for every JSON route. POST /_echo exists only
# with "B2BDiagnostics On" (the test config sets it): it parses and echoes.
my $big = '{"x":"' . ('a' x (2 * 1024 * 1024)) . '"}';
$r = api(POST => '/_echo', user => 'na-buyer', raw => $big);
is($r->code, 413, 'oversized JSON body: 413');
is($r->{json}{error}{code}, 'body_too_large', 'oversized: JSON');

$r = api(POST => '/_echo', user => 'na-buyer', raw => '{"lines": [1, 2,');
is($r->code, 400, 'truncated JSON: 400');
is($r->{json}{error}{code}, 'malformed_json', 'truncated JSON: code');

$r = api(POST => '/_echo', user => 'na-buyer', raw => "\xff\xfe{}");
is($r->code, 400, 'invalid UTF-8: 400');

$r = api(POST => '/_echo', user => 'na-buyer', raw => '{"a":1,"a":2}');
is($r->code, 400, 'duplicate keys: 400');

$r = api(POST => '/_echo', user => 'na-buyer', raw => '{"a":1}', content_type => 'text/plain');
is($r->code, 415, 'wrong content type: 415');

$r = api(POST => '/_echo', user => 'na-buyer', raw => '{"a":[1,2,3]}');
is($r->code, 200, 'good JSON: 200');
is_deeply($r->{json}{received}, { a => [1, 2, 3] }, 'body round-trips');

my $log = `grep -c ' 500 ' t/logs/access_log 2>/dev/null` // 0;
chomp $log;
is($log + 0, 0, 'no 500 in the access log so far');

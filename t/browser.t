# The portal site in a real browser: t/browser/portal.mjs drives Debian's
# chromium through playwright-core against this test httpd and prints TAP;
# each of its steps is one test here. Screenshots of every page go to
# t/logs/screenshots/.
use strict;
use warnings;
use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use File::Path qw(make_path);
use File::Spec;
use Cwd qw(abs_path);

my $root = abs_path(File::Spec->catdir(Apache::Test::vars('t_dir'), '..'));
my $browser_dir = "$root/t/browser";
my $chromium = $ENV{B2B_CHROMIUM} || '/usr/bin/chromium';
my @missing;
push @missing, "$chromium (scripts/deps.sh installs Debian's chromium)" unless -x $chromium;
push @missing, 'node (Node.js)' unless grep { -x "$_/node" } split /:/, $ENV{PATH} // '';
push @missing, "$browser_dir/node_modules/playwright-core (make test runs npm ci --prefix t/browser)"
    unless -d "$browser_dir/node_modules/playwright-core";
if (@missing) {
    # Not a skip: a suite that silently drops its browser tests looks green.
    plan tests => 1;
    fail('the browser tests can run');
    diag("missing: $_") for @missing;
    exit 1;
}

my $shots = File::Spec->catdir(Apache::Test::vars('t_logs'), 'screenshots');
make_path($shots);
unlink glob("$shots/*.png");
(my $base = Apache::TestRequest::resolve_url('/')) =~ s{/$}{};

local $ENV{B2B_BASE_URL} = $base;
local $ENV{B2B_SCREENSHOTS} = $shots;
my $timeout = $ENV{B2B_BROWSER_TIMEOUT} || 600;
open(my $out, '-|', 'timeout', $timeout, 'node', "$browser_dir/portal.mjs")
    or die "cannot run node: $!";
my ($planned, $seen) = (undef, 0);
while (my $line = <$out>) {
    chomp $line;
    if ($line =~ /^(not )?ok \d+ - (.*?)(?:\s+# SKIP (.*))?$/) {
        my ($failed, $name, $skip) = ($1, $2, $3);
        $seen++;
        if (defined $skip) {
          SKIP: { skip($skip, 1) }
        }
        else {
            ok(!$failed, $name);
        }
    }
    elsif ($line =~ /^1\.\.(\d+)$/) {
        $planned = $1;
    }
    elsif ($line =~ /^#\s?(.*)$/) {
        my $text = $1;
        next if $text eq '';
        # a step's own lines (indented) say why it failed: always show them
        if ($text =~ /^\s/ && $text !~ /^\s+screenshot /) { diag($text) } else { note($text) }
    }
    else {
        diag($line);
    }
}
close $out;
my $rc = $? >> 8;
ok($seen > 0 && defined $planned && $planned == $seen,
   "the browser run finished (" . ($planned // 'no') . " planned, $seen reported)");
is($rc, 0, 'node exited 0') or diag("node exit status $rc" . ($rc == 124 ? " (timed out after $timeout s)" : ''));
diag("screenshots in $shots");
done_testing();

# Every B2B directive has a default and a merge rule: the names come from
# one header, each must appear in create/merge of mod_b2bportal.c and in the
# shipped configuration's comments or the README.
use strict;
use warnings;
use Apache::Test qw(-withtestmore);

my $root = $ENV{B2B_ROOT} // '.';
open my $h, '<', "$root/modules/core/b2b_core.h" or die $!;
my %dirs;
while (<$h>) {
    $dirs{$1} = $2 if /#define (B2B_DIR_\w+)\s+"(B2B\w+)"/;
}
open my $c, '<', "$root/mod_b2bportal.c" or die $!;
my $src = do { local $/; <$c> };
open my $rd, '<', "$root/README.md" or die $!;
my $readme = do { local $/; <$rd> };

plan tests => 3 * keys(%dirs) + 1;
ok(keys(%dirs) >= 6, 'directives found in b2b_core.h');
for my $macro (sort keys %dirs) {
    like($src, qr/AP_INIT_\w+\($macro,/, "$dirs{$macro} is registered");
    # the set_ function writes a field that create_ sets to unset and merge_ merges
    my ($setter) = $src =~ /AP_INIT_\w+\($macro,\s*(\w+)/;
    my ($body) = $src =~ /static const char \*\Q$setter\E\(.*?\n\}/s ? ($&) : ('');
    my ($field) = $body =~ /->(\w+) = /;
    ok($field && $src =~ /conf->\Q$field\E = add->\Q$field\E|conf->\Q$field\E = add->\Q$field\E\s/s
          || ($field && $src =~ /conf->\Q$field\E = .*?add->\Q$field\E/s),
       "$dirs{$macro} ($field) has a merge rule");
    like($readme, qr/\Q$dirs{$macro}\E/, "$dirs{$macro} is documented in README.md");
}

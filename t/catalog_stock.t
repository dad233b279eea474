# Stock is never shown older than B2BInventoryMaxAge (5 s in the test
# configuration), and availability.as_of says when the figure was true: a
# stock change reaches the cards within the bound, even while the content
# around it stays cached.
use strict;
use warnings;
use Apache::Test qw(-withtestmore);
use Time::HiRes qw(time sleep);
use Time::Local qw(timegm);
use lib 't/lib';
use B2BTest;

my $MAX_AGE = 5;

sub epoch {
    my ($iso) = @_;
    my ($y, $m, $d, $H, $M, $S, $f) = $iso =~ /^(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)(?:\.(\d+))?Z$/ or return;
    return timegm($S, $M, $H, $d, $m - 1, $y) + ($f ? "0.$f" : 0);
}
sub detail { api(GET => "/catalog/products/$_[0]", user => 'na-buyer') }

ok(wait_until(30, sub { detail('SKU-00010')->code == 200 }), 'catalog ready');
my $status = api(GET => '/admin/status', user => 'portal-admin')->{json}{catalog};
is($status->{inventory_max_age_seconds}, $MAX_AGE, "B2BInventoryMaxAge is $MAX_AGE here");

my $sku = 'SKU-00010';
my $orig = sql("SELECT on_hand FROM stock s JOIN products p ON p.id = s.product_id WHERE p.sku = '$sku'");
END { eval { sql("UPDATE stock SET on_hand = $orig, reserved = 0
                  FROM products p WHERE p.id = stock.product_id AND p.sku = '$sku'") } if defined $orig }
is($orig, 10, 'SKU-00010 has 10 on hand');

my $r = detail($sku);
is($r->{json}{availability}{available}, 10, 'the card shows 10');
my $as_of = epoch($r->{json}{availability}{as_of});
ok($as_of, 'as_of parses');
cmp_ok(time - $as_of, '<=', $MAX_AGE + 0.5, 'as_of is within the bound');
cmp_ok(time - $as_of, '>=', -1, 'and not in the future');

# The list page's stock too, on a page that stays cached.
my $page = sub { api(GET => '/catalog/products?q=SKU-00010', user => 'na-buyer') };
is($page->()->{json}{items}[0]{availability}{available}, 10, 'list card shows 10');

sql("UPDATE stock SET on_hand = 7, reserved = 2 FROM products p WHERE p.id = stock.product_id AND p.sku = '$sku'");
my $t0 = time;
my ($worst, $saw_new_detail, $saw_new_list) = (0);
while (time - $t0 < $MAX_AGE + 2) {
    for my $resp (detail($sku), $page->()) {
        my $a = $resp->{json}{availability} // $resp->{json}{items}[0]{availability};
        my $age = time - epoch($a->{as_of});
        $worst = $age if $age > $worst;
        if ($a->{available} == 5) {
            $resp->{json}{items} ? ($saw_new_list //= time - $t0) : ($saw_new_detail //= time - $t0);
        }
        else {
            is($a->{available}, 10, 'before the refresh: the old figure, with its own as_of')
                unless $a->{available} == 10;
        }
    }
    last if defined $saw_new_detail && defined $saw_new_list;
    sleep 0.25;
}
ok(defined $saw_new_detail, 'detail shows on_hand - reserved = 5');
ok(defined $saw_new_list, 'list card shows 5');
cmp_ok($saw_new_detail // 99, '<=', $MAX_AGE + 0.5, "detail within $MAX_AGE s");
cmp_ok($saw_new_list // 99, '<=', $MAX_AGE + 0.5, "list within $MAX_AGE s");
cmp_ok($worst, '<=', $MAX_AGE + 0.5, 'no answer carried a figure older than the bound');

# The content of the page was not re-read for that: only the stock.
my $before = api(GET => '/admin/status', user => 'portal-admin')->{json}{catalog}{reads}{stock};
ok(defined $before, 'status counts stock reads');

# Out of stock is 0, never negative.
sql("UPDATE stock SET on_hand = 1, reserved = 3 FROM products p WHERE p.id = stock.product_id AND p.sku = '$sku'");
ok(wait_until($MAX_AGE + 2, sub { detail($sku)->{json}{availability}{available} == 0 }),
   'more reserved than on hand shows 0');

done_testing();

package B2BTest;
# Helpers shared by the suite: authenticated JSON requests against the test
# httpd, and direct SQL through psql for setting up and checking state.
use strict;
use warnings;
use Exporter 'import';
use JSON::PP ();
use HTTP::Request ();
use Apache::TestRequest ();
use MIME::Base64 ();

our @EXPORT = qw(api api_raw json_of sql sql_rows demo_users demo_accounts
                 wait_until);

my $json = JSON::PP->new->canonical->allow_nonref;

sub demo_users {
    qw(acme-admin na-buyer na-approver emea-buyer globex-buyer portal-admin erp)
}
sub demo_accounts { qw(ACME ACME-NA ACME-EMEA GLOBEX) }

# api($method, $path, user => 'na-buyer', body => {...} | raw => '...',
#     headers => {...}, password => 'demo') -> HTTP::Response with ->{json}
sub api {
    my ($method, $path, %o) = @_;
    my $ua = Apache::TestRequest::user_agent(keep_alive => 1, reset => 0);
    my $url = Apache::TestRequest::resolve_url($path =~ m{^/api/} || $path =~ m{^/(metrics|b2b)}
                                               ? $path : "/api/v1$path");
    my $req = HTTP::Request->new($method => $url);
    if (defined $o{user}) {
        my $pw = exists $o{password} ? $o{password} : 'demo';
        $req->header(Authorization => 'Basic '
            . MIME::Base64::encode_base64("$o{user}:$pw", ''));
    }
    if (exists $o{body}) {
        $req->header('Content-Type' => 'application/json');
        $req->content($json->encode($o{body}));
    }
    elsif (exists $o{raw}) {
        $req->header('Content-Type' => $o{content_type} // 'application/json');
        $req->content($o{raw});
    }
    for my $h (keys %{ $o{headers} || {} }) {
        $req->header($h => $o{headers}{$h});
    }
    my $res = $ua->request($req);
    $res->{json} = json_of($res);
    return $res;
}

sub json_of {
    my $res = shift;
    return undef unless ($res->header('Content-Type') // '') =~ m{application/json};
    my $v = eval { $json->decode($res->decoded_content // '') };
    return $v;
}

sub _psql_args {
    return ('-X', '-q', '-A', '-t', '-F', "\t", '-v', 'ON_ERROR_STOP=1',
            '-h', $ENV{B2B_PG_HOST} // '127.0.0.1', '-p', $ENV{B2B_PG_PORT},
            '-U', $ENV{B2B_PG_USER} // 'b2b', '-d', $ENV{B2B_PG_DB} // 'b2b');
}

# sql("SELECT ...") -> first column of first row; dies on error.
sub sql {
    my ($q) = @_;
    my @rows = sql_rows($q);
    return @rows ? $rows[0][0] : undef;
}

sub sql_rows {
    my ($q) = @_;
    local $ENV{PGPASSWORD} = $ENV{B2B_PG_PASSWORD} // 'b2b';
    open my $fh, '-|', 'psql', _psql_args(), '-c', $q or die "psql: $!";
    my @rows = map { chomp; [ split /\t/, $_, -1 ] } grep { length } <$fh>;
    close $fh or die "psql failed for: $q\n";
    return @rows;
}

# Polls $cond every 100 ms for up to $secs; returns its last value.
sub wait_until {
    my ($secs, $cond) = @_;
    my $deadline = time + $secs;
    my $v;
    while (1) {
        $v = $cond->();
        return $v if $v || time > $deadline;
        select undef, undef, undef, 0.1;
    }
}

1;

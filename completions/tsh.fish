# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_tsh_global_optspecs
    string join \n proxy= user= insecure i/identity= debug h/help V/version
end

function __fish_tsh_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_tsh_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_tsh_using_subcommand
    set -l cmd (__fish_tsh_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c tsh -n "__fish_tsh_needs_command" -l proxy -d 'The proxy\'s web address, host[:port] (port 3080 when left out)' -r
complete -c tsh -n "__fish_tsh_needs_command" -l user -d 'The user name (default: the local user)' -r
complete -c tsh -n "__fish_tsh_needs_command" -s i -l identity -d 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile' -r -F
complete -c tsh -n "__fish_tsh_needs_command" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tsh -n "__fish_tsh_needs_command" -l debug -d 'Print what tsh does, step by step with the time since it started, on stderr'
complete -c tsh -n "__fish_tsh_needs_command" -s h -l help -d 'Print help'
complete -c tsh -n "__fish_tsh_needs_command" -s V -l version -d 'Print version'
complete -c tsh -n "__fish_tsh_needs_command" -f -a "login" -d 'Log in to a cluster and get short-lived certificates'
complete -c tsh -n "__fish_tsh_needs_command" -f -a "clusters" -d 'List the root cluster and the leaf clusters you may see'
complete -c tsh -n "__fish_tsh_needs_command" -f -a "status" -d 'Show the current profile'
complete -c tsh -n "__fish_tsh_needs_command" -f -a "ssh" -d 'Run a command or a shell on a node, or a command on every node with some labels: tsh ssh [LOGIN@]HOST|[LOGIN@]KEY=VALUE[,...] [COMMAND...]'
complete -c tsh -n "__fish_tsh_needs_command" -f -a "scp" -d 'Copy files to or from a node over SFTP: tsh scp [-r] SRC... [LOGIN@]NODE:PATH (or the reverse)'
complete -c tsh -n "__fish_tsh_needs_command" -f -a "ls" -d 'List the nodes you may log in to: tsh ls [label=value ...]'
complete -c tsh -n "__fish_tsh_needs_command" -f -a "config" -d 'Print an OpenSSH client configuration that reaches nodes through tsh'
complete -c tsh -n "__fish_tsh_needs_command" -f -a "proxy" -d 'Helpers for other programs'
complete -c tsh -n "__fish_tsh_needs_command" -f -a "logout" -d 'Delete all profiles and keys'
complete -c tsh -n "__fish_tsh_needs_command" -f -a "completion" -d 'Print a shell completion script'
complete -c tsh -n "__fish_tsh_needs_command" -f -a "version" -d 'Print the version'
complete -c tsh -n "__fish_tsh_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tsh -n "__fish_tsh_using_subcommand login" -l ttl -d 'Certificate lifetime (capped by your roles), e.g. 8h' -r
complete -c tsh -n "__fish_tsh_using_subcommand login" -l invite -d 'The one-time invite from `tctl users add`: sets your password' -r
complete -c tsh -n "__fish_tsh_using_subcommand login" -l keystore -d 'Where to keep the private key' -r -f -a "auto\t''
keyring\t''
file\t''"
complete -c tsh -n "__fish_tsh_using_subcommand login" -l cluster -d 'Select a leaf cluster for later commands (a valid login is reused, no password)' -r
complete -c tsh -n "__fish_tsh_using_subcommand login" -l ca-pin -d 'Trust the proxy\'s HTTPS certificate when it chains to the cluster TLS CA with this pin (`sha256:HEX`, as `tctl users add` prints it): a first login without --insecure' -r
complete -c tsh -n "__fish_tsh_using_subcommand login" -l proxy -d 'The proxy\'s web address, host[:port] (port 3080 when left out)' -r
complete -c tsh -n "__fish_tsh_using_subcommand login" -l user -d 'The user name (default: the local user)' -r
complete -c tsh -n "__fish_tsh_using_subcommand login" -s i -l identity -d 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile' -r -F
complete -c tsh -n "__fish_tsh_using_subcommand login" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tsh -n "__fish_tsh_using_subcommand login" -l debug -d 'Print what tsh does, step by step with the time since it started, on stderr'
complete -c tsh -n "__fish_tsh_using_subcommand login" -s h -l help -d 'Print help'
complete -c tsh -n "__fish_tsh_using_subcommand clusters" -l format -d 'Output format' -r -f -a "text\t''
json\t''
yaml\t''"
complete -c tsh -n "__fish_tsh_using_subcommand clusters" -l proxy -d 'The proxy\'s web address, host[:port] (port 3080 when left out)' -r
complete -c tsh -n "__fish_tsh_using_subcommand clusters" -l user -d 'The user name (default: the local user)' -r
complete -c tsh -n "__fish_tsh_using_subcommand clusters" -s i -l identity -d 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile' -r -F
complete -c tsh -n "__fish_tsh_using_subcommand clusters" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tsh -n "__fish_tsh_using_subcommand clusters" -l debug -d 'Print what tsh does, step by step with the time since it started, on stderr'
complete -c tsh -n "__fish_tsh_using_subcommand clusters" -s h -l help -d 'Print help'
complete -c tsh -n "__fish_tsh_using_subcommand status" -l format -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c tsh -n "__fish_tsh_using_subcommand status" -l proxy -d 'The proxy\'s web address, host[:port] (port 3080 when left out)' -r
complete -c tsh -n "__fish_tsh_using_subcommand status" -l user -d 'The user name (default: the local user)' -r
complete -c tsh -n "__fish_tsh_using_subcommand status" -s i -l identity -d 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile' -r -F
complete -c tsh -n "__fish_tsh_using_subcommand status" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tsh -n "__fish_tsh_using_subcommand status" -l debug -d 'Print what tsh does, step by step with the time since it started, on stderr'
complete -c tsh -n "__fish_tsh_using_subcommand status" -s h -l help -d 'Print help'
complete -c tsh -n "__fish_tsh_using_subcommand ssh" -l cluster -d 'The cluster the node is in (default: the one you logged in to)' -r
complete -c tsh -n "__fish_tsh_using_subcommand ssh" -s p -l port -d 'The node\'s SSH port' -r
complete -c tsh -n "__fish_tsh_using_subcommand ssh" -s l -l login -d 'The Unix login (default: the first login of your certificate)' -r
complete -c tsh -n "__fish_tsh_using_subcommand ssh" -s L -d 'Forward a local port to HOST:HOSTPORT as seen from the node (repeatable)' -r
complete -c tsh -n "__fish_tsh_using_subcommand ssh" -s R -d 'Forward a port on the node\'s loopback to HOST:HOSTPORT as seen from here (repeatable)' -r
complete -c tsh -n "__fish_tsh_using_subcommand ssh" -s D -d 'A local SOCKS5 proxy whose connections leave from the node (repeatable)' -r
complete -c tsh -n "__fish_tsh_using_subcommand ssh" -l max-parallel -d 'With a label selector as HOST (key=value[,key=value]): how many nodes run the command at once' -r
complete -c tsh -n "__fish_tsh_using_subcommand ssh" -l proxy -d 'The proxy\'s web address, host[:port] (port 3080 when left out)' -r
complete -c tsh -n "__fish_tsh_using_subcommand ssh" -l user -d 'The user name (default: the local user)' -r
complete -c tsh -n "__fish_tsh_using_subcommand ssh" -s i -l identity -d 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile' -r -F
complete -c tsh -n "__fish_tsh_using_subcommand ssh" -s t -d 'Force a pseudo-terminal'
complete -c tsh -n "__fish_tsh_using_subcommand ssh" -s T -d 'Never allocate a pseudo-terminal'
complete -c tsh -n "__fish_tsh_using_subcommand ssh" -s N -d 'Run no command: hold the forwards until Ctrl-C or SIGTERM'
complete -c tsh -n "__fish_tsh_using_subcommand ssh" -s A -d 'Forward your SSH agent (SSH_AUTH_SOCK) to the node'
complete -c tsh -n "__fish_tsh_using_subcommand ssh" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tsh -n "__fish_tsh_using_subcommand ssh" -l debug -d 'Print what tsh does, step by step with the time since it started, on stderr'
complete -c tsh -n "__fish_tsh_using_subcommand ssh" -s h -l help -d 'Print help'
complete -c tsh -n "__fish_tsh_using_subcommand scp" -l cluster -d 'The cluster the node is in (default: the one you logged in to)' -r
complete -c tsh -n "__fish_tsh_using_subcommand scp" -s P -l port -d 'The node\'s SSH port' -r
complete -c tsh -n "__fish_tsh_using_subcommand scp" -l proxy -d 'The proxy\'s web address, host[:port] (port 3080 when left out)' -r
complete -c tsh -n "__fish_tsh_using_subcommand scp" -l user -d 'The user name (default: the local user)' -r
complete -c tsh -n "__fish_tsh_using_subcommand scp" -s i -l identity -d 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile' -r -F
complete -c tsh -n "__fish_tsh_using_subcommand scp" -s r -l recursive -d 'Copy directories and their contents'
complete -c tsh -n "__fish_tsh_using_subcommand scp" -s q -l quiet -d 'No progress bars'
complete -c tsh -n "__fish_tsh_using_subcommand scp" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tsh -n "__fish_tsh_using_subcommand scp" -l debug -d 'Print what tsh does, step by step with the time since it started, on stderr'
complete -c tsh -n "__fish_tsh_using_subcommand scp" -s h -l help -d 'Print help'
complete -c tsh -n "__fish_tsh_using_subcommand ls" -l cluster -d 'The cluster (default: the one you logged in to)' -r
complete -c tsh -n "__fish_tsh_using_subcommand ls" -l format -d 'Output format' -r -f -a "text\t''
json\t''
yaml\t''"
complete -c tsh -n "__fish_tsh_using_subcommand ls" -l proxy -d 'The proxy\'s web address, host[:port] (port 3080 when left out)' -r
complete -c tsh -n "__fish_tsh_using_subcommand ls" -l user -d 'The user name (default: the local user)' -r
complete -c tsh -n "__fish_tsh_using_subcommand ls" -s i -l identity -d 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile' -r -F
complete -c tsh -n "__fish_tsh_using_subcommand ls" -l all -d 'Nodes of the root and of every leaf you may see, in one table'
complete -c tsh -n "__fish_tsh_using_subcommand ls" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tsh -n "__fish_tsh_using_subcommand ls" -l debug -d 'Print what tsh does, step by step with the time since it started, on stderr'
complete -c tsh -n "__fish_tsh_using_subcommand ls" -s h -l help -d 'Print help'
complete -c tsh -n "__fish_tsh_using_subcommand config" -l proxy -d 'The proxy\'s web address, host[:port] (port 3080 when left out)' -r
complete -c tsh -n "__fish_tsh_using_subcommand config" -l user -d 'The user name (default: the local user)' -r
complete -c tsh -n "__fish_tsh_using_subcommand config" -s i -l identity -d 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile' -r -F
complete -c tsh -n "__fish_tsh_using_subcommand config" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tsh -n "__fish_tsh_using_subcommand config" -l debug -d 'Print what tsh does, step by step with the time since it started, on stderr'
complete -c tsh -n "__fish_tsh_using_subcommand config" -s h -l help -d 'Print help'
complete -c tsh -n "__fish_tsh_using_subcommand proxy; and not __fish_seen_subcommand_from cert ssh help" -l proxy -d 'The proxy\'s web address, host[:port] (port 3080 when left out)' -r
complete -c tsh -n "__fish_tsh_using_subcommand proxy; and not __fish_seen_subcommand_from cert ssh help" -l user -d 'The user name (default: the local user)' -r
complete -c tsh -n "__fish_tsh_using_subcommand proxy; and not __fish_seen_subcommand_from cert ssh help" -s i -l identity -d 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile' -r -F
complete -c tsh -n "__fish_tsh_using_subcommand proxy; and not __fish_seen_subcommand_from cert ssh help" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tsh -n "__fish_tsh_using_subcommand proxy; and not __fish_seen_subcommand_from cert ssh help" -l debug -d 'Print what tsh does, step by step with the time since it started, on stderr'
complete -c tsh -n "__fish_tsh_using_subcommand proxy; and not __fish_seen_subcommand_from cert ssh help" -s h -l help -d 'Print help'
complete -c tsh -n "__fish_tsh_using_subcommand proxy; and not __fish_seen_subcommand_from cert ssh help" -f -a "cert" -d 'Renew the leaf-bound certificate `tsh config` points OpenSSH at (run by its Match exec)'
complete -c tsh -n "__fish_tsh_using_subcommand proxy; and not __fish_seen_subcommand_from cert ssh help" -f -a "ssh" -d 'Pipe stdin/stdout to a node\'s SSH port (OpenSSH\'s ProxyCommand): [LOGIN@]HOST:PORT'
complete -c tsh -n "__fish_tsh_using_subcommand proxy; and not __fish_seen_subcommand_from cert ssh help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tsh -n "__fish_tsh_using_subcommand proxy; and __fish_seen_subcommand_from cert" -l cluster -d 'The leaf cluster' -r
complete -c tsh -n "__fish_tsh_using_subcommand proxy; and __fish_seen_subcommand_from cert" -l proxy -d 'The proxy\'s web address, host[:port] (port 3080 when left out)' -r
complete -c tsh -n "__fish_tsh_using_subcommand proxy; and __fish_seen_subcommand_from cert" -l user -d 'The user name (default: the local user)' -r
complete -c tsh -n "__fish_tsh_using_subcommand proxy; and __fish_seen_subcommand_from cert" -s i -l identity -d 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile' -r -F
complete -c tsh -n "__fish_tsh_using_subcommand proxy; and __fish_seen_subcommand_from cert" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tsh -n "__fish_tsh_using_subcommand proxy; and __fish_seen_subcommand_from cert" -l debug -d 'Print what tsh does, step by step with the time since it started, on stderr'
complete -c tsh -n "__fish_tsh_using_subcommand proxy; and __fish_seen_subcommand_from cert" -s h -l help -d 'Print help'
complete -c tsh -n "__fish_tsh_using_subcommand proxy; and __fish_seen_subcommand_from ssh" -l cluster -d 'The cluster the node is in' -r
complete -c tsh -n "__fish_tsh_using_subcommand proxy; and __fish_seen_subcommand_from ssh" -l proxy -d 'The proxy\'s web address, host[:port] (port 3080 when left out)' -r
complete -c tsh -n "__fish_tsh_using_subcommand proxy; and __fish_seen_subcommand_from ssh" -l user -d 'The user name (default: the local user)' -r
complete -c tsh -n "__fish_tsh_using_subcommand proxy; and __fish_seen_subcommand_from ssh" -s i -l identity -d 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile' -r -F
complete -c tsh -n "__fish_tsh_using_subcommand proxy; and __fish_seen_subcommand_from ssh" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tsh -n "__fish_tsh_using_subcommand proxy; and __fish_seen_subcommand_from ssh" -l debug -d 'Print what tsh does, step by step with the time since it started, on stderr'
complete -c tsh -n "__fish_tsh_using_subcommand proxy; and __fish_seen_subcommand_from ssh" -s h -l help -d 'Print help'
complete -c tsh -n "__fish_tsh_using_subcommand proxy; and __fish_seen_subcommand_from help" -f -a "cert" -d 'Renew the leaf-bound certificate `tsh config` points OpenSSH at (run by its Match exec)'
complete -c tsh -n "__fish_tsh_using_subcommand proxy; and __fish_seen_subcommand_from help" -f -a "ssh" -d 'Pipe stdin/stdout to a node\'s SSH port (OpenSSH\'s ProxyCommand): [LOGIN@]HOST:PORT'
complete -c tsh -n "__fish_tsh_using_subcommand proxy; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tsh -n "__fish_tsh_using_subcommand logout" -l proxy -d 'The proxy\'s web address, host[:port] (port 3080 when left out)' -r
complete -c tsh -n "__fish_tsh_using_subcommand logout" -l user -d 'The user name (default: the local user)' -r
complete -c tsh -n "__fish_tsh_using_subcommand logout" -s i -l identity -d 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile' -r -F
complete -c tsh -n "__fish_tsh_using_subcommand logout" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tsh -n "__fish_tsh_using_subcommand logout" -l debug -d 'Print what tsh does, step by step with the time since it started, on stderr'
complete -c tsh -n "__fish_tsh_using_subcommand logout" -s h -l help -d 'Print help'
complete -c tsh -n "__fish_tsh_using_subcommand completion" -l proxy -d 'The proxy\'s web address, host[:port] (port 3080 when left out)' -r
complete -c tsh -n "__fish_tsh_using_subcommand completion" -l user -d 'The user name (default: the local user)' -r
complete -c tsh -n "__fish_tsh_using_subcommand completion" -s i -l identity -d 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile' -r -F
complete -c tsh -n "__fish_tsh_using_subcommand completion" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tsh -n "__fish_tsh_using_subcommand completion" -l debug -d 'Print what tsh does, step by step with the time since it started, on stderr'
complete -c tsh -n "__fish_tsh_using_subcommand completion" -s h -l help -d 'Print help'
complete -c tsh -n "__fish_tsh_using_subcommand version" -l proxy -d 'The proxy\'s web address, host[:port] (port 3080 when left out)' -r
complete -c tsh -n "__fish_tsh_using_subcommand version" -l user -d 'The user name (default: the local user)' -r
complete -c tsh -n "__fish_tsh_using_subcommand version" -s i -l identity -d 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile' -r -F
complete -c tsh -n "__fish_tsh_using_subcommand version" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tsh -n "__fish_tsh_using_subcommand version" -l debug -d 'Print what tsh does, step by step with the time since it started, on stderr'
complete -c tsh -n "__fish_tsh_using_subcommand version" -s h -l help -d 'Print help'
complete -c tsh -n "__fish_tsh_using_subcommand help; and not __fish_seen_subcommand_from login clusters status ssh scp ls config proxy logout completion version help" -f -a "login" -d 'Log in to a cluster and get short-lived certificates'
complete -c tsh -n "__fish_tsh_using_subcommand help; and not __fish_seen_subcommand_from login clusters status ssh scp ls config proxy logout completion version help" -f -a "clusters" -d 'List the root cluster and the leaf clusters you may see'
complete -c tsh -n "__fish_tsh_using_subcommand help; and not __fish_seen_subcommand_from login clusters status ssh scp ls config proxy logout completion version help" -f -a "status" -d 'Show the current profile'
complete -c tsh -n "__fish_tsh_using_subcommand help; and not __fish_seen_subcommand_from login clusters status ssh scp ls config proxy logout completion version help" -f -a "ssh" -d 'Run a command or a shell on a node, or a command on every node with some labels: tsh ssh [LOGIN@]HOST|[LOGIN@]KEY=VALUE[,...] [COMMAND...]'
complete -c tsh -n "__fish_tsh_using_subcommand help; and not __fish_seen_subcommand_from login clusters status ssh scp ls config proxy logout completion version help" -f -a "scp" -d 'Copy files to or from a node over SFTP: tsh scp [-r] SRC... [LOGIN@]NODE:PATH (or the reverse)'
complete -c tsh -n "__fish_tsh_using_subcommand help; and not __fish_seen_subcommand_from login clusters status ssh scp ls config proxy logout completion version help" -f -a "ls" -d 'List the nodes you may log in to: tsh ls [label=value ...]'
complete -c tsh -n "__fish_tsh_using_subcommand help; and not __fish_seen_subcommand_from login clusters status ssh scp ls config proxy logout completion version help" -f -a "config" -d 'Print an OpenSSH client configuration that reaches nodes through tsh'
complete -c tsh -n "__fish_tsh_using_subcommand help; and not __fish_seen_subcommand_from login clusters status ssh scp ls config proxy logout completion version help" -f -a "proxy" -d 'Helpers for other programs'
complete -c tsh -n "__fish_tsh_using_subcommand help; and not __fish_seen_subcommand_from login clusters status ssh scp ls config proxy logout completion version help" -f -a "logout" -d 'Delete all profiles and keys'
complete -c tsh -n "__fish_tsh_using_subcommand help; and not __fish_seen_subcommand_from login clusters status ssh scp ls config proxy logout completion version help" -f -a "completion" -d 'Print a shell completion script'
complete -c tsh -n "__fish_tsh_using_subcommand help; and not __fish_seen_subcommand_from login clusters status ssh scp ls config proxy logout completion version help" -f -a "version" -d 'Print the version'
complete -c tsh -n "__fish_tsh_using_subcommand help; and not __fish_seen_subcommand_from login clusters status ssh scp ls config proxy logout completion version help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tsh -n "__fish_tsh_using_subcommand help; and __fish_seen_subcommand_from proxy" -f -a "cert" -d 'Renew the leaf-bound certificate `tsh config` points OpenSSH at (run by its Match exec)'
complete -c tsh -n "__fish_tsh_using_subcommand help; and __fish_seen_subcommand_from proxy" -f -a "ssh" -d 'Pipe stdin/stdout to a node\'s SSH port (OpenSSH\'s ProxyCommand): [LOGIN@]HOST:PORT'

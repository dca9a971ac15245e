# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_tctl_global_optspecs
    string join \n c/config= data-dir= i/identity= proxy= insecure cluster= h/help V/version
end

function __fish_tctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_tctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_tctl_using_subcommand
    set -l cmd (__fish_tctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c tctl -n "__fish_tctl_needs_command" -s c -l config -d 'The daemon\'s config file: use the admin identity in its data_dir' -r -F
complete -c tctl -n "__fish_tctl_needs_command" -l data-dir -d 'The daemon\'s data directory: use the admin identity in it' -r -f -a "(__fish_complete_directories)"
complete -c tctl -n "__fish_tctl_needs_command" -s i -l identity -d 'An identity file from `tctl auth sign`' -r -F
complete -c tctl -n "__fish_tctl_needs_command" -l proxy -d 'The proxy\'s web address (host:port), overriding the identity\'s' -r
complete -c tctl -n "__fish_tctl_needs_command" -l cluster -d 'Administer this leaf cluster through the root\'s proxy, as your root user with the leaf\'s role map (needs a tsh login at the root)' -r
complete -c tctl -n "__fish_tctl_needs_command" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tctl -n "__fish_tctl_needs_command" -s h -l help -d 'Print help'
complete -c tctl -n "__fish_tctl_needs_command" -s V -l version -d 'Print version'
complete -c tctl -n "__fish_tctl_needs_command" -f -a "users" -d 'Manage users'
complete -c tctl -n "__fish_tctl_needs_command" -f -a "tokens" -d 'Manage join tokens'
complete -c tctl -n "__fish_tctl_needs_command" -f -a "create" -d 'Create resources from a YAML or JSON file ("-" reads stdin)'
complete -c tctl -n "__fish_tctl_needs_command" -f -a "get" -d 'Print resources: KIND or KIND/NAME'
complete -c tctl -n "__fish_tctl_needs_command" -f -a "rm" -d 'Delete a resource: KIND/NAME'
complete -c tctl -n "__fish_tctl_needs_command" -f -a "update" -d 'Update a remote cluster\'s labels: rc/NAME --set-labels=k=v,...'
complete -c tctl -n "__fish_tctl_needs_command" -f -a "status" -d 'Show the cluster and its certificate authorities'
complete -c tctl -n "__fish_tctl_needs_command" -f -a "trusted-cluster" -d 'Trusted cluster tools'
complete -c tctl -n "__fish_tctl_needs_command" -f -a "auth" -d 'Certificate authority operations'
complete -c tctl -n "__fish_tctl_needs_command" -f -a "audit" -d 'Read the audit log'
complete -c tctl -n "__fish_tctl_needs_command" -f -a "completion" -d 'Print a shell completion script'
complete -c tctl -n "__fish_tctl_needs_command" -f -a "version" -d 'Print the version'
complete -c tctl -n "__fish_tctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tctl -n "__fish_tctl_using_subcommand users; and not __fish_seen_subcommand_from add ls rm expand reset help" -s c -l config -d 'The daemon\'s config file: use the admin identity in its data_dir' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand users; and not __fish_seen_subcommand_from add ls rm expand reset help" -l data-dir -d 'The daemon\'s data directory: use the admin identity in it' -r -f -a "(__fish_complete_directories)"
complete -c tctl -n "__fish_tctl_using_subcommand users; and not __fish_seen_subcommand_from add ls rm expand reset help" -s i -l identity -d 'An identity file from `tctl auth sign`' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand users; and not __fish_seen_subcommand_from add ls rm expand reset help" -l proxy -d 'The proxy\'s web address (host:port), overriding the identity\'s' -r
complete -c tctl -n "__fish_tctl_using_subcommand users; and not __fish_seen_subcommand_from add ls rm expand reset help" -l cluster -d 'Administer this leaf cluster through the root\'s proxy, as your root user with the leaf\'s role map (needs a tsh login at the root)' -r
complete -c tctl -n "__fish_tctl_using_subcommand users; and not __fish_seen_subcommand_from add ls rm expand reset help" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tctl -n "__fish_tctl_using_subcommand users; and not __fish_seen_subcommand_from add ls rm expand reset help" -s h -l help -d 'Print help'
complete -c tctl -n "__fish_tctl_using_subcommand users; and not __fish_seen_subcommand_from add ls rm expand reset help" -f -a "add" -d 'Create a user and print a one-time invite'
complete -c tctl -n "__fish_tctl_using_subcommand users; and not __fish_seen_subcommand_from add ls rm expand reset help" -f -a "ls" -d 'List users'
complete -c tctl -n "__fish_tctl_using_subcommand users; and not __fish_seen_subcommand_from add ls rm expand reset help" -f -a "rm" -d 'Delete a user'
complete -c tctl -n "__fish_tctl_using_subcommand users; and not __fish_seen_subcommand_from add ls rm expand reset help" -f -a "expand" -d 'Show what a user\'s roles mean for them: the logins their certificate would carry and each role\'s logins and label selectors with templates expanded (changes nothing)'
complete -c tctl -n "__fish_tctl_using_subcommand users; and not __fish_seen_subcommand_from add ls rm expand reset help" -f -a "reset" -d 'Clear a user\'s password and print a new invite'
complete -c tctl -n "__fish_tctl_using_subcommand users; and not __fish_seen_subcommand_from add ls rm expand reset help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from add" -l roles -d 'Roles, comma-separated' -r
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from add" -l logins -d 'Unix logins, comma-separated' -r
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from add" -s c -l config -d 'The daemon\'s config file: use the admin identity in its data_dir' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from add" -l data-dir -d 'The daemon\'s data directory: use the admin identity in it' -r -f -a "(__fish_complete_directories)"
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from add" -s i -l identity -d 'An identity file from `tctl auth sign`' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from add" -l proxy -d 'The proxy\'s web address (host:port), overriding the identity\'s' -r
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from add" -l cluster -d 'Administer this leaf cluster through the root\'s proxy, as your root user with the leaf\'s role map (needs a tsh login at the root)' -r
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from add" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from ls" -l format -d 'Output format' -r -f -a "text\t'Lines for people'
json\t'JSON'"
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from ls" -s c -l config -d 'The daemon\'s config file: use the admin identity in its data_dir' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from ls" -l data-dir -d 'The daemon\'s data directory: use the admin identity in it' -r -f -a "(__fish_complete_directories)"
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from ls" -s i -l identity -d 'An identity file from `tctl auth sign`' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from ls" -l proxy -d 'The proxy\'s web address (host:port), overriding the identity\'s' -r
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from ls" -l cluster -d 'Administer this leaf cluster through the root\'s proxy, as your root user with the leaf\'s role map (needs a tsh login at the root)' -r
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from ls" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from rm" -s c -l config -d 'The daemon\'s config file: use the admin identity in its data_dir' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from rm" -l data-dir -d 'The daemon\'s data directory: use the admin identity in it' -r -f -a "(__fish_complete_directories)"
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from rm" -s i -l identity -d 'An identity file from `tctl auth sign`' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from rm" -l proxy -d 'The proxy\'s web address (host:port), overriding the identity\'s' -r
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from rm" -l cluster -d 'Administer this leaf cluster through the root\'s proxy, as your root user with the leaf\'s role map (needs a tsh login at the root)' -r
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from rm" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help'
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from expand" -l format -d 'Output format' -r -f -a "text\t'Lines for people'
json\t'JSON'"
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from expand" -s c -l config -d 'The daemon\'s config file: use the admin identity in its data_dir' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from expand" -l data-dir -d 'The daemon\'s data directory: use the admin identity in it' -r -f -a "(__fish_complete_directories)"
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from expand" -s i -l identity -d 'An identity file from `tctl auth sign`' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from expand" -l proxy -d 'The proxy\'s web address (host:port), overriding the identity\'s' -r
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from expand" -l cluster -d 'Administer this leaf cluster through the root\'s proxy, as your root user with the leaf\'s role map (needs a tsh login at the root)' -r
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from expand" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from expand" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from reset" -s c -l config -d 'The daemon\'s config file: use the admin identity in its data_dir' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from reset" -l data-dir -d 'The daemon\'s data directory: use the admin identity in it' -r -f -a "(__fish_complete_directories)"
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from reset" -s i -l identity -d 'An identity file from `tctl auth sign`' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from reset" -l proxy -d 'The proxy\'s web address (host:port), overriding the identity\'s' -r
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from reset" -l cluster -d 'Administer this leaf cluster through the root\'s proxy, as your root user with the leaf\'s role map (needs a tsh login at the root)' -r
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from reset" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from reset" -s h -l help -d 'Print help'
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "add" -d 'Create a user and print a one-time invite'
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List users'
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "rm" -d 'Delete a user'
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "expand" -d 'Show what a user\'s roles mean for them: the logins their certificate would carry and each role\'s logins and label selectors with templates expanded (changes nothing)'
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "reset" -d 'Clear a user\'s password and print a new invite'
complete -c tctl -n "__fish_tctl_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and not __fish_seen_subcommand_from add ls rm help" -s c -l config -d 'The daemon\'s config file: use the admin identity in its data_dir' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and not __fish_seen_subcommand_from add ls rm help" -l data-dir -d 'The daemon\'s data directory: use the admin identity in it' -r -f -a "(__fish_complete_directories)"
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and not __fish_seen_subcommand_from add ls rm help" -s i -l identity -d 'An identity file from `tctl auth sign`' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and not __fish_seen_subcommand_from add ls rm help" -l proxy -d 'The proxy\'s web address (host:port), overriding the identity\'s' -r
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and not __fish_seen_subcommand_from add ls rm help" -l cluster -d 'Administer this leaf cluster through the root\'s proxy, as your root user with the leaf\'s role map (needs a tsh login at the root)' -r
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and not __fish_seen_subcommand_from add ls rm help" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and not __fish_seen_subcommand_from add ls rm help" -s h -l help -d 'Print help'
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and not __fish_seen_subcommand_from add ls rm help" -f -a "add" -d 'Create a join token'
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and not __fish_seen_subcommand_from add ls rm help" -f -a "ls" -d 'List join tokens'
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and not __fish_seen_subcommand_from add ls rm help" -f -a "rm" -d 'Delete a join token (the whole token or the hint `tokens ls` shows)'
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and not __fish_seen_subcommand_from add ls rm help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and __fish_seen_subcommand_from add" -l type -d 'What the token lets join' -r -f -a "trusted_cluster\t'A leaf cluster establishing trust'
node\t'A node joining'"
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and __fish_seen_subcommand_from add" -l ttl -d 'How long it is valid (e.g. 15m, 1h)' -r
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and __fish_seen_subcommand_from add" -l labels -d 'Labels for what joins, k=v comma-separated' -r
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and __fish_seen_subcommand_from add" -s c -l config -d 'The daemon\'s config file: use the admin identity in its data_dir' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and __fish_seen_subcommand_from add" -l data-dir -d 'The daemon\'s data directory: use the admin identity in it' -r -f -a "(__fish_complete_directories)"
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and __fish_seen_subcommand_from add" -s i -l identity -d 'An identity file from `tctl auth sign`' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and __fish_seen_subcommand_from add" -l proxy -d 'The proxy\'s web address (host:port), overriding the identity\'s' -r
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and __fish_seen_subcommand_from add" -l cluster -d 'Administer this leaf cluster through the root\'s proxy, as your root user with the leaf\'s role map (needs a tsh login at the root)' -r
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and __fish_seen_subcommand_from add" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and __fish_seen_subcommand_from ls" -l format -d 'Output format' -r -f -a "text\t'Lines for people'
json\t'JSON'"
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and __fish_seen_subcommand_from ls" -s c -l config -d 'The daemon\'s config file: use the admin identity in its data_dir' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and __fish_seen_subcommand_from ls" -l data-dir -d 'The daemon\'s data directory: use the admin identity in it' -r -f -a "(__fish_complete_directories)"
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and __fish_seen_subcommand_from ls" -s i -l identity -d 'An identity file from `tctl auth sign`' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and __fish_seen_subcommand_from ls" -l proxy -d 'The proxy\'s web address (host:port), overriding the identity\'s' -r
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and __fish_seen_subcommand_from ls" -l cluster -d 'Administer this leaf cluster through the root\'s proxy, as your root user with the leaf\'s role map (needs a tsh login at the root)' -r
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and __fish_seen_subcommand_from ls" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and __fish_seen_subcommand_from rm" -s c -l config -d 'The daemon\'s config file: use the admin identity in its data_dir' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and __fish_seen_subcommand_from rm" -l data-dir -d 'The daemon\'s data directory: use the admin identity in it' -r -f -a "(__fish_complete_directories)"
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and __fish_seen_subcommand_from rm" -s i -l identity -d 'An identity file from `tctl auth sign`' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and __fish_seen_subcommand_from rm" -l proxy -d 'The proxy\'s web address (host:port), overriding the identity\'s' -r
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and __fish_seen_subcommand_from rm" -l cluster -d 'Administer this leaf cluster through the root\'s proxy, as your root user with the leaf\'s role map (needs a tsh login at the root)' -r
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and __fish_seen_subcommand_from rm" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help'
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and __fish_seen_subcommand_from help" -f -a "add" -d 'Create a join token'
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List join tokens'
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and __fish_seen_subcommand_from help" -f -a "rm" -d 'Delete a join token (the whole token or the hint `tokens ls` shows)'
complete -c tctl -n "__fish_tctl_using_subcommand tokens; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tctl -n "__fish_tctl_using_subcommand create" -s c -l config -d 'The daemon\'s config file: use the admin identity in its data_dir' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand create" -l data-dir -d 'The daemon\'s data directory: use the admin identity in it' -r -f -a "(__fish_complete_directories)"
complete -c tctl -n "__fish_tctl_using_subcommand create" -s i -l identity -d 'An identity file from `tctl auth sign`' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand create" -l proxy -d 'The proxy\'s web address (host:port), overriding the identity\'s' -r
complete -c tctl -n "__fish_tctl_using_subcommand create" -l cluster -d 'Administer this leaf cluster through the root\'s proxy, as your root user with the leaf\'s role map (needs a tsh login at the root)' -r
complete -c tctl -n "__fish_tctl_using_subcommand create" -s f -l force -d 'Overwrite resources that exist'
complete -c tctl -n "__fish_tctl_using_subcommand create" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tctl -n "__fish_tctl_using_subcommand create" -s h -l help -d 'Print help'
complete -c tctl -n "__fish_tctl_using_subcommand get" -l format -d 'Output format' -r -f -a "yaml\t'YAML documents, re-creatable with `tctl create -f`'
json\t'JSON'
text\t'A table'"
complete -c tctl -n "__fish_tctl_using_subcommand get" -s c -l config -d 'The daemon\'s config file: use the admin identity in its data_dir' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand get" -l data-dir -d 'The daemon\'s data directory: use the admin identity in it' -r -f -a "(__fish_complete_directories)"
complete -c tctl -n "__fish_tctl_using_subcommand get" -s i -l identity -d 'An identity file from `tctl auth sign`' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand get" -l proxy -d 'The proxy\'s web address (host:port), overriding the identity\'s' -r
complete -c tctl -n "__fish_tctl_using_subcommand get" -l cluster -d 'Administer this leaf cluster through the root\'s proxy, as your root user with the leaf\'s role map (needs a tsh login at the root)' -r
complete -c tctl -n "__fish_tctl_using_subcommand get" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tctl -n "__fish_tctl_using_subcommand get" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tctl -n "__fish_tctl_using_subcommand rm" -s c -l config -d 'The daemon\'s config file: use the admin identity in its data_dir' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand rm" -l data-dir -d 'The daemon\'s data directory: use the admin identity in it' -r -f -a "(__fish_complete_directories)"
complete -c tctl -n "__fish_tctl_using_subcommand rm" -s i -l identity -d 'An identity file from `tctl auth sign`' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand rm" -l proxy -d 'The proxy\'s web address (host:port), overriding the identity\'s' -r
complete -c tctl -n "__fish_tctl_using_subcommand rm" -l cluster -d 'Administer this leaf cluster through the root\'s proxy, as your root user with the leaf\'s role map (needs a tsh login at the root)' -r
complete -c tctl -n "__fish_tctl_using_subcommand rm" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tctl -n "__fish_tctl_using_subcommand rm" -s h -l help -d 'Print help'
complete -c tctl -n "__fish_tctl_using_subcommand update" -l set-labels -d 'Labels to set (replacing the current ones), k=v comma-separated' -r
complete -c tctl -n "__fish_tctl_using_subcommand update" -s c -l config -d 'The daemon\'s config file: use the admin identity in its data_dir' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand update" -l data-dir -d 'The daemon\'s data directory: use the admin identity in it' -r -f -a "(__fish_complete_directories)"
complete -c tctl -n "__fish_tctl_using_subcommand update" -s i -l identity -d 'An identity file from `tctl auth sign`' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand update" -l proxy -d 'The proxy\'s web address (host:port), overriding the identity\'s' -r
complete -c tctl -n "__fish_tctl_using_subcommand update" -l cluster -d 'Administer this leaf cluster through the root\'s proxy, as your root user with the leaf\'s role map (needs a tsh login at the root)' -r
complete -c tctl -n "__fish_tctl_using_subcommand update" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tctl -n "__fish_tctl_using_subcommand update" -s h -l help -d 'Print help'
complete -c tctl -n "__fish_tctl_using_subcommand status" -l format -d 'Output format' -r -f -a "text\t'Lines for people'
json\t'JSON'"
complete -c tctl -n "__fish_tctl_using_subcommand status" -s c -l config -d 'The daemon\'s config file: use the admin identity in its data_dir' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand status" -l data-dir -d 'The daemon\'s data directory: use the admin identity in it' -r -f -a "(__fish_complete_directories)"
complete -c tctl -n "__fish_tctl_using_subcommand status" -s i -l identity -d 'An identity file from `tctl auth sign`' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand status" -l proxy -d 'The proxy\'s web address (host:port), overriding the identity\'s' -r
complete -c tctl -n "__fish_tctl_using_subcommand status" -l cluster -d 'Administer this leaf cluster through the root\'s proxy, as your root user with the leaf\'s role map (needs a tsh login at the root)' -r
complete -c tctl -n "__fish_tctl_using_subcommand status" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tctl -n "__fish_tctl_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tctl -n "__fish_tctl_using_subcommand trusted-cluster; and not __fish_seen_subcommand_from map-roles doctor help" -s c -l config -d 'The daemon\'s config file: use the admin identity in its data_dir' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand trusted-cluster; and not __fish_seen_subcommand_from map-roles doctor help" -l data-dir -d 'The daemon\'s data directory: use the admin identity in it' -r -f -a "(__fish_complete_directories)"
complete -c tctl -n "__fish_tctl_using_subcommand trusted-cluster; and not __fish_seen_subcommand_from map-roles doctor help" -s i -l identity -d 'An identity file from `tctl auth sign`' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand trusted-cluster; and not __fish_seen_subcommand_from map-roles doctor help" -l proxy -d 'The proxy\'s web address (host:port), overriding the identity\'s' -r
complete -c tctl -n "__fish_tctl_using_subcommand trusted-cluster; and not __fish_seen_subcommand_from map-roles doctor help" -l cluster -d 'Administer this leaf cluster through the root\'s proxy, as your root user with the leaf\'s role map (needs a tsh login at the root)' -r
complete -c tctl -n "__fish_tctl_using_subcommand trusted-cluster; and not __fish_seen_subcommand_from map-roles doctor help" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tctl -n "__fish_tctl_using_subcommand trusted-cluster; and not __fish_seen_subcommand_from map-roles doctor help" -s h -l help -d 'Print help'
complete -c tctl -n "__fish_tctl_using_subcommand trusted-cluster; and not __fish_seen_subcommand_from map-roles doctor help" -f -a "map-roles" -d 'Show what remote roles map to under a role_map, and which rule matched (changes nothing)'
complete -c tctl -n "__fish_tctl_using_subcommand trusted-cluster; and not __fish_seen_subcommand_from map-roles doctor help" -f -a "doctor" -d 'Check a trust step by step and say what is wrong and how to fix it: on a leaf, the way to ROOT (DNS, TCP, TLS, the root\'s answers, the tunnel login, the tunnels, the role map); on a root, with --leaf, its view of that leaf. Exits non-zero when a check fails'
complete -c tctl -n "__fish_tctl_using_subcommand trusted-cluster; and not __fish_seen_subcommand_from map-roles doctor help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tctl -n "__fish_tctl_using_subcommand trusted-cluster; and __fish_seen_subcommand_from map-roles" -l file -d 'A trusted_cluster YAML file to test (no cluster needed)' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand trusted-cluster; and __fish_seen_subcommand_from map-roles" -l name -d 'The stored trusted cluster to test instead' -r
complete -c tctl -n "__fish_tctl_using_subcommand trusted-cluster; and __fish_seen_subcommand_from map-roles" -l roles -d 'The remote roles, comma-separated' -r
complete -c tctl -n "__fish_tctl_using_subcommand trusted-cluster; and __fish_seen_subcommand_from map-roles" -s c -l config -d 'The daemon\'s config file: use the admin identity in its data_dir' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand trusted-cluster; and __fish_seen_subcommand_from map-roles" -l data-dir -d 'The daemon\'s data directory: use the admin identity in it' -r -f -a "(__fish_complete_directories)"
complete -c tctl -n "__fish_tctl_using_subcommand trusted-cluster; and __fish_seen_subcommand_from map-roles" -s i -l identity -d 'An identity file from `tctl auth sign`' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand trusted-cluster; and __fish_seen_subcommand_from map-roles" -l proxy -d 'The proxy\'s web address (host:port), overriding the identity\'s' -r
complete -c tctl -n "__fish_tctl_using_subcommand trusted-cluster; and __fish_seen_subcommand_from map-roles" -l cluster -d 'Administer this leaf cluster through the root\'s proxy, as your root user with the leaf\'s role map (needs a tsh login at the root)' -r
complete -c tctl -n "__fish_tctl_using_subcommand trusted-cluster; and __fish_seen_subcommand_from map-roles" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tctl -n "__fish_tctl_using_subcommand trusted-cluster; and __fish_seen_subcommand_from map-roles" -s h -l help -d 'Print help'
complete -c tctl -n "__fish_tctl_using_subcommand trusted-cluster; and __fish_seen_subcommand_from doctor" -s f -l file -d 'A trusted_cluster YAML file to check before (or instead of) creating it' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand trusted-cluster; and __fish_seen_subcommand_from doctor" -l leaf -d 'On a root: check this leaf (its remote_cluster, CAs, status and tunnels)' -r
complete -c tctl -n "__fish_tctl_using_subcommand trusted-cluster; and __fish_seen_subcommand_from doctor" -l roles -d 'Remote roles to run through the role map, comma-separated' -r
complete -c tctl -n "__fish_tctl_using_subcommand trusted-cluster; and __fish_seen_subcommand_from doctor" -l format -d 'Output format' -r -f -a "text\t'Lines for people'
json\t'JSON'"
complete -c tctl -n "__fish_tctl_using_subcommand trusted-cluster; and __fish_seen_subcommand_from doctor" -s c -l config -d 'The daemon\'s config file: use the admin identity in its data_dir' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand trusted-cluster; and __fish_seen_subcommand_from doctor" -l data-dir -d 'The daemon\'s data directory: use the admin identity in it' -r -f -a "(__fish_complete_directories)"
complete -c tctl -n "__fish_tctl_using_subcommand trusted-cluster; and __fish_seen_subcommand_from doctor" -s i -l identity -d 'An identity file from `tctl auth sign`' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand trusted-cluster; and __fish_seen_subcommand_from doctor" -l proxy -d 'The proxy\'s web address (host:port), overriding the identity\'s' -r
complete -c tctl -n "__fish_tctl_using_subcommand trusted-cluster; and __fish_seen_subcommand_from doctor" -l cluster -d 'Administer this leaf cluster through the root\'s proxy, as your root user with the leaf\'s role map (needs a tsh login at the root)' -r
complete -c tctl -n "__fish_tctl_using_subcommand trusted-cluster; and __fish_seen_subcommand_from doctor" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tctl -n "__fish_tctl_using_subcommand trusted-cluster; and __fish_seen_subcommand_from doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tctl -n "__fish_tctl_using_subcommand trusted-cluster; and __fish_seen_subcommand_from help" -f -a "map-roles" -d 'Show what remote roles map to under a role_map, and which rule matched (changes nothing)'
complete -c tctl -n "__fish_tctl_using_subcommand trusted-cluster; and __fish_seen_subcommand_from help" -f -a "doctor" -d 'Check a trust step by step and say what is wrong and how to fix it: on a leaf, the way to ROOT (DNS, TCP, TLS, the root\'s answers, the tunnel login, the tunnels, the role map); on a root, with --leaf, its view of that leaf. Exits non-zero when a check fails'
complete -c tctl -n "__fish_tctl_using_subcommand trusted-cluster; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tctl -n "__fish_tctl_using_subcommand auth; and not __fish_seen_subcommand_from sign export rotate help" -s c -l config -d 'The daemon\'s config file: use the admin identity in its data_dir' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand auth; and not __fish_seen_subcommand_from sign export rotate help" -l data-dir -d 'The daemon\'s data directory: use the admin identity in it' -r -f -a "(__fish_complete_directories)"
complete -c tctl -n "__fish_tctl_using_subcommand auth; and not __fish_seen_subcommand_from sign export rotate help" -s i -l identity -d 'An identity file from `tctl auth sign`' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand auth; and not __fish_seen_subcommand_from sign export rotate help" -l proxy -d 'The proxy\'s web address (host:port), overriding the identity\'s' -r
complete -c tctl -n "__fish_tctl_using_subcommand auth; and not __fish_seen_subcommand_from sign export rotate help" -l cluster -d 'Administer this leaf cluster through the root\'s proxy, as your root user with the leaf\'s role map (needs a tsh login at the root)' -r
complete -c tctl -n "__fish_tctl_using_subcommand auth; and not __fish_seen_subcommand_from sign export rotate help" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tctl -n "__fish_tctl_using_subcommand auth; and not __fish_seen_subcommand_from sign export rotate help" -s h -l help -d 'Print help'
complete -c tctl -n "__fish_tctl_using_subcommand auth; and not __fish_seen_subcommand_from sign export rotate help" -f -a "sign" -d 'Write an identity file for a user (usable with tsh -i and tctl -i)'
complete -c tctl -n "__fish_tctl_using_subcommand auth; and not __fish_seen_subcommand_from sign export rotate help" -f -a "export" -d 'Print CA public keys: OpenSSH lines (user, host), or PEM certificates (tls)'
complete -c tctl -n "__fish_tctl_using_subcommand auth; and not __fish_seen_subcommand_from sign export rotate help" -f -a "rotate" -d 'Rotate a certificate authority: by itself over a grace period, or (--manual) one phase at a time: init, update_clients, update_servers, standby; rollback before standby'
complete -c tctl -n "__fish_tctl_using_subcommand auth; and not __fish_seen_subcommand_from sign export rotate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tctl -n "__fish_tctl_using_subcommand auth; and __fish_seen_subcommand_from sign" -l user -d 'The user' -r
complete -c tctl -n "__fish_tctl_using_subcommand auth; and __fish_seen_subcommand_from sign" -s o -l out -d 'Where to write it' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand auth; and __fish_seen_subcommand_from sign" -l ttl -d 'Lifetime (e.g. 12h)' -r
complete -c tctl -n "__fish_tctl_using_subcommand auth; and __fish_seen_subcommand_from sign" -s c -l config -d 'The daemon\'s config file: use the admin identity in its data_dir' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand auth; and __fish_seen_subcommand_from sign" -l data-dir -d 'The daemon\'s data directory: use the admin identity in it' -r -f -a "(__fish_complete_directories)"
complete -c tctl -n "__fish_tctl_using_subcommand auth; and __fish_seen_subcommand_from sign" -s i -l identity -d 'An identity file from `tctl auth sign`' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand auth; and __fish_seen_subcommand_from sign" -l proxy -d 'The proxy\'s web address (host:port), overriding the identity\'s' -r
complete -c tctl -n "__fish_tctl_using_subcommand auth; and __fish_seen_subcommand_from sign" -l cluster -d 'Administer this leaf cluster through the root\'s proxy, as your root user with the leaf\'s role map (needs a tsh login at the root)' -r
complete -c tctl -n "__fish_tctl_using_subcommand auth; and __fish_seen_subcommand_from sign" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tctl -n "__fish_tctl_using_subcommand auth; and __fish_seen_subcommand_from sign" -s h -l help -d 'Print help'
complete -c tctl -n "__fish_tctl_using_subcommand auth; and __fish_seen_subcommand_from export" -l type -d 'Which CA' -r -f -a "user\t'The SSH user CA (for sshd\'s TrustedUserCAKeys)'
host\t'The SSH host CA (for known_hosts)'
tls\t'The cluster\'s TLS CA certificates, PEM (to trust the proxy\'s HTTPS in a browser or an OS trust store)'"
complete -c tctl -n "__fish_tctl_using_subcommand auth; and __fish_seen_subcommand_from export" -s c -l config -d 'The daemon\'s config file: use the admin identity in its data_dir' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand auth; and __fish_seen_subcommand_from export" -l data-dir -d 'The daemon\'s data directory: use the admin identity in it' -r -f -a "(__fish_complete_directories)"
complete -c tctl -n "__fish_tctl_using_subcommand auth; and __fish_seen_subcommand_from export" -s i -l identity -d 'An identity file from `tctl auth sign`' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand auth; and __fish_seen_subcommand_from export" -l proxy -d 'The proxy\'s web address (host:port), overriding the identity\'s' -r
complete -c tctl -n "__fish_tctl_using_subcommand auth; and __fish_seen_subcommand_from export" -l cluster -d 'Administer this leaf cluster through the root\'s proxy, as your root user with the leaf\'s role map (needs a tsh login at the root)' -r
complete -c tctl -n "__fish_tctl_using_subcommand auth; and __fish_seen_subcommand_from export" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tctl -n "__fish_tctl_using_subcommand auth; and __fish_seen_subcommand_from export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tctl -n "__fish_tctl_using_subcommand auth; and __fish_seen_subcommand_from rotate" -l type -d 'Which CA (all three when absent)' -r -f -a "user\t'The SSH user CA'
host\t'The SSH host CA'
tls\t'The TLS CA'"
complete -c tctl -n "__fish_tctl_using_subcommand auth; and __fish_seen_subcommand_from rotate" -l phase -d 'The phase to move to (with --manual)' -r -f -a "init\t''
update_clients\t''
update_servers\t''
standby\t''
rollback\t''"
complete -c tctl -n "__fish_tctl_using_subcommand auth; and __fish_seen_subcommand_from rotate" -l grace-period -d 'How long the old key stays trusted (automatic mode; default 30h)' -r
complete -c tctl -n "__fish_tctl_using_subcommand auth; and __fish_seen_subcommand_from rotate" -s c -l config -d 'The daemon\'s config file: use the admin identity in its data_dir' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand auth; and __fish_seen_subcommand_from rotate" -l data-dir -d 'The daemon\'s data directory: use the admin identity in it' -r -f -a "(__fish_complete_directories)"
complete -c tctl -n "__fish_tctl_using_subcommand auth; and __fish_seen_subcommand_from rotate" -s i -l identity -d 'An identity file from `tctl auth sign`' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand auth; and __fish_seen_subcommand_from rotate" -l proxy -d 'The proxy\'s web address (host:port), overriding the identity\'s' -r
complete -c tctl -n "__fish_tctl_using_subcommand auth; and __fish_seen_subcommand_from rotate" -l cluster -d 'Administer this leaf cluster through the root\'s proxy, as your root user with the leaf\'s role map (needs a tsh login at the root)' -r
complete -c tctl -n "__fish_tctl_using_subcommand auth; and __fish_seen_subcommand_from rotate" -l manual -d 'Move one phase at a time (with --phase)'
complete -c tctl -n "__fish_tctl_using_subcommand auth; and __fish_seen_subcommand_from rotate" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tctl -n "__fish_tctl_using_subcommand auth; and __fish_seen_subcommand_from rotate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tctl -n "__fish_tctl_using_subcommand auth; and __fish_seen_subcommand_from help" -f -a "sign" -d 'Write an identity file for a user (usable with tsh -i and tctl -i)'
complete -c tctl -n "__fish_tctl_using_subcommand auth; and __fish_seen_subcommand_from help" -f -a "export" -d 'Print CA public keys: OpenSSH lines (user, host), or PEM certificates (tls)'
complete -c tctl -n "__fish_tctl_using_subcommand auth; and __fish_seen_subcommand_from help" -f -a "rotate" -d 'Rotate a certificate authority: by itself over a grace period, or (--manual) one phase at a time: init, update_clients, update_servers, standby; rollback before standby'
complete -c tctl -n "__fish_tctl_using_subcommand auth; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tctl -n "__fish_tctl_using_subcommand audit; and not __fish_seen_subcommand_from ls help" -s c -l config -d 'The daemon\'s config file: use the admin identity in its data_dir' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand audit; and not __fish_seen_subcommand_from ls help" -l data-dir -d 'The daemon\'s data directory: use the admin identity in it' -r -f -a "(__fish_complete_directories)"
complete -c tctl -n "__fish_tctl_using_subcommand audit; and not __fish_seen_subcommand_from ls help" -s i -l identity -d 'An identity file from `tctl auth sign`' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand audit; and not __fish_seen_subcommand_from ls help" -l proxy -d 'The proxy\'s web address (host:port), overriding the identity\'s' -r
complete -c tctl -n "__fish_tctl_using_subcommand audit; and not __fish_seen_subcommand_from ls help" -l cluster -d 'Administer this leaf cluster through the root\'s proxy, as your root user with the leaf\'s role map (needs a tsh login at the root)' -r
complete -c tctl -n "__fish_tctl_using_subcommand audit; and not __fish_seen_subcommand_from ls help" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tctl -n "__fish_tctl_using_subcommand audit; and not __fish_seen_subcommand_from ls help" -s h -l help -d 'Print help'
complete -c tctl -n "__fish_tctl_using_subcommand audit; and not __fish_seen_subcommand_from ls help" -f -a "ls" -d 'List audit events'
complete -c tctl -n "__fish_tctl_using_subcommand audit; and not __fish_seen_subcommand_from ls help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tctl -n "__fish_tctl_using_subcommand audit; and __fish_seen_subcommand_from ls" -l since -d 'Only events newer than this: a duration (1h) or an RFC 3339 time' -r
complete -c tctl -n "__fish_tctl_using_subcommand audit; and __fish_seen_subcommand_from ls" -l format -d 'Output format' -r -f -a "yaml\t'YAML documents, re-creatable with `tctl create -f`'
json\t'JSON'
text\t'A table'"
complete -c tctl -n "__fish_tctl_using_subcommand audit; and __fish_seen_subcommand_from ls" -l limit -d 'Show only the newest N events (the server\'s default is 1000; at most 10000)' -r
complete -c tctl -n "__fish_tctl_using_subcommand audit; and __fish_seen_subcommand_from ls" -s c -l config -d 'The daemon\'s config file: use the admin identity in its data_dir' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand audit; and __fish_seen_subcommand_from ls" -l data-dir -d 'The daemon\'s data directory: use the admin identity in it' -r -f -a "(__fish_complete_directories)"
complete -c tctl -n "__fish_tctl_using_subcommand audit; and __fish_seen_subcommand_from ls" -s i -l identity -d 'An identity file from `tctl auth sign`' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand audit; and __fish_seen_subcommand_from ls" -l proxy -d 'The proxy\'s web address (host:port), overriding the identity\'s' -r
complete -c tctl -n "__fish_tctl_using_subcommand audit; and __fish_seen_subcommand_from ls" -l cluster -d 'Administer this leaf cluster through the root\'s proxy, as your root user with the leaf\'s role map (needs a tsh login at the root)' -r
complete -c tctl -n "__fish_tctl_using_subcommand audit; and __fish_seen_subcommand_from ls" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tctl -n "__fish_tctl_using_subcommand audit; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tctl -n "__fish_tctl_using_subcommand audit; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List audit events'
complete -c tctl -n "__fish_tctl_using_subcommand audit; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tctl -n "__fish_tctl_using_subcommand completion" -s c -l config -d 'The daemon\'s config file: use the admin identity in its data_dir' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand completion" -l data-dir -d 'The daemon\'s data directory: use the admin identity in it' -r -f -a "(__fish_complete_directories)"
complete -c tctl -n "__fish_tctl_using_subcommand completion" -s i -l identity -d 'An identity file from `tctl auth sign`' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand completion" -l proxy -d 'The proxy\'s web address (host:port), overriding the identity\'s' -r
complete -c tctl -n "__fish_tctl_using_subcommand completion" -l cluster -d 'Administer this leaf cluster through the root\'s proxy, as your root user with the leaf\'s role map (needs a tsh login at the root)' -r
complete -c tctl -n "__fish_tctl_using_subcommand completion" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tctl -n "__fish_tctl_using_subcommand completion" -s h -l help -d 'Print help'
complete -c tctl -n "__fish_tctl_using_subcommand version" -s c -l config -d 'The daemon\'s config file: use the admin identity in its data_dir' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand version" -l data-dir -d 'The daemon\'s data directory: use the admin identity in it' -r -f -a "(__fish_complete_directories)"
complete -c tctl -n "__fish_tctl_using_subcommand version" -s i -l identity -d 'An identity file from `tctl auth sign`' -r -F
complete -c tctl -n "__fish_tctl_using_subcommand version" -l proxy -d 'The proxy\'s web address (host:port), overriding the identity\'s' -r
complete -c tctl -n "__fish_tctl_using_subcommand version" -l cluster -d 'Administer this leaf cluster through the root\'s proxy, as your root user with the leaf\'s role map (needs a tsh login at the root)' -r
complete -c tctl -n "__fish_tctl_using_subcommand version" -l insecure -d 'Do not verify the proxy\'s HTTPS certificate (testing only)'
complete -c tctl -n "__fish_tctl_using_subcommand version" -s h -l help -d 'Print help'
complete -c tctl -n "__fish_tctl_using_subcommand help; and not __fish_seen_subcommand_from users tokens create get rm update status trusted-cluster auth audit completion version help" -f -a "users" -d 'Manage users'
complete -c tctl -n "__fish_tctl_using_subcommand help; and not __fish_seen_subcommand_from users tokens create get rm update status trusted-cluster auth audit completion version help" -f -a "tokens" -d 'Manage join tokens'
complete -c tctl -n "__fish_tctl_using_subcommand help; and not __fish_seen_subcommand_from users tokens create get rm update status trusted-cluster auth audit completion version help" -f -a "create" -d 'Create resources from a YAML or JSON file ("-" reads stdin)'
complete -c tctl -n "__fish_tctl_using_subcommand help; and not __fish_seen_subcommand_from users tokens create get rm update status trusted-cluster auth audit completion version help" -f -a "get" -d 'Print resources: KIND or KIND/NAME'
complete -c tctl -n "__fish_tctl_using_subcommand help; and not __fish_seen_subcommand_from users tokens create get rm update status trusted-cluster auth audit completion version help" -f -a "rm" -d 'Delete a resource: KIND/NAME'
complete -c tctl -n "__fish_tctl_using_subcommand help; and not __fish_seen_subcommand_from users tokens create get rm update status trusted-cluster auth audit completion version help" -f -a "update" -d 'Update a remote cluster\'s labels: rc/NAME --set-labels=k=v,...'
complete -c tctl -n "__fish_tctl_using_subcommand help; and not __fish_seen_subcommand_from users tokens create get rm update status trusted-cluster auth audit completion version help" -f -a "status" -d 'Show the cluster and its certificate authorities'
complete -c tctl -n "__fish_tctl_using_subcommand help; and not __fish_seen_subcommand_from users tokens create get rm update status trusted-cluster auth audit completion version help" -f -a "trusted-cluster" -d 'Trusted cluster tools'
complete -c tctl -n "__fish_tctl_using_subcommand help; and not __fish_seen_subcommand_from users tokens create get rm update status trusted-cluster auth audit completion version help" -f -a "auth" -d 'Certificate authority operations'
complete -c tctl -n "__fish_tctl_using_subcommand help; and not __fish_seen_subcommand_from users tokens create get rm update status trusted-cluster auth audit completion version help" -f -a "audit" -d 'Read the audit log'
complete -c tctl -n "__fish_tctl_using_subcommand help; and not __fish_seen_subcommand_from users tokens create get rm update status trusted-cluster auth audit completion version help" -f -a "completion" -d 'Print a shell completion script'
complete -c tctl -n "__fish_tctl_using_subcommand help; and not __fish_seen_subcommand_from users tokens create get rm update status trusted-cluster auth audit completion version help" -f -a "version" -d 'Print the version'
complete -c tctl -n "__fish_tctl_using_subcommand help; and not __fish_seen_subcommand_from users tokens create get rm update status trusted-cluster auth audit completion version help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tctl -n "__fish_tctl_using_subcommand help; and __fish_seen_subcommand_from users" -f -a "add" -d 'Create a user and print a one-time invite'
complete -c tctl -n "__fish_tctl_using_subcommand help; and __fish_seen_subcommand_from users" -f -a "ls" -d 'List users'
complete -c tctl -n "__fish_tctl_using_subcommand help; and __fish_seen_subcommand_from users" -f -a "rm" -d 'Delete a user'
complete -c tctl -n "__fish_tctl_using_subcommand help; and __fish_seen_subcommand_from users" -f -a "expand" -d 'Show what a user\'s roles mean for them: the logins their certificate would carry and each role\'s logins and label selectors with templates expanded (changes nothing)'
complete -c tctl -n "__fish_tctl_using_subcommand help; and __fish_seen_subcommand_from users" -f -a "reset" -d 'Clear a user\'s password and print a new invite'
complete -c tctl -n "__fish_tctl_using_subcommand help; and __fish_seen_subcommand_from tokens" -f -a "add" -d 'Create a join token'
complete -c tctl -n "__fish_tctl_using_subcommand help; and __fish_seen_subcommand_from tokens" -f -a "ls" -d 'List join tokens'
complete -c tctl -n "__fish_tctl_using_subcommand help; and __fish_seen_subcommand_from tokens" -f -a "rm" -d 'Delete a join token (the whole token or the hint `tokens ls` shows)'
complete -c tctl -n "__fish_tctl_using_subcommand help; and __fish_seen_subcommand_from trusted-cluster" -f -a "map-roles" -d 'Show what remote roles map to under a role_map, and which rule matched (changes nothing)'
complete -c tctl -n "__fish_tctl_using_subcommand help; and __fish_seen_subcommand_from trusted-cluster" -f -a "doctor" -d 'Check a trust step by step and say what is wrong and how to fix it: on a leaf, the way to ROOT (DNS, TCP, TLS, the root\'s answers, the tunnel login, the tunnels, the role map); on a root, with --leaf, its view of that leaf. Exits non-zero when a check fails'
complete -c tctl -n "__fish_tctl_using_subcommand help; and __fish_seen_subcommand_from auth" -f -a "sign" -d 'Write an identity file for a user (usable with tsh -i and tctl -i)'
complete -c tctl -n "__fish_tctl_using_subcommand help; and __fish_seen_subcommand_from auth" -f -a "export" -d 'Print CA public keys: OpenSSH lines (user, host), or PEM certificates (tls)'
complete -c tctl -n "__fish_tctl_using_subcommand help; and __fish_seen_subcommand_from auth" -f -a "rotate" -d 'Rotate a certificate authority: by itself over a grace period, or (--manual) one phase at a time: init, update_clients, update_servers, standby; rollback before standby'
complete -c tctl -n "__fish_tctl_using_subcommand help; and __fish_seen_subcommand_from audit" -f -a "ls" -d 'List audit events'


using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'tctl' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'tctl'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'tctl' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The daemon''s data directory: use the admin identity in it')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address (host:port), overriding the identity''s')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'Administer this leaf cluster through the root''s proxy, as your root user with the leaf''s role map (needs a tsh login at the root)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('users', 'users', [CompletionResultType]::ParameterValue, 'Manage users')
            [CompletionResult]::new('tokens', 'tokens', [CompletionResultType]::ParameterValue, 'Manage join tokens')
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create resources from a YAML or JSON file ("-" reads stdin)')
            [CompletionResult]::new('get', 'get', [CompletionResultType]::ParameterValue, 'Print resources: KIND or KIND/NAME')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Delete a resource: KIND/NAME')
            [CompletionResult]::new('update', 'update', [CompletionResultType]::ParameterValue, 'Update a remote cluster''s labels: rc/NAME --set-labels=k=v,...')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show the cluster and its certificate authorities')
            [CompletionResult]::new('trusted-cluster', 'trusted-cluster', [CompletionResultType]::ParameterValue, 'Trusted cluster tools')
            [CompletionResult]::new('auth', 'auth', [CompletionResultType]::ParameterValue, 'Certificate authority operations')
            [CompletionResult]::new('audit', 'audit', [CompletionResultType]::ParameterValue, 'Read the audit log')
            [CompletionResult]::new('completion', 'completion', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('version', 'version', [CompletionResultType]::ParameterValue, 'Print the version')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tctl;users' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The daemon''s data directory: use the admin identity in it')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address (host:port), overriding the identity''s')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'Administer this leaf cluster through the root''s proxy, as your root user with the leaf''s role map (needs a tsh login at the root)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Create a user and print a one-time invite')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List users')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Delete a user')
            [CompletionResult]::new('expand', 'expand', [CompletionResultType]::ParameterValue, 'Show what a user''s roles mean for them: the logins their certificate would carry and each role''s logins and label selectors with templates expanded (changes nothing)')
            [CompletionResult]::new('reset', 'reset', [CompletionResultType]::ParameterValue, 'Clear a user''s password and print a new invite')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tctl;users;add' {
            [CompletionResult]::new('--roles', '--roles', [CompletionResultType]::ParameterName, 'Roles, comma-separated')
            [CompletionResult]::new('--logins', '--logins', [CompletionResultType]::ParameterName, 'Unix logins, comma-separated')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The daemon''s data directory: use the admin identity in it')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address (host:port), overriding the identity''s')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'Administer this leaf cluster through the root''s proxy, as your root user with the leaf''s role map (needs a tsh login at the root)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tctl;users;ls' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The daemon''s data directory: use the admin identity in it')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address (host:port), overriding the identity''s')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'Administer this leaf cluster through the root''s proxy, as your root user with the leaf''s role map (needs a tsh login at the root)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'tctl;users;rm' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The daemon''s data directory: use the admin identity in it')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address (host:port), overriding the identity''s')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'Administer this leaf cluster through the root''s proxy, as your root user with the leaf''s role map (needs a tsh login at the root)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tctl;users;expand' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The daemon''s data directory: use the admin identity in it')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address (host:port), overriding the identity''s')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'Administer this leaf cluster through the root''s proxy, as your root user with the leaf''s role map (needs a tsh login at the root)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'tctl;users;reset' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The daemon''s data directory: use the admin identity in it')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address (host:port), overriding the identity''s')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'Administer this leaf cluster through the root''s proxy, as your root user with the leaf''s role map (needs a tsh login at the root)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tctl;users;help' {
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Create a user and print a one-time invite')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List users')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Delete a user')
            [CompletionResult]::new('expand', 'expand', [CompletionResultType]::ParameterValue, 'Show what a user''s roles mean for them: the logins their certificate would carry and each role''s logins and label selectors with templates expanded (changes nothing)')
            [CompletionResult]::new('reset', 'reset', [CompletionResultType]::ParameterValue, 'Clear a user''s password and print a new invite')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tctl;users;help;add' {
            break
        }
        'tctl;users;help;ls' {
            break
        }
        'tctl;users;help;rm' {
            break
        }
        'tctl;users;help;expand' {
            break
        }
        'tctl;users;help;reset' {
            break
        }
        'tctl;users;help;help' {
            break
        }
        'tctl;tokens' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The daemon''s data directory: use the admin identity in it')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address (host:port), overriding the identity''s')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'Administer this leaf cluster through the root''s proxy, as your root user with the leaf''s role map (needs a tsh login at the root)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Create a join token')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List join tokens')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Delete a join token (the whole token or the hint `tokens ls` shows)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tctl;tokens;add' {
            [CompletionResult]::new('--type', '--type', [CompletionResultType]::ParameterName, 'What the token lets join')
            [CompletionResult]::new('--ttl', '--ttl', [CompletionResultType]::ParameterName, 'How long it is valid (e.g. 15m, 1h)')
            [CompletionResult]::new('--labels', '--labels', [CompletionResultType]::ParameterName, 'Labels for what joins, k=v comma-separated')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The daemon''s data directory: use the admin identity in it')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address (host:port), overriding the identity''s')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'Administer this leaf cluster through the root''s proxy, as your root user with the leaf''s role map (needs a tsh login at the root)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'tctl;tokens;ls' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The daemon''s data directory: use the admin identity in it')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address (host:port), overriding the identity''s')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'Administer this leaf cluster through the root''s proxy, as your root user with the leaf''s role map (needs a tsh login at the root)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'tctl;tokens;rm' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The daemon''s data directory: use the admin identity in it')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address (host:port), overriding the identity''s')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'Administer this leaf cluster through the root''s proxy, as your root user with the leaf''s role map (needs a tsh login at the root)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tctl;tokens;help' {
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Create a join token')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List join tokens')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Delete a join token (the whole token or the hint `tokens ls` shows)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tctl;tokens;help;add' {
            break
        }
        'tctl;tokens;help;ls' {
            break
        }
        'tctl;tokens;help;rm' {
            break
        }
        'tctl;tokens;help;help' {
            break
        }
        'tctl;create' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The daemon''s data directory: use the admin identity in it')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address (host:port), overriding the identity''s')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'Administer this leaf cluster through the root''s proxy, as your root user with the leaf''s role map (needs a tsh login at the root)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Overwrite resources that exist')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Overwrite resources that exist')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tctl;get' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The daemon''s data directory: use the admin identity in it')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address (host:port), overriding the identity''s')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'Administer this leaf cluster through the root''s proxy, as your root user with the leaf''s role map (needs a tsh login at the root)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'tctl;rm' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The daemon''s data directory: use the admin identity in it')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address (host:port), overriding the identity''s')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'Administer this leaf cluster through the root''s proxy, as your root user with the leaf''s role map (needs a tsh login at the root)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tctl;update' {
            [CompletionResult]::new('--set-labels', '--set-labels', [CompletionResultType]::ParameterName, 'Labels to set (replacing the current ones), k=v comma-separated')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The daemon''s data directory: use the admin identity in it')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address (host:port), overriding the identity''s')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'Administer this leaf cluster through the root''s proxy, as your root user with the leaf''s role map (needs a tsh login at the root)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tctl;status' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The daemon''s data directory: use the admin identity in it')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address (host:port), overriding the identity''s')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'Administer this leaf cluster through the root''s proxy, as your root user with the leaf''s role map (needs a tsh login at the root)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'tctl;trusted-cluster' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The daemon''s data directory: use the admin identity in it')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address (host:port), overriding the identity''s')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'Administer this leaf cluster through the root''s proxy, as your root user with the leaf''s role map (needs a tsh login at the root)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('map-roles', 'map-roles', [CompletionResultType]::ParameterValue, 'Show what remote roles map to under a role_map, and which rule matched (changes nothing)')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check a trust step by step and say what is wrong and how to fix it: on a leaf, the way to ROOT (DNS, TCP, TLS, the root''s answers, the tunnel login, the tunnels, the role map); on a root, with --leaf, its view of that leaf. Exits non-zero when a check fails')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tctl;trusted-cluster;map-roles' {
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'A trusted_cluster YAML file to test (no cluster needed)')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'The stored trusted cluster to test instead')
            [CompletionResult]::new('--roles', '--roles', [CompletionResultType]::ParameterName, 'The remote roles, comma-separated')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The daemon''s data directory: use the admin identity in it')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address (host:port), overriding the identity''s')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'Administer this leaf cluster through the root''s proxy, as your root user with the leaf''s role map (needs a tsh login at the root)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tctl;trusted-cluster;doctor' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'A trusted_cluster YAML file to check before (or instead of) creating it')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'A trusted_cluster YAML file to check before (or instead of) creating it')
            [CompletionResult]::new('--leaf', '--leaf', [CompletionResultType]::ParameterName, 'On a root: check this leaf (its remote_cluster, CAs, status and tunnels)')
            [CompletionResult]::new('--roles', '--roles', [CompletionResultType]::ParameterName, 'Remote roles to run through the role map, comma-separated')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The daemon''s data directory: use the admin identity in it')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address (host:port), overriding the identity''s')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'Administer this leaf cluster through the root''s proxy, as your root user with the leaf''s role map (needs a tsh login at the root)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'tctl;trusted-cluster;help' {
            [CompletionResult]::new('map-roles', 'map-roles', [CompletionResultType]::ParameterValue, 'Show what remote roles map to under a role_map, and which rule matched (changes nothing)')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check a trust step by step and say what is wrong and how to fix it: on a leaf, the way to ROOT (DNS, TCP, TLS, the root''s answers, the tunnel login, the tunnels, the role map); on a root, with --leaf, its view of that leaf. Exits non-zero when a check fails')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tctl;trusted-cluster;help;map-roles' {
            break
        }
        'tctl;trusted-cluster;help;doctor' {
            break
        }
        'tctl;trusted-cluster;help;help' {
            break
        }
        'tctl;auth' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The daemon''s data directory: use the admin identity in it')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address (host:port), overriding the identity''s')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'Administer this leaf cluster through the root''s proxy, as your root user with the leaf''s role map (needs a tsh login at the root)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('sign', 'sign', [CompletionResultType]::ParameterValue, 'Write an identity file for a user (usable with tsh -i and tctl -i)')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Print CA public keys: OpenSSH lines (user, host), or PEM certificates (tls)')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Rotate a certificate authority: by itself over a grace period, or (--manual) one phase at a time: init, update_clients, update_servers, standby; rollback before standby')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tctl;auth;sign' {
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'The user')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Where to write it')
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Where to write it')
            [CompletionResult]::new('--ttl', '--ttl', [CompletionResultType]::ParameterName, 'Lifetime (e.g. 12h)')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The daemon''s data directory: use the admin identity in it')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address (host:port), overriding the identity''s')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'Administer this leaf cluster through the root''s proxy, as your root user with the leaf''s role map (needs a tsh login at the root)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tctl;auth;export' {
            [CompletionResult]::new('--type', '--type', [CompletionResultType]::ParameterName, 'Which CA')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The daemon''s data directory: use the admin identity in it')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address (host:port), overriding the identity''s')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'Administer this leaf cluster through the root''s proxy, as your root user with the leaf''s role map (needs a tsh login at the root)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'tctl;auth;rotate' {
            [CompletionResult]::new('--type', '--type', [CompletionResultType]::ParameterName, 'Which CA (all three when absent)')
            [CompletionResult]::new('--phase', '--phase', [CompletionResultType]::ParameterName, 'The phase to move to (with --manual)')
            [CompletionResult]::new('--grace-period', '--grace-period', [CompletionResultType]::ParameterName, 'How long the old key stays trusted (automatic mode; default 30h)')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The daemon''s data directory: use the admin identity in it')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address (host:port), overriding the identity''s')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'Administer this leaf cluster through the root''s proxy, as your root user with the leaf''s role map (needs a tsh login at the root)')
            [CompletionResult]::new('--manual', '--manual', [CompletionResultType]::ParameterName, 'Move one phase at a time (with --phase)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'tctl;auth;help' {
            [CompletionResult]::new('sign', 'sign', [CompletionResultType]::ParameterValue, 'Write an identity file for a user (usable with tsh -i and tctl -i)')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Print CA public keys: OpenSSH lines (user, host), or PEM certificates (tls)')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Rotate a certificate authority: by itself over a grace period, or (--manual) one phase at a time: init, update_clients, update_servers, standby; rollback before standby')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tctl;auth;help;sign' {
            break
        }
        'tctl;auth;help;export' {
            break
        }
        'tctl;auth;help;rotate' {
            break
        }
        'tctl;auth;help;help' {
            break
        }
        'tctl;audit' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The daemon''s data directory: use the admin identity in it')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address (host:port), overriding the identity''s')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'Administer this leaf cluster through the root''s proxy, as your root user with the leaf''s role map (needs a tsh login at the root)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List audit events')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tctl;audit;ls' {
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only events newer than this: a duration (1h) or an RFC 3339 time')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Show only the newest N events (the server''s default is 1000; at most 10000)')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The daemon''s data directory: use the admin identity in it')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address (host:port), overriding the identity''s')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'Administer this leaf cluster through the root''s proxy, as your root user with the leaf''s role map (needs a tsh login at the root)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'tctl;audit;help' {
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List audit events')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tctl;audit;help;ls' {
            break
        }
        'tctl;audit;help;help' {
            break
        }
        'tctl;completion' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The daemon''s data directory: use the admin identity in it')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address (host:port), overriding the identity''s')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'Administer this leaf cluster through the root''s proxy, as your root user with the leaf''s role map (needs a tsh login at the root)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tctl;version' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The daemon''s config file: use the admin identity in its data_dir')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'The daemon''s data directory: use the admin identity in it')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'An identity file from `tctl auth sign`')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address (host:port), overriding the identity''s')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'Administer this leaf cluster through the root''s proxy, as your root user with the leaf''s role map (needs a tsh login at the root)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tctl;help' {
            [CompletionResult]::new('users', 'users', [CompletionResultType]::ParameterValue, 'Manage users')
            [CompletionResult]::new('tokens', 'tokens', [CompletionResultType]::ParameterValue, 'Manage join tokens')
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create resources from a YAML or JSON file ("-" reads stdin)')
            [CompletionResult]::new('get', 'get', [CompletionResultType]::ParameterValue, 'Print resources: KIND or KIND/NAME')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Delete a resource: KIND/NAME')
            [CompletionResult]::new('update', 'update', [CompletionResultType]::ParameterValue, 'Update a remote cluster''s labels: rc/NAME --set-labels=k=v,...')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show the cluster and its certificate authorities')
            [CompletionResult]::new('trusted-cluster', 'trusted-cluster', [CompletionResultType]::ParameterValue, 'Trusted cluster tools')
            [CompletionResult]::new('auth', 'auth', [CompletionResultType]::ParameterValue, 'Certificate authority operations')
            [CompletionResult]::new('audit', 'audit', [CompletionResultType]::ParameterValue, 'Read the audit log')
            [CompletionResult]::new('completion', 'completion', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('version', 'version', [CompletionResultType]::ParameterValue, 'Print the version')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tctl;help;users' {
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Create a user and print a one-time invite')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List users')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Delete a user')
            [CompletionResult]::new('expand', 'expand', [CompletionResultType]::ParameterValue, 'Show what a user''s roles mean for them: the logins their certificate would carry and each role''s logins and label selectors with templates expanded (changes nothing)')
            [CompletionResult]::new('reset', 'reset', [CompletionResultType]::ParameterValue, 'Clear a user''s password and print a new invite')
            break
        }
        'tctl;help;users;add' {
            break
        }
        'tctl;help;users;ls' {
            break
        }
        'tctl;help;users;rm' {
            break
        }
        'tctl;help;users;expand' {
            break
        }
        'tctl;help;users;reset' {
            break
        }
        'tctl;help;tokens' {
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Create a join token')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List join tokens')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Delete a join token (the whole token or the hint `tokens ls` shows)')
            break
        }
        'tctl;help;tokens;add' {
            break
        }
        'tctl;help;tokens;ls' {
            break
        }
        'tctl;help;tokens;rm' {
            break
        }
        'tctl;help;create' {
            break
        }
        'tctl;help;get' {
            break
        }
        'tctl;help;rm' {
            break
        }
        'tctl;help;update' {
            break
        }
        'tctl;help;status' {
            break
        }
        'tctl;help;trusted-cluster' {
            [CompletionResult]::new('map-roles', 'map-roles', [CompletionResultType]::ParameterValue, 'Show what remote roles map to under a role_map, and which rule matched (changes nothing)')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check a trust step by step and say what is wrong and how to fix it: on a leaf, the way to ROOT (DNS, TCP, TLS, the root''s answers, the tunnel login, the tunnels, the role map); on a root, with --leaf, its view of that leaf. Exits non-zero when a check fails')
            break
        }
        'tctl;help;trusted-cluster;map-roles' {
            break
        }
        'tctl;help;trusted-cluster;doctor' {
            break
        }
        'tctl;help;auth' {
            [CompletionResult]::new('sign', 'sign', [CompletionResultType]::ParameterValue, 'Write an identity file for a user (usable with tsh -i and tctl -i)')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Print CA public keys: OpenSSH lines (user, host), or PEM certificates (tls)')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Rotate a certificate authority: by itself over a grace period, or (--manual) one phase at a time: init, update_clients, update_servers, standby; rollback before standby')
            break
        }
        'tctl;help;auth;sign' {
            break
        }
        'tctl;help;auth;export' {
            break
        }
        'tctl;help;auth;rotate' {
            break
        }
        'tctl;help;audit' {
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List audit events')
            break
        }
        'tctl;help;audit;ls' {
            break
        }
        'tctl;help;completion' {
            break
        }
        'tctl;help;version' {
            break
        }
        'tctl;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}

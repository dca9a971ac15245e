
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'tsh' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'tsh'
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
        'tsh' {
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address, host[:port] (port 3080 when left out)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'The user name (default: the local user)')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('login', 'login', [CompletionResultType]::ParameterValue, 'Log in to a cluster and get short-lived certificates')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show the current profile')
            [CompletionResult]::new('logout', 'logout', [CompletionResultType]::ParameterValue, 'Delete all profiles and keys')
            [CompletionResult]::new('completion', 'completion', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('version', 'version', [CompletionResultType]::ParameterValue, 'Print the version')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tsh;login' {
            [CompletionResult]::new('--ttl', '--ttl', [CompletionResultType]::ParameterName, 'Certificate lifetime (capped by your roles), e.g. 8h')
            [CompletionResult]::new('--invite', '--invite', [CompletionResultType]::ParameterName, 'The one-time invite from `tctl users add`: sets your password')
            [CompletionResult]::new('--keystore', '--keystore', [CompletionResultType]::ParameterName, 'Where to keep the private key')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address, host[:port] (port 3080 when left out)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'The user name (default: the local user)')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tsh;status' {
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address, host[:port] (port 3080 when left out)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'The user name (default: the local user)')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tsh;logout' {
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address, host[:port] (port 3080 when left out)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'The user name (default: the local user)')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tsh;completion' {
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address, host[:port] (port 3080 when left out)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'The user name (default: the local user)')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tsh;version' {
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address, host[:port] (port 3080 when left out)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'The user name (default: the local user)')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tsh;help' {
            [CompletionResult]::new('login', 'login', [CompletionResultType]::ParameterValue, 'Log in to a cluster and get short-lived certificates')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show the current profile')
            [CompletionResult]::new('logout', 'logout', [CompletionResultType]::ParameterValue, 'Delete all profiles and keys')
            [CompletionResult]::new('completion', 'completion', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('version', 'version', [CompletionResultType]::ParameterValue, 'Print the version')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tsh;help;login' {
            break
        }
        'tsh;help;status' {
            break
        }
        'tsh;help;logout' {
            break
        }
        'tsh;help;completion' {
            break
        }
        'tsh;help;version' {
            break
        }
        'tsh;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}

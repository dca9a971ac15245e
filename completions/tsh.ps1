
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
            [CompletionResult]::new('--debug', '--debug', [CompletionResultType]::ParameterName, 'Print what tsh does, step by step with the time since it started, on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('login', 'login', [CompletionResultType]::ParameterValue, 'Log in to a cluster and get short-lived certificates')
            [CompletionResult]::new('clusters', 'clusters', [CompletionResultType]::ParameterValue, 'List the root cluster and the leaf clusters you may see')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show the current profile')
            [CompletionResult]::new('ssh', 'ssh', [CompletionResultType]::ParameterValue, 'Run a command or a shell on a node, or a command on every node with some labels: tsh ssh [LOGIN@]HOST|[LOGIN@]KEY=VALUE[,...] [COMMAND...]')
            [CompletionResult]::new('scp', 'scp', [CompletionResultType]::ParameterValue, 'Copy files to or from a node over SFTP: tsh scp [-r] SRC... [LOGIN@]NODE:PATH (or the reverse)')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List the nodes you may log in to: tsh ls [label=value ...]')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Print an OpenSSH client configuration that reaches nodes through tsh')
            [CompletionResult]::new('proxy', 'proxy', [CompletionResultType]::ParameterValue, 'Helpers for other programs')
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
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'Select a leaf cluster for later commands (a valid login is reused, no password)')
            [CompletionResult]::new('--ca-pin', '--ca-pin', [CompletionResultType]::ParameterName, 'Trust the proxy''s HTTPS certificate when it chains to the cluster TLS CA with this pin (`sha256:HEX`, as `tctl users add` prints it): a first login without --insecure')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address, host[:port] (port 3080 when left out)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'The user name (default: the local user)')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('--debug', '--debug', [CompletionResultType]::ParameterName, 'Print what tsh does, step by step with the time since it started, on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tsh;clusters' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address, host[:port] (port 3080 when left out)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'The user name (default: the local user)')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('--debug', '--debug', [CompletionResultType]::ParameterName, 'Print what tsh does, step by step with the time since it started, on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tsh;status' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address, host[:port] (port 3080 when left out)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'The user name (default: the local user)')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('--debug', '--debug', [CompletionResultType]::ParameterName, 'Print what tsh does, step by step with the time since it started, on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tsh;ssh' {
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'The cluster the node is in (default: the one you logged in to)')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'The node''s SSH port')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'The node''s SSH port')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'The Unix login (default: the first login of your certificate)')
            [CompletionResult]::new('--login', '--login', [CompletionResultType]::ParameterName, 'The Unix login (default: the first login of your certificate)')
            [CompletionResult]::new('-L', '-L ', [CompletionResultType]::ParameterName, 'Forward a local port to HOST:HOSTPORT as seen from the node (repeatable)')
            [CompletionResult]::new('-R', '-R ', [CompletionResultType]::ParameterName, 'Forward a port on the node''s loopback to HOST:HOSTPORT as seen from here (repeatable)')
            [CompletionResult]::new('-D', '-D ', [CompletionResultType]::ParameterName, 'A local SOCKS5 proxy whose connections leave from the node (repeatable)')
            [CompletionResult]::new('--max-parallel', '--max-parallel', [CompletionResultType]::ParameterName, 'With a label selector as HOST (key=value[,key=value]): how many nodes run the command at once')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address, host[:port] (port 3080 when left out)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'The user name (default: the local user)')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Force a pseudo-terminal')
            [CompletionResult]::new('-T', '-T ', [CompletionResultType]::ParameterName, 'Never allocate a pseudo-terminal')
            [CompletionResult]::new('-N', '-N ', [CompletionResultType]::ParameterName, 'Run no command: hold the forwards until Ctrl-C or SIGTERM')
            [CompletionResult]::new('-A', '-A ', [CompletionResultType]::ParameterName, 'Forward your SSH agent (SSH_AUTH_SOCK) to the node')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('--debug', '--debug', [CompletionResultType]::ParameterName, 'Print what tsh does, step by step with the time since it started, on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tsh;scp' {
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'The cluster the node is in (default: the one you logged in to)')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'The node''s SSH port')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'The node''s SSH port')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address, host[:port] (port 3080 when left out)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'The user name (default: the local user)')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Copy directories and their contents')
            [CompletionResult]::new('--recursive', '--recursive', [CompletionResultType]::ParameterName, 'Copy directories and their contents')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress bars')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress bars')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('--debug', '--debug', [CompletionResultType]::ParameterName, 'Print what tsh does, step by step with the time since it started, on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tsh;ls' {
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'The cluster (default: the one you logged in to)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address, host[:port] (port 3080 when left out)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'The user name (default: the local user)')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Nodes of the root and of every leaf you may see, in one table')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('--debug', '--debug', [CompletionResultType]::ParameterName, 'Print what tsh does, step by step with the time since it started, on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tsh;config' {
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address, host[:port] (port 3080 when left out)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'The user name (default: the local user)')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('--debug', '--debug', [CompletionResultType]::ParameterName, 'Print what tsh does, step by step with the time since it started, on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tsh;proxy' {
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address, host[:port] (port 3080 when left out)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'The user name (default: the local user)')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('--debug', '--debug', [CompletionResultType]::ParameterName, 'Print what tsh does, step by step with the time since it started, on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('cert', 'cert', [CompletionResultType]::ParameterValue, 'Renew the leaf-bound certificate `tsh config` points OpenSSH at (run by its Match exec)')
            [CompletionResult]::new('ssh', 'ssh', [CompletionResultType]::ParameterValue, 'Pipe stdin/stdout to a node''s SSH port (OpenSSH''s ProxyCommand): [LOGIN@]HOST:PORT')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tsh;proxy;cert' {
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'The leaf cluster')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address, host[:port] (port 3080 when left out)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'The user name (default: the local user)')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('--debug', '--debug', [CompletionResultType]::ParameterName, 'Print what tsh does, step by step with the time since it started, on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tsh;proxy;ssh' {
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'The cluster the node is in')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address, host[:port] (port 3080 when left out)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'The user name (default: the local user)')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('--debug', '--debug', [CompletionResultType]::ParameterName, 'Print what tsh does, step by step with the time since it started, on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tsh;proxy;help' {
            [CompletionResult]::new('cert', 'cert', [CompletionResultType]::ParameterValue, 'Renew the leaf-bound certificate `tsh config` points OpenSSH at (run by its Match exec)')
            [CompletionResult]::new('ssh', 'ssh', [CompletionResultType]::ParameterValue, 'Pipe stdin/stdout to a node''s SSH port (OpenSSH''s ProxyCommand): [LOGIN@]HOST:PORT')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tsh;proxy;help;cert' {
            break
        }
        'tsh;proxy;help;ssh' {
            break
        }
        'tsh;proxy;help;help' {
            break
        }
        'tsh;logout' {
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'The proxy''s web address, host[:port] (port 3080 when left out)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'The user name (default: the local user)')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'Use an identity file (from `tctl auth sign`) instead of the logged-in profile')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the proxy''s HTTPS certificate (testing only)')
            [CompletionResult]::new('--debug', '--debug', [CompletionResultType]::ParameterName, 'Print what tsh does, step by step with the time since it started, on stderr')
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
            [CompletionResult]::new('--debug', '--debug', [CompletionResultType]::ParameterName, 'Print what tsh does, step by step with the time since it started, on stderr')
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
            [CompletionResult]::new('--debug', '--debug', [CompletionResultType]::ParameterName, 'Print what tsh does, step by step with the time since it started, on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tsh;help' {
            [CompletionResult]::new('login', 'login', [CompletionResultType]::ParameterValue, 'Log in to a cluster and get short-lived certificates')
            [CompletionResult]::new('clusters', 'clusters', [CompletionResultType]::ParameterValue, 'List the root cluster and the leaf clusters you may see')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show the current profile')
            [CompletionResult]::new('ssh', 'ssh', [CompletionResultType]::ParameterValue, 'Run a command or a shell on a node, or a command on every node with some labels: tsh ssh [LOGIN@]HOST|[LOGIN@]KEY=VALUE[,...] [COMMAND...]')
            [CompletionResult]::new('scp', 'scp', [CompletionResultType]::ParameterValue, 'Copy files to or from a node over SFTP: tsh scp [-r] SRC... [LOGIN@]NODE:PATH (or the reverse)')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List the nodes you may log in to: tsh ls [label=value ...]')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Print an OpenSSH client configuration that reaches nodes through tsh')
            [CompletionResult]::new('proxy', 'proxy', [CompletionResultType]::ParameterValue, 'Helpers for other programs')
            [CompletionResult]::new('logout', 'logout', [CompletionResultType]::ParameterValue, 'Delete all profiles and keys')
            [CompletionResult]::new('completion', 'completion', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('version', 'version', [CompletionResultType]::ParameterValue, 'Print the version')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tsh;help;login' {
            break
        }
        'tsh;help;clusters' {
            break
        }
        'tsh;help;status' {
            break
        }
        'tsh;help;ssh' {
            break
        }
        'tsh;help;scp' {
            break
        }
        'tsh;help;ls' {
            break
        }
        'tsh;help;config' {
            break
        }
        'tsh;help;proxy' {
            [CompletionResult]::new('cert', 'cert', [CompletionResultType]::ParameterValue, 'Renew the leaf-bound certificate `tsh config` points OpenSSH at (run by its Match exec)')
            [CompletionResult]::new('ssh', 'ssh', [CompletionResultType]::ParameterValue, 'Pipe stdin/stdout to a node''s SSH port (OpenSSH''s ProxyCommand): [LOGIN@]HOST:PORT')
            break
        }
        'tsh;help;proxy;cert' {
            break
        }
        'tsh;help;proxy;ssh' {
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

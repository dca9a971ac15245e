#compdef tsh

autoload -U is-at-least

_tsh() {
    typeset -A opt_args
    typeset -a _arguments_options
    local ret=1

    if is-at-least 5.2; then
        _arguments_options=(-s -S -C)
    else
        _arguments_options=(-s -C)
    fi

    local context curcontext="$curcontext" state line
    _arguments "${_arguments_options[@]}" : \
'--proxy=[The proxy'\''s web address, host\[\:port\] (port 3080 when left out)]:PROXY:_default' \
'--user=[The user name (default\: the local user)]:USER:_default' \
'-i+[Use an identity file (from \`tctl auth sign\`) instead of the logged-in profile]:IDENTITY:_files' \
'--identity=[Use an identity file (from \`tctl auth sign\`) instead of the logged-in profile]:IDENTITY:_files' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'--debug[Print what tsh does, step by step with the time since it started, on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
":: :_tsh_commands" \
"*::: :->tsh" \
&& ret=0
    case $state in
    (tsh)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:tsh-command-$line[1]:"
        case $line[1] in
            (login)
_arguments "${_arguments_options[@]}" : \
'--ttl=[Certificate lifetime (capped by your roles), e.g. 8h]:TTL:_default' \
'--invite=[The one-time invite from \`tctl users add\`\: sets your password]:INVITE:_default' \
'--keystore=[Where to keep the private key]:KEYSTORE:(auto keyring file)' \
'--cluster=[Select a leaf cluster for later commands (a valid login is reused, no password)]:CLUSTER:_default' \
'--ca-pin=[Trust the proxy'\''s HTTPS certificate when it chains to the cluster TLS CA with this pin (\`sha256\:HEX\`, as \`tctl users add\` prints it)\: a first login without --insecure]:CA_PIN:_default' \
'--proxy=[The proxy'\''s web address, host\[\:port\] (port 3080 when left out)]:PROXY:_default' \
'--user=[The user name (default\: the local user)]:USER:_default' \
'-i+[Use an identity file (from \`tctl auth sign\`) instead of the logged-in profile]:IDENTITY:_files' \
'--identity=[Use an identity file (from \`tctl auth sign\`) instead of the logged-in profile]:IDENTITY:_files' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'--debug[Print what tsh does, step by step with the time since it started, on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
&& ret=0
;;
(clusters)
_arguments "${_arguments_options[@]}" : \
'--format=[Output format]:FORMAT:(text json yaml)' \
'--proxy=[The proxy'\''s web address, host\[\:port\] (port 3080 when left out)]:PROXY:_default' \
'--user=[The user name (default\: the local user)]:USER:_default' \
'-i+[Use an identity file (from \`tctl auth sign\`) instead of the logged-in profile]:IDENTITY:_files' \
'--identity=[Use an identity file (from \`tctl auth sign\`) instead of the logged-in profile]:IDENTITY:_files' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'--debug[Print what tsh does, step by step with the time since it started, on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
&& ret=0
;;
(status)
_arguments "${_arguments_options[@]}" : \
'--format=[Output format]:FORMAT:(text json)' \
'--proxy=[The proxy'\''s web address, host\[\:port\] (port 3080 when left out)]:PROXY:_default' \
'--user=[The user name (default\: the local user)]:USER:_default' \
'-i+[Use an identity file (from \`tctl auth sign\`) instead of the logged-in profile]:IDENTITY:_files' \
'--identity=[Use an identity file (from \`tctl auth sign\`) instead of the logged-in profile]:IDENTITY:_files' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'--debug[Print what tsh does, step by step with the time since it started, on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
&& ret=0
;;
(ssh)
_arguments "${_arguments_options[@]}" : \
'--cluster=[The cluster the node is in (default\: the one you logged in to)]:CLUSTER:_default' \
'-p+[The node'\''s SSH port]:PORT:_default' \
'--port=[The node'\''s SSH port]:PORT:_default' \
'-l+[The Unix login (default\: the first login of your certificate)]:LOGIN:_default' \
'--login=[The Unix login (default\: the first login of your certificate)]:LOGIN:_default' \
'*-L+[Forward a local port to HOST\:HOSTPORT as seen from the node (repeatable)]:[BIND_ADDRESS:]PORT:HOST:HOSTPORT:_default' \
'*-R+[Forward a port on the node'\''s loopback to HOST\:HOSTPORT as seen from here (repeatable)]:[BIND_ADDRESS:]PORT:HOST:HOSTPORT:_default' \
'*-D+[A local SOCKS5 proxy whose connections leave from the node (repeatable)]:[BIND_ADDRESS:]PORT:_default' \
'--max-parallel=[With a label selector as HOST (key=value\[,key=value\])\: how many nodes run the command at once]:MAX_PARALLEL:_default' \
'--proxy=[The proxy'\''s web address, host\[\:port\] (port 3080 when left out)]:PROXY:_default' \
'--user=[The user name (default\: the local user)]:USER:_default' \
'-i+[Use an identity file (from \`tctl auth sign\`) instead of the logged-in profile]:IDENTITY:_files' \
'--identity=[Use an identity file (from \`tctl auth sign\`) instead of the logged-in profile]:IDENTITY:_files' \
'(-T)-t[Force a pseudo-terminal]' \
'-T[Never allocate a pseudo-terminal]' \
'()-N[Run no command\: hold the forwards until Ctrl-C or SIGTERM]' \
'-A[Forward your SSH agent (SSH_AUTH_SOCK) to the node]' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'--debug[Print what tsh does, step by step with the time since it started, on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
':destination -- \[LOGIN@\]HOST\: a node name (or address), or key=value\[,key=value\] for every node with those labels:_default' \
'*::command -- The command; none starts a shell:_default' \
&& ret=0
;;
(scp)
_arguments "${_arguments_options[@]}" : \
'--cluster=[The cluster the node is in (default\: the one you logged in to)]:CLUSTER:_default' \
'-P+[The node'\''s SSH port]:PORT:_default' \
'--port=[The node'\''s SSH port]:PORT:_default' \
'--proxy=[The proxy'\''s web address, host\[\:port\] (port 3080 when left out)]:PROXY:_default' \
'--user=[The user name (default\: the local user)]:USER:_default' \
'-i+[Use an identity file (from \`tctl auth sign\`) instead of the logged-in profile]:IDENTITY:_files' \
'--identity=[Use an identity file (from \`tctl auth sign\`) instead of the logged-in profile]:IDENTITY:_files' \
'-r[Copy directories and their contents]' \
'--recursive[Copy directories and their contents]' \
'-q[No progress bars]' \
'--quiet[No progress bars]' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'--debug[Print what tsh does, step by step with the time since it started, on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'*::paths -- Sources, then the target; a node'\''s path is \[LOGIN@\]NODE\:PATH:_files' \
&& ret=0
;;
(ls)
_arguments "${_arguments_options[@]}" : \
'(--all)--cluster=[The cluster (default\: the one you logged in to)]:CLUSTER:_default' \
'--format=[Output format]:FORMAT:(text json yaml)' \
'--proxy=[The proxy'\''s web address, host\[\:port\] (port 3080 when left out)]:PROXY:_default' \
'--user=[The user name (default\: the local user)]:USER:_default' \
'-i+[Use an identity file (from \`tctl auth sign\`) instead of the logged-in profile]:IDENTITY:_files' \
'--identity=[Use an identity file (from \`tctl auth sign\`) instead of the logged-in profile]:IDENTITY:_files' \
'--all[Nodes of the root and of every leaf you may see, in one table]' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'--debug[Print what tsh does, step by step with the time since it started, on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
'*::labels -- Only nodes with these labels (label=value):_default' \
&& ret=0
;;
(config)
_arguments "${_arguments_options[@]}" : \
'--proxy=[The proxy'\''s web address, host\[\:port\] (port 3080 when left out)]:PROXY:_default' \
'--user=[The user name (default\: the local user)]:USER:_default' \
'-i+[Use an identity file (from \`tctl auth sign\`) instead of the logged-in profile]:IDENTITY:_files' \
'--identity=[Use an identity file (from \`tctl auth sign\`) instead of the logged-in profile]:IDENTITY:_files' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'--debug[Print what tsh does, step by step with the time since it started, on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
&& ret=0
;;
(proxy)
_arguments "${_arguments_options[@]}" : \
'--proxy=[The proxy'\''s web address, host\[\:port\] (port 3080 when left out)]:PROXY:_default' \
'--user=[The user name (default\: the local user)]:USER:_default' \
'-i+[Use an identity file (from \`tctl auth sign\`) instead of the logged-in profile]:IDENTITY:_files' \
'--identity=[Use an identity file (from \`tctl auth sign\`) instead of the logged-in profile]:IDENTITY:_files' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'--debug[Print what tsh does, step by step with the time since it started, on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
":: :_tsh__subcmd__proxy_commands" \
"*::: :->proxy" \
&& ret=0

    case $state in
    (proxy)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:tsh-proxy-command-$line[1]:"
        case $line[1] in
            (cert)
_arguments "${_arguments_options[@]}" : \
'--cluster=[The leaf cluster]:CLUSTER:_default' \
'--proxy=[The proxy'\''s web address, host\[\:port\] (port 3080 when left out)]:PROXY:_default' \
'--user=[The user name (default\: the local user)]:USER:_default' \
'-i+[Use an identity file (from \`tctl auth sign\`) instead of the logged-in profile]:IDENTITY:_files' \
'--identity=[Use an identity file (from \`tctl auth sign\`) instead of the logged-in profile]:IDENTITY:_files' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'--debug[Print what tsh does, step by step with the time since it started, on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
&& ret=0
;;
(ssh)
_arguments "${_arguments_options[@]}" : \
'--cluster=[The cluster the node is in]:CLUSTER:_default' \
'--proxy=[The proxy'\''s web address, host\[\:port\] (port 3080 when left out)]:PROXY:_default' \
'--user=[The user name (default\: the local user)]:USER:_default' \
'-i+[Use an identity file (from \`tctl auth sign\`) instead of the logged-in profile]:IDENTITY:_files' \
'--identity=[Use an identity file (from \`tctl auth sign\`) instead of the logged-in profile]:IDENTITY:_files' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'--debug[Print what tsh does, step by step with the time since it started, on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
':destination -- \[LOGIN@\]HOST\[\:PORT\]:_default' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_tsh__subcmd__proxy__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:tsh-proxy-help-command-$line[1]:"
        case $line[1] in
            (cert)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(ssh)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
        esac
    ;;
esac
;;
(logout)
_arguments "${_arguments_options[@]}" : \
'--proxy=[The proxy'\''s web address, host\[\:port\] (port 3080 when left out)]:PROXY:_default' \
'--user=[The user name (default\: the local user)]:USER:_default' \
'-i+[Use an identity file (from \`tctl auth sign\`) instead of the logged-in profile]:IDENTITY:_files' \
'--identity=[Use an identity file (from \`tctl auth sign\`) instead of the logged-in profile]:IDENTITY:_files' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'--debug[Print what tsh does, step by step with the time since it started, on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
&& ret=0
;;
(completion)
_arguments "${_arguments_options[@]}" : \
'--proxy=[The proxy'\''s web address, host\[\:port\] (port 3080 when left out)]:PROXY:_default' \
'--user=[The user name (default\: the local user)]:USER:_default' \
'-i+[Use an identity file (from \`tctl auth sign\`) instead of the logged-in profile]:IDENTITY:_files' \
'--identity=[Use an identity file (from \`tctl auth sign\`) instead of the logged-in profile]:IDENTITY:_files' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'--debug[Print what tsh does, step by step with the time since it started, on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
':shell -- The shell:(bash elvish fish powershell zsh)' \
&& ret=0
;;
(version)
_arguments "${_arguments_options[@]}" : \
'--proxy=[The proxy'\''s web address, host\[\:port\] (port 3080 when left out)]:PROXY:_default' \
'--user=[The user name (default\: the local user)]:USER:_default' \
'-i+[Use an identity file (from \`tctl auth sign\`) instead of the logged-in profile]:IDENTITY:_files' \
'--identity=[Use an identity file (from \`tctl auth sign\`) instead of the logged-in profile]:IDENTITY:_files' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'--debug[Print what tsh does, step by step with the time since it started, on stderr]' \
'-h[Print help]' \
'--help[Print help]' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_tsh__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:tsh-help-command-$line[1]:"
        case $line[1] in
            (login)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(clusters)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(status)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(ssh)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(scp)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(ls)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(config)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(proxy)
_arguments "${_arguments_options[@]}" : \
":: :_tsh__subcmd__help__subcmd__proxy_commands" \
"*::: :->proxy" \
&& ret=0

    case $state in
    (proxy)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:tsh-help-proxy-command-$line[1]:"
        case $line[1] in
            (cert)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(ssh)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
(logout)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(completion)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(version)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
        esac
    ;;
esac
}

(( $+functions[_tsh_commands] )) ||
_tsh_commands() {
    local commands; commands=(
'login:Log in to a cluster and get short-lived certificates' \
'clusters:List the root cluster and the leaf clusters you may see' \
'status:Show the current profile' \
'ssh:Run a command or a shell on a node, or a command on every node with some labels\: tsh ssh \[LOGIN@\]HOST|\[LOGIN@\]KEY=VALUE\[,...\] \[COMMAND...\]' \
'scp:Copy files to or from a node over SFTP\: tsh scp \[-r\] SRC... \[LOGIN@\]NODE\:PATH (or the reverse)' \
'ls:List the nodes you may log in to\: tsh ls \[label=value ...\]' \
'config:Print an OpenSSH client configuration that reaches nodes through tsh' \
'proxy:Helpers for other programs' \
'logout:Delete all profiles and keys' \
'completion:Print a shell completion script' \
'version:Print the version' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'tsh commands' commands "$@"
}
(( $+functions[_tsh__subcmd__clusters_commands] )) ||
_tsh__subcmd__clusters_commands() {
    local commands; commands=()
    _describe -t commands 'tsh clusters commands' commands "$@"
}
(( $+functions[_tsh__subcmd__completion_commands] )) ||
_tsh__subcmd__completion_commands() {
    local commands; commands=()
    _describe -t commands 'tsh completion commands' commands "$@"
}
(( $+functions[_tsh__subcmd__config_commands] )) ||
_tsh__subcmd__config_commands() {
    local commands; commands=()
    _describe -t commands 'tsh config commands' commands "$@"
}
(( $+functions[_tsh__subcmd__help_commands] )) ||
_tsh__subcmd__help_commands() {
    local commands; commands=(
'login:Log in to a cluster and get short-lived certificates' \
'clusters:List the root cluster and the leaf clusters you may see' \
'status:Show the current profile' \
'ssh:Run a command or a shell on a node, or a command on every node with some labels\: tsh ssh \[LOGIN@\]HOST|\[LOGIN@\]KEY=VALUE\[,...\] \[COMMAND...\]' \
'scp:Copy files to or from a node over SFTP\: tsh scp \[-r\] SRC... \[LOGIN@\]NODE\:PATH (or the reverse)' \
'ls:List the nodes you may log in to\: tsh ls \[label=value ...\]' \
'config:Print an OpenSSH client configuration that reaches nodes through tsh' \
'proxy:Helpers for other programs' \
'logout:Delete all profiles and keys' \
'completion:Print a shell completion script' \
'version:Print the version' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'tsh help commands' commands "$@"
}
(( $+functions[_tsh__subcmd__help__subcmd__clusters_commands] )) ||
_tsh__subcmd__help__subcmd__clusters_commands() {
    local commands; commands=()
    _describe -t commands 'tsh help clusters commands' commands "$@"
}
(( $+functions[_tsh__subcmd__help__subcmd__completion_commands] )) ||
_tsh__subcmd__help__subcmd__completion_commands() {
    local commands; commands=()
    _describe -t commands 'tsh help completion commands' commands "$@"
}
(( $+functions[_tsh__subcmd__help__subcmd__config_commands] )) ||
_tsh__subcmd__help__subcmd__config_commands() {
    local commands; commands=()
    _describe -t commands 'tsh help config commands' commands "$@"
}
(( $+functions[_tsh__subcmd__help__subcmd__help_commands] )) ||
_tsh__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'tsh help help commands' commands "$@"
}
(( $+functions[_tsh__subcmd__help__subcmd__login_commands] )) ||
_tsh__subcmd__help__subcmd__login_commands() {
    local commands; commands=()
    _describe -t commands 'tsh help login commands' commands "$@"
}
(( $+functions[_tsh__subcmd__help__subcmd__logout_commands] )) ||
_tsh__subcmd__help__subcmd__logout_commands() {
    local commands; commands=()
    _describe -t commands 'tsh help logout commands' commands "$@"
}
(( $+functions[_tsh__subcmd__help__subcmd__ls_commands] )) ||
_tsh__subcmd__help__subcmd__ls_commands() {
    local commands; commands=()
    _describe -t commands 'tsh help ls commands' commands "$@"
}
(( $+functions[_tsh__subcmd__help__subcmd__proxy_commands] )) ||
_tsh__subcmd__help__subcmd__proxy_commands() {
    local commands; commands=(
'cert:Renew the leaf-bound certificate \`tsh config\` points OpenSSH at (run by its Match exec)' \
'ssh:Pipe stdin/stdout to a node'\''s SSH port (OpenSSH'\''s ProxyCommand)\: \[LOGIN@\]HOST\:PORT' \
    )
    _describe -t commands 'tsh help proxy commands' commands "$@"
}
(( $+functions[_tsh__subcmd__help__subcmd__proxy__subcmd__cert_commands] )) ||
_tsh__subcmd__help__subcmd__proxy__subcmd__cert_commands() {
    local commands; commands=()
    _describe -t commands 'tsh help proxy cert commands' commands "$@"
}
(( $+functions[_tsh__subcmd__help__subcmd__proxy__subcmd__ssh_commands] )) ||
_tsh__subcmd__help__subcmd__proxy__subcmd__ssh_commands() {
    local commands; commands=()
    _describe -t commands 'tsh help proxy ssh commands' commands "$@"
}
(( $+functions[_tsh__subcmd__help__subcmd__scp_commands] )) ||
_tsh__subcmd__help__subcmd__scp_commands() {
    local commands; commands=()
    _describe -t commands 'tsh help scp commands' commands "$@"
}
(( $+functions[_tsh__subcmd__help__subcmd__ssh_commands] )) ||
_tsh__subcmd__help__subcmd__ssh_commands() {
    local commands; commands=()
    _describe -t commands 'tsh help ssh commands' commands "$@"
}
(( $+functions[_tsh__subcmd__help__subcmd__status_commands] )) ||
_tsh__subcmd__help__subcmd__status_commands() {
    local commands; commands=()
    _describe -t commands 'tsh help status commands' commands "$@"
}
(( $+functions[_tsh__subcmd__help__subcmd__version_commands] )) ||
_tsh__subcmd__help__subcmd__version_commands() {
    local commands; commands=()
    _describe -t commands 'tsh help version commands' commands "$@"
}
(( $+functions[_tsh__subcmd__login_commands] )) ||
_tsh__subcmd__login_commands() {
    local commands; commands=()
    _describe -t commands 'tsh login commands' commands "$@"
}
(( $+functions[_tsh__subcmd__logout_commands] )) ||
_tsh__subcmd__logout_commands() {
    local commands; commands=()
    _describe -t commands 'tsh logout commands' commands "$@"
}
(( $+functions[_tsh__subcmd__ls_commands] )) ||
_tsh__subcmd__ls_commands() {
    local commands; commands=()
    _describe -t commands 'tsh ls commands' commands "$@"
}
(( $+functions[_tsh__subcmd__proxy_commands] )) ||
_tsh__subcmd__proxy_commands() {
    local commands; commands=(
'cert:Renew the leaf-bound certificate \`tsh config\` points OpenSSH at (run by its Match exec)' \
'ssh:Pipe stdin/stdout to a node'\''s SSH port (OpenSSH'\''s ProxyCommand)\: \[LOGIN@\]HOST\:PORT' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'tsh proxy commands' commands "$@"
}
(( $+functions[_tsh__subcmd__proxy__subcmd__cert_commands] )) ||
_tsh__subcmd__proxy__subcmd__cert_commands() {
    local commands; commands=()
    _describe -t commands 'tsh proxy cert commands' commands "$@"
}
(( $+functions[_tsh__subcmd__proxy__subcmd__help_commands] )) ||
_tsh__subcmd__proxy__subcmd__help_commands() {
    local commands; commands=(
'cert:Renew the leaf-bound certificate \`tsh config\` points OpenSSH at (run by its Match exec)' \
'ssh:Pipe stdin/stdout to a node'\''s SSH port (OpenSSH'\''s ProxyCommand)\: \[LOGIN@\]HOST\:PORT' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'tsh proxy help commands' commands "$@"
}
(( $+functions[_tsh__subcmd__proxy__subcmd__help__subcmd__cert_commands] )) ||
_tsh__subcmd__proxy__subcmd__help__subcmd__cert_commands() {
    local commands; commands=()
    _describe -t commands 'tsh proxy help cert commands' commands "$@"
}
(( $+functions[_tsh__subcmd__proxy__subcmd__help__subcmd__help_commands] )) ||
_tsh__subcmd__proxy__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'tsh proxy help help commands' commands "$@"
}
(( $+functions[_tsh__subcmd__proxy__subcmd__help__subcmd__ssh_commands] )) ||
_tsh__subcmd__proxy__subcmd__help__subcmd__ssh_commands() {
    local commands; commands=()
    _describe -t commands 'tsh proxy help ssh commands' commands "$@"
}
(( $+functions[_tsh__subcmd__proxy__subcmd__ssh_commands] )) ||
_tsh__subcmd__proxy__subcmd__ssh_commands() {
    local commands; commands=()
    _describe -t commands 'tsh proxy ssh commands' commands "$@"
}
(( $+functions[_tsh__subcmd__scp_commands] )) ||
_tsh__subcmd__scp_commands() {
    local commands; commands=()
    _describe -t commands 'tsh scp commands' commands "$@"
}
(( $+functions[_tsh__subcmd__ssh_commands] )) ||
_tsh__subcmd__ssh_commands() {
    local commands; commands=()
    _describe -t commands 'tsh ssh commands' commands "$@"
}
(( $+functions[_tsh__subcmd__status_commands] )) ||
_tsh__subcmd__status_commands() {
    local commands; commands=()
    _describe -t commands 'tsh status commands' commands "$@"
}
(( $+functions[_tsh__subcmd__version_commands] )) ||
_tsh__subcmd__version_commands() {
    local commands; commands=()
    _describe -t commands 'tsh version commands' commands "$@"
}

if [ "$funcstack[1]" = "_tsh" ]; then
    _tsh "$@"
else
    compdef _tsh tsh
fi

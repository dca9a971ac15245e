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
'--proxy=[The proxy'\''s web address, host\[\:port\] (port 3080 when left out)]:PROXY:_default' \
'--user=[The user name (default\: the local user)]:USER:_default' \
'-i+[Use an identity file (from \`tctl auth sign\`) instead of the logged-in profile]:IDENTITY:_files' \
'--identity=[Use an identity file (from \`tctl auth sign\`) instead of the logged-in profile]:IDENTITY:_files' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'-h[Print help]' \
'--help[Print help]' \
&& ret=0
;;
(status)
_arguments "${_arguments_options[@]}" : \
'--proxy=[The proxy'\''s web address, host\[\:port\] (port 3080 when left out)]:PROXY:_default' \
'--user=[The user name (default\: the local user)]:USER:_default' \
'-i+[Use an identity file (from \`tctl auth sign\`) instead of the logged-in profile]:IDENTITY:_files' \
'--identity=[Use an identity file (from \`tctl auth sign\`) instead of the logged-in profile]:IDENTITY:_files' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'-h[Print help]' \
'--help[Print help]' \
&& ret=0
;;
(logout)
_arguments "${_arguments_options[@]}" : \
'--proxy=[The proxy'\''s web address, host\[\:port\] (port 3080 when left out)]:PROXY:_default' \
'--user=[The user name (default\: the local user)]:USER:_default' \
'-i+[Use an identity file (from \`tctl auth sign\`) instead of the logged-in profile]:IDENTITY:_files' \
'--identity=[Use an identity file (from \`tctl auth sign\`) instead of the logged-in profile]:IDENTITY:_files' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
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
(status)
_arguments "${_arguments_options[@]}" : \
&& ret=0
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
'status:Show the current profile' \
'logout:Delete all profiles and keys' \
'completion:Print a shell completion script' \
'version:Print the version' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'tsh commands' commands "$@"
}
(( $+functions[_tsh__subcmd__completion_commands] )) ||
_tsh__subcmd__completion_commands() {
    local commands; commands=()
    _describe -t commands 'tsh completion commands' commands "$@"
}
(( $+functions[_tsh__subcmd__help_commands] )) ||
_tsh__subcmd__help_commands() {
    local commands; commands=(
'login:Log in to a cluster and get short-lived certificates' \
'status:Show the current profile' \
'logout:Delete all profiles and keys' \
'completion:Print a shell completion script' \
'version:Print the version' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'tsh help commands' commands "$@"
}
(( $+functions[_tsh__subcmd__help__subcmd__completion_commands] )) ||
_tsh__subcmd__help__subcmd__completion_commands() {
    local commands; commands=()
    _describe -t commands 'tsh help completion commands' commands "$@"
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

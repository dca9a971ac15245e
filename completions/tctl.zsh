#compdef tctl

autoload -U is-at-least

_tctl() {
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
'-c+[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--config=[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--data-dir=[The daemon'\''s data directory\: use the admin identity in it]:DATA_DIR:_files -/' \
'-i+[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--identity=[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--proxy=[The proxy'\''s web address (host\:port), overriding the identity'\''s]:PROXY:_default' \
'--cluster=[Administer this leaf cluster through the root'\''s proxy, as your root user with the leaf'\''s role map (needs a tsh login at the root)]:CLUSTER:_default' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
":: :_tctl_commands" \
"*::: :->tctl" \
&& ret=0
    case $state in
    (tctl)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:tctl-command-$line[1]:"
        case $line[1] in
            (users)
_arguments "${_arguments_options[@]}" : \
'-c+[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--config=[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--data-dir=[The daemon'\''s data directory\: use the admin identity in it]:DATA_DIR:_files -/' \
'-i+[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--identity=[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--proxy=[The proxy'\''s web address (host\:port), overriding the identity'\''s]:PROXY:_default' \
'--cluster=[Administer this leaf cluster through the root'\''s proxy, as your root user with the leaf'\''s role map (needs a tsh login at the root)]:CLUSTER:_default' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'-h[Print help]' \
'--help[Print help]' \
":: :_tctl__subcmd__users_commands" \
"*::: :->users" \
&& ret=0

    case $state in
    (users)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:tctl-users-command-$line[1]:"
        case $line[1] in
            (add)
_arguments "${_arguments_options[@]}" : \
'*--roles=[Roles, comma-separated]:ROLES:_default' \
'*--logins=[Unix logins, comma-separated]:LOGINS:_default' \
'-c+[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--config=[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--data-dir=[The daemon'\''s data directory\: use the admin identity in it]:DATA_DIR:_files -/' \
'-i+[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--identity=[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--proxy=[The proxy'\''s web address (host\:port), overriding the identity'\''s]:PROXY:_default' \
'--cluster=[Administer this leaf cluster through the root'\''s proxy, as your root user with the leaf'\''s role map (needs a tsh login at the root)]:CLUSTER:_default' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'-h[Print help]' \
'--help[Print help]' \
':name -- The user'\''s name:_default' \
&& ret=0
;;
(ls)
_arguments "${_arguments_options[@]}" : \
'--format=[Output format]:FORMAT:((text\:"Lines for people"
json\:"JSON"))' \
'-c+[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--config=[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--data-dir=[The daemon'\''s data directory\: use the admin identity in it]:DATA_DIR:_files -/' \
'-i+[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--identity=[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--proxy=[The proxy'\''s web address (host\:port), overriding the identity'\''s]:PROXY:_default' \
'--cluster=[Administer this leaf cluster through the root'\''s proxy, as your root user with the leaf'\''s role map (needs a tsh login at the root)]:CLUSTER:_default' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
&& ret=0
;;
(rm)
_arguments "${_arguments_options[@]}" : \
'-c+[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--config=[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--data-dir=[The daemon'\''s data directory\: use the admin identity in it]:DATA_DIR:_files -/' \
'-i+[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--identity=[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--proxy=[The proxy'\''s web address (host\:port), overriding the identity'\''s]:PROXY:_default' \
'--cluster=[Administer this leaf cluster through the root'\''s proxy, as your root user with the leaf'\''s role map (needs a tsh login at the root)]:CLUSTER:_default' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'-h[Print help]' \
'--help[Print help]' \
':name -- The user'\''s name:_default' \
&& ret=0
;;
(expand)
_arguments "${_arguments_options[@]}" : \
'--format=[Output format]:FORMAT:((text\:"Lines for people"
json\:"JSON"))' \
'-c+[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--config=[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--data-dir=[The daemon'\''s data directory\: use the admin identity in it]:DATA_DIR:_files -/' \
'-i+[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--identity=[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--proxy=[The proxy'\''s web address (host\:port), overriding the identity'\''s]:PROXY:_default' \
'--cluster=[Administer this leaf cluster through the root'\''s proxy, as your root user with the leaf'\''s role map (needs a tsh login at the root)]:CLUSTER:_default' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
':name -- The user'\''s name:_default' \
&& ret=0
;;
(reset)
_arguments "${_arguments_options[@]}" : \
'-c+[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--config=[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--data-dir=[The daemon'\''s data directory\: use the admin identity in it]:DATA_DIR:_files -/' \
'-i+[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--identity=[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--proxy=[The proxy'\''s web address (host\:port), overriding the identity'\''s]:PROXY:_default' \
'--cluster=[Administer this leaf cluster through the root'\''s proxy, as your root user with the leaf'\''s role map (needs a tsh login at the root)]:CLUSTER:_default' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'-h[Print help]' \
'--help[Print help]' \
':name -- The user'\''s name:_default' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_tctl__subcmd__users__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:tctl-users-help-command-$line[1]:"
        case $line[1] in
            (add)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(ls)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(rm)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(expand)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(reset)
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
(tokens)
_arguments "${_arguments_options[@]}" : \
'-c+[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--config=[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--data-dir=[The daemon'\''s data directory\: use the admin identity in it]:DATA_DIR:_files -/' \
'-i+[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--identity=[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--proxy=[The proxy'\''s web address (host\:port), overriding the identity'\''s]:PROXY:_default' \
'--cluster=[Administer this leaf cluster through the root'\''s proxy, as your root user with the leaf'\''s role map (needs a tsh login at the root)]:CLUSTER:_default' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'-h[Print help]' \
'--help[Print help]' \
":: :_tctl__subcmd__tokens_commands" \
"*::: :->tokens" \
&& ret=0

    case $state in
    (tokens)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:tctl-tokens-command-$line[1]:"
        case $line[1] in
            (add)
_arguments "${_arguments_options[@]}" : \
'--type=[What the token lets join]:TOKEN_TYPE:((trusted_cluster\:"A leaf cluster establishing trust"
node\:"A node joining"))' \
'--ttl=[How long it is valid (e.g. 15m, 1h)]:TTL:_default' \
'--labels=[Labels for what joins, k=v comma-separated]:LABELS:_default' \
'-c+[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--config=[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--data-dir=[The daemon'\''s data directory\: use the admin identity in it]:DATA_DIR:_files -/' \
'-i+[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--identity=[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--proxy=[The proxy'\''s web address (host\:port), overriding the identity'\''s]:PROXY:_default' \
'--cluster=[Administer this leaf cluster through the root'\''s proxy, as your root user with the leaf'\''s role map (needs a tsh login at the root)]:CLUSTER:_default' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
&& ret=0
;;
(ls)
_arguments "${_arguments_options[@]}" : \
'--format=[Output format]:FORMAT:((text\:"Lines for people"
json\:"JSON"))' \
'-c+[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--config=[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--data-dir=[The daemon'\''s data directory\: use the admin identity in it]:DATA_DIR:_files -/' \
'-i+[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--identity=[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--proxy=[The proxy'\''s web address (host\:port), overriding the identity'\''s]:PROXY:_default' \
'--cluster=[Administer this leaf cluster through the root'\''s proxy, as your root user with the leaf'\''s role map (needs a tsh login at the root)]:CLUSTER:_default' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
&& ret=0
;;
(rm)
_arguments "${_arguments_options[@]}" : \
'-c+[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--config=[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--data-dir=[The daemon'\''s data directory\: use the admin identity in it]:DATA_DIR:_files -/' \
'-i+[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--identity=[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--proxy=[The proxy'\''s web address (host\:port), overriding the identity'\''s]:PROXY:_default' \
'--cluster=[Administer this leaf cluster through the root'\''s proxy, as your root user with the leaf'\''s role map (needs a tsh login at the root)]:CLUSTER:_default' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'-h[Print help]' \
'--help[Print help]' \
':token -- The token:_default' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_tctl__subcmd__tokens__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:tctl-tokens-help-command-$line[1]:"
        case $line[1] in
            (add)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(ls)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(rm)
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
(create)
_arguments "${_arguments_options[@]}" : \
'-c+[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--config=[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--data-dir=[The daemon'\''s data directory\: use the admin identity in it]:DATA_DIR:_files -/' \
'-i+[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--identity=[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--proxy=[The proxy'\''s web address (host\:port), overriding the identity'\''s]:PROXY:_default' \
'--cluster=[Administer this leaf cluster through the root'\''s proxy, as your root user with the leaf'\''s role map (needs a tsh login at the root)]:CLUSTER:_default' \
'-f[Overwrite resources that exist]' \
'--force[Overwrite resources that exist]' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'-h[Print help]' \
'--help[Print help]' \
':file -- The file:_files' \
&& ret=0
;;
(get)
_arguments "${_arguments_options[@]}" : \
'--format=[Output format]:FORMAT:((yaml\:"YAML documents, re-creatable with \`tctl create -f\`"
json\:"JSON"
text\:"A table"))' \
'-c+[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--config=[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--data-dir=[The daemon'\''s data directory\: use the admin identity in it]:DATA_DIR:_files -/' \
'-i+[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--identity=[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--proxy=[The proxy'\''s web address (host\:port), overriding the identity'\''s]:PROXY:_default' \
'--cluster=[Administer this leaf cluster through the root'\''s proxy, as your root user with the leaf'\''s role map (needs a tsh login at the root)]:CLUSTER:_default' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
':resource -- What to get, e.g. user/alice, rc, tc/root.example.com:(role user token trusted_cluster tc remote_cluster rc cert_authority cas node)' \
&& ret=0
;;
(rm)
_arguments "${_arguments_options[@]}" : \
'-c+[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--config=[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--data-dir=[The daemon'\''s data directory\: use the admin identity in it]:DATA_DIR:_files -/' \
'-i+[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--identity=[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--proxy=[The proxy'\''s web address (host\:port), overriding the identity'\''s]:PROXY:_default' \
'--cluster=[Administer this leaf cluster through the root'\''s proxy, as your root user with the leaf'\''s role map (needs a tsh login at the root)]:CLUSTER:_default' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'-h[Print help]' \
'--help[Print help]' \
':resource -- What to delete, e.g. rc/leaf.example.com:(role user token trusted_cluster tc remote_cluster rc cert_authority cas node)' \
&& ret=0
;;
(update)
_arguments "${_arguments_options[@]}" : \
'--set-labels=[Labels to set (replacing the current ones), k=v comma-separated]:SET_LABELS:_default' \
'-c+[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--config=[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--data-dir=[The daemon'\''s data directory\: use the admin identity in it]:DATA_DIR:_files -/' \
'-i+[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--identity=[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--proxy=[The proxy'\''s web address (host\:port), overriding the identity'\''s]:PROXY:_default' \
'--cluster=[Administer this leaf cluster through the root'\''s proxy, as your root user with the leaf'\''s role map (needs a tsh login at the root)]:CLUSTER:_default' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'-h[Print help]' \
'--help[Print help]' \
':resource -- The remote cluster, rc/NAME:(role user token trusted_cluster tc remote_cluster rc cert_authority cas node)' \
&& ret=0
;;
(status)
_arguments "${_arguments_options[@]}" : \
'--format=[Output format]:FORMAT:((text\:"Lines for people"
json\:"JSON"))' \
'-c+[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--config=[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--data-dir=[The daemon'\''s data directory\: use the admin identity in it]:DATA_DIR:_files -/' \
'-i+[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--identity=[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--proxy=[The proxy'\''s web address (host\:port), overriding the identity'\''s]:PROXY:_default' \
'--cluster=[Administer this leaf cluster through the root'\''s proxy, as your root user with the leaf'\''s role map (needs a tsh login at the root)]:CLUSTER:_default' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
&& ret=0
;;
(trusted-cluster)
_arguments "${_arguments_options[@]}" : \
'-c+[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--config=[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--data-dir=[The daemon'\''s data directory\: use the admin identity in it]:DATA_DIR:_files -/' \
'-i+[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--identity=[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--proxy=[The proxy'\''s web address (host\:port), overriding the identity'\''s]:PROXY:_default' \
'--cluster=[Administer this leaf cluster through the root'\''s proxy, as your root user with the leaf'\''s role map (needs a tsh login at the root)]:CLUSTER:_default' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'-h[Print help]' \
'--help[Print help]' \
":: :_tctl__subcmd__trusted-cluster_commands" \
"*::: :->trusted-cluster" \
&& ret=0

    case $state in
    (trusted-cluster)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:tctl-trusted-cluster-command-$line[1]:"
        case $line[1] in
            (map-roles)
_arguments "${_arguments_options[@]}" : \
'(--name)--file=[A trusted_cluster YAML file to test (no cluster needed)]:FILE:_files' \
'--name=[The stored trusted cluster to test instead]:NAME:_default' \
'*--roles=[The remote roles, comma-separated]:ROLES:_default' \
'-c+[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--config=[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--data-dir=[The daemon'\''s data directory\: use the admin identity in it]:DATA_DIR:_files -/' \
'-i+[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--identity=[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--proxy=[The proxy'\''s web address (host\:port), overriding the identity'\''s]:PROXY:_default' \
'--cluster=[Administer this leaf cluster through the root'\''s proxy, as your root user with the leaf'\''s role map (needs a tsh login at the root)]:CLUSTER:_default' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'-h[Print help]' \
'--help[Print help]' \
&& ret=0
;;
(doctor)
_arguments "${_arguments_options[@]}" : \
'(--leaf)-f+[A trusted_cluster YAML file to check before (or instead of) creating it]:FILE:_files' \
'(--leaf)--file=[A trusted_cluster YAML file to check before (or instead of) creating it]:FILE:_files' \
'--leaf=[On a root\: check this leaf (its remote_cluster, CAs, status and tunnels)]:LEAF:_default' \
'*--roles=[Remote roles to run through the role map, comma-separated]:ROLES:_default' \
'--format=[Output format]:FORMAT:((text\:"Lines for people"
json\:"JSON"))' \
'-c+[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--config=[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--data-dir=[The daemon'\''s data directory\: use the admin identity in it]:DATA_DIR:_files -/' \
'-i+[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--identity=[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--proxy=[The proxy'\''s web address (host\:port), overriding the identity'\''s]:PROXY:_default' \
'--cluster=[Administer this leaf cluster through the root'\''s proxy, as your root user with the leaf'\''s role map (needs a tsh login at the root)]:CLUSTER:_default' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
'::root -- The root (a stored trusted_cluster; optional when there is one):_default' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_tctl__subcmd__trusted-cluster__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:tctl-trusted-cluster-help-command-$line[1]:"
        case $line[1] in
            (map-roles)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(doctor)
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
(auth)
_arguments "${_arguments_options[@]}" : \
'-c+[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--config=[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--data-dir=[The daemon'\''s data directory\: use the admin identity in it]:DATA_DIR:_files -/' \
'-i+[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--identity=[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--proxy=[The proxy'\''s web address (host\:port), overriding the identity'\''s]:PROXY:_default' \
'--cluster=[Administer this leaf cluster through the root'\''s proxy, as your root user with the leaf'\''s role map (needs a tsh login at the root)]:CLUSTER:_default' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'-h[Print help]' \
'--help[Print help]' \
":: :_tctl__subcmd__auth_commands" \
"*::: :->auth" \
&& ret=0

    case $state in
    (auth)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:tctl-auth-command-$line[1]:"
        case $line[1] in
            (sign)
_arguments "${_arguments_options[@]}" : \
'--user=[The user]:USER:_default' \
'-o+[Where to write it]:OUT:_files' \
'--out=[Where to write it]:OUT:_files' \
'--ttl=[Lifetime (e.g. 12h)]:TTL:_default' \
'-c+[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--config=[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--data-dir=[The daemon'\''s data directory\: use the admin identity in it]:DATA_DIR:_files -/' \
'-i+[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--identity=[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--proxy=[The proxy'\''s web address (host\:port), overriding the identity'\''s]:PROXY:_default' \
'--cluster=[Administer this leaf cluster through the root'\''s proxy, as your root user with the leaf'\''s role map (needs a tsh login at the root)]:CLUSTER:_default' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'-h[Print help]' \
'--help[Print help]' \
&& ret=0
;;
(export)
_arguments "${_arguments_options[@]}" : \
'--type=[Which CA]:CA_TYPE:((user\:"The SSH user CA (for sshd'\''s TrustedUserCAKeys)"
host\:"The SSH host CA (for known_hosts)"
tls\:"The cluster'\''s TLS CA certificates, PEM (to trust the proxy'\''s HTTPS in a browser or an OS trust store)"))' \
'-c+[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--config=[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--data-dir=[The daemon'\''s data directory\: use the admin identity in it]:DATA_DIR:_files -/' \
'-i+[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--identity=[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--proxy=[The proxy'\''s web address (host\:port), overriding the identity'\''s]:PROXY:_default' \
'--cluster=[Administer this leaf cluster through the root'\''s proxy, as your root user with the leaf'\''s role map (needs a tsh login at the root)]:CLUSTER:_default' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
&& ret=0
;;
(rotate)
_arguments "${_arguments_options[@]}" : \
'--type=[Which CA (all three when absent)]:CA_TYPE:((user\:"The SSH user CA"
host\:"The SSH host CA"
tls\:"The TLS CA"))' \
'--phase=[The phase to move to (with --manual)]:PHASE:(init update_clients update_servers standby rollback)' \
'--grace-period=[How long the old key stays trusted (automatic mode; default 30h)]:GRACE_PERIOD:_default' \
'-c+[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--config=[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--data-dir=[The daemon'\''s data directory\: use the admin identity in it]:DATA_DIR:_files -/' \
'-i+[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--identity=[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--proxy=[The proxy'\''s web address (host\:port), overriding the identity'\''s]:PROXY:_default' \
'--cluster=[Administer this leaf cluster through the root'\''s proxy, as your root user with the leaf'\''s role map (needs a tsh login at the root)]:CLUSTER:_default' \
'--manual[Move one phase at a time (with --phase)]' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_tctl__subcmd__auth__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:tctl-auth-help-command-$line[1]:"
        case $line[1] in
            (sign)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(export)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(rotate)
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
(audit)
_arguments "${_arguments_options[@]}" : \
'-c+[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--config=[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--data-dir=[The daemon'\''s data directory\: use the admin identity in it]:DATA_DIR:_files -/' \
'-i+[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--identity=[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--proxy=[The proxy'\''s web address (host\:port), overriding the identity'\''s]:PROXY:_default' \
'--cluster=[Administer this leaf cluster through the root'\''s proxy, as your root user with the leaf'\''s role map (needs a tsh login at the root)]:CLUSTER:_default' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'-h[Print help]' \
'--help[Print help]' \
":: :_tctl__subcmd__audit_commands" \
"*::: :->audit" \
&& ret=0

    case $state in
    (audit)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:tctl-audit-command-$line[1]:"
        case $line[1] in
            (ls)
_arguments "${_arguments_options[@]}" : \
'--since=[Only events newer than this\: a duration (1h) or an RFC 3339 time]:SINCE:_default' \
'--format=[Output format]:FORMAT:((yaml\:"YAML documents, re-creatable with \`tctl create -f\`"
json\:"JSON"
text\:"A table"))' \
'--limit=[Show only the newest N events (the server'\''s default is 1000; at most 10000)]:N:_default' \
'-c+[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--config=[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--data-dir=[The daemon'\''s data directory\: use the admin identity in it]:DATA_DIR:_files -/' \
'-i+[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--identity=[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--proxy=[The proxy'\''s web address (host\:port), overriding the identity'\''s]:PROXY:_default' \
'--cluster=[Administer this leaf cluster through the root'\''s proxy, as your root user with the leaf'\''s role map (needs a tsh login at the root)]:CLUSTER:_default' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_tctl__subcmd__audit__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:tctl-audit-help-command-$line[1]:"
        case $line[1] in
            (ls)
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
(completion)
_arguments "${_arguments_options[@]}" : \
'-c+[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--config=[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--data-dir=[The daemon'\''s data directory\: use the admin identity in it]:DATA_DIR:_files -/' \
'-i+[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--identity=[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--proxy=[The proxy'\''s web address (host\:port), overriding the identity'\''s]:PROXY:_default' \
'--cluster=[Administer this leaf cluster through the root'\''s proxy, as your root user with the leaf'\''s role map (needs a tsh login at the root)]:CLUSTER:_default' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'-h[Print help]' \
'--help[Print help]' \
':shell -- The shell:(bash elvish fish powershell zsh)' \
&& ret=0
;;
(version)
_arguments "${_arguments_options[@]}" : \
'-c+[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--config=[The daemon'\''s config file\: use the admin identity in its data_dir]:CONFIG:_files' \
'--data-dir=[The daemon'\''s data directory\: use the admin identity in it]:DATA_DIR:_files -/' \
'-i+[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--identity=[An identity file from \`tctl auth sign\`]:IDENTITY:_files' \
'--proxy=[The proxy'\''s web address (host\:port), overriding the identity'\''s]:PROXY:_default' \
'--cluster=[Administer this leaf cluster through the root'\''s proxy, as your root user with the leaf'\''s role map (needs a tsh login at the root)]:CLUSTER:_default' \
'--insecure[Do not verify the proxy'\''s HTTPS certificate (testing only)]' \
'-h[Print help]' \
'--help[Print help]' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_tctl__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:tctl-help-command-$line[1]:"
        case $line[1] in
            (users)
_arguments "${_arguments_options[@]}" : \
":: :_tctl__subcmd__help__subcmd__users_commands" \
"*::: :->users" \
&& ret=0

    case $state in
    (users)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:tctl-help-users-command-$line[1]:"
        case $line[1] in
            (add)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(ls)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(rm)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(expand)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(reset)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
(tokens)
_arguments "${_arguments_options[@]}" : \
":: :_tctl__subcmd__help__subcmd__tokens_commands" \
"*::: :->tokens" \
&& ret=0

    case $state in
    (tokens)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:tctl-help-tokens-command-$line[1]:"
        case $line[1] in
            (add)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(ls)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(rm)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
(create)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(get)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(rm)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(update)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(status)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(trusted-cluster)
_arguments "${_arguments_options[@]}" : \
":: :_tctl__subcmd__help__subcmd__trusted-cluster_commands" \
"*::: :->trusted-cluster" \
&& ret=0

    case $state in
    (trusted-cluster)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:tctl-help-trusted-cluster-command-$line[1]:"
        case $line[1] in
            (map-roles)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(doctor)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
(auth)
_arguments "${_arguments_options[@]}" : \
":: :_tctl__subcmd__help__subcmd__auth_commands" \
"*::: :->auth" \
&& ret=0

    case $state in
    (auth)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:tctl-help-auth-command-$line[1]:"
        case $line[1] in
            (sign)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(export)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(rotate)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
(audit)
_arguments "${_arguments_options[@]}" : \
":: :_tctl__subcmd__help__subcmd__audit_commands" \
"*::: :->audit" \
&& ret=0

    case $state in
    (audit)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:tctl-help-audit-command-$line[1]:"
        case $line[1] in
            (ls)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
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

(( $+functions[_tctl_commands] )) ||
_tctl_commands() {
    local commands; commands=(
'users:Manage users' \
'tokens:Manage join tokens' \
'create:Create resources from a YAML or JSON file ("-" reads stdin)' \
'get:Print resources\: KIND or KIND/NAME' \
'rm:Delete a resource\: KIND/NAME' \
'update:Update a remote cluster'\''s labels\: rc/NAME --set-labels=k=v,...' \
'status:Show the cluster and its certificate authorities' \
'trusted-cluster:Trusted cluster tools' \
'auth:Certificate authority operations' \
'audit:Read the audit log' \
'completion:Print a shell completion script' \
'version:Print the version' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'tctl commands' commands "$@"
}
(( $+functions[_tctl__subcmd__audit_commands] )) ||
_tctl__subcmd__audit_commands() {
    local commands; commands=(
'ls:List audit events' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'tctl audit commands' commands "$@"
}
(( $+functions[_tctl__subcmd__audit__subcmd__help_commands] )) ||
_tctl__subcmd__audit__subcmd__help_commands() {
    local commands; commands=(
'ls:List audit events' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'tctl audit help commands' commands "$@"
}
(( $+functions[_tctl__subcmd__audit__subcmd__help__subcmd__help_commands] )) ||
_tctl__subcmd__audit__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'tctl audit help help commands' commands "$@"
}
(( $+functions[_tctl__subcmd__audit__subcmd__help__subcmd__ls_commands] )) ||
_tctl__subcmd__audit__subcmd__help__subcmd__ls_commands() {
    local commands; commands=()
    _describe -t commands 'tctl audit help ls commands' commands "$@"
}
(( $+functions[_tctl__subcmd__audit__subcmd__ls_commands] )) ||
_tctl__subcmd__audit__subcmd__ls_commands() {
    local commands; commands=()
    _describe -t commands 'tctl audit ls commands' commands "$@"
}
(( $+functions[_tctl__subcmd__auth_commands] )) ||
_tctl__subcmd__auth_commands() {
    local commands; commands=(
'sign:Write an identity file for a user (usable with tsh -i and tctl -i)' \
'export:Print CA public keys\: OpenSSH lines (user, host), or PEM certificates (tls)' \
'rotate:Rotate a certificate authority\: by itself over a grace period, or (--manual) one phase at a time\: init, update_clients, update_servers, standby; rollback before standby' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'tctl auth commands' commands "$@"
}
(( $+functions[_tctl__subcmd__auth__subcmd__export_commands] )) ||
_tctl__subcmd__auth__subcmd__export_commands() {
    local commands; commands=()
    _describe -t commands 'tctl auth export commands' commands "$@"
}
(( $+functions[_tctl__subcmd__auth__subcmd__help_commands] )) ||
_tctl__subcmd__auth__subcmd__help_commands() {
    local commands; commands=(
'sign:Write an identity file for a user (usable with tsh -i and tctl -i)' \
'export:Print CA public keys\: OpenSSH lines (user, host), or PEM certificates (tls)' \
'rotate:Rotate a certificate authority\: by itself over a grace period, or (--manual) one phase at a time\: init, update_clients, update_servers, standby; rollback before standby' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'tctl auth help commands' commands "$@"
}
(( $+functions[_tctl__subcmd__auth__subcmd__help__subcmd__export_commands] )) ||
_tctl__subcmd__auth__subcmd__help__subcmd__export_commands() {
    local commands; commands=()
    _describe -t commands 'tctl auth help export commands' commands "$@"
}
(( $+functions[_tctl__subcmd__auth__subcmd__help__subcmd__help_commands] )) ||
_tctl__subcmd__auth__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'tctl auth help help commands' commands "$@"
}
(( $+functions[_tctl__subcmd__auth__subcmd__help__subcmd__rotate_commands] )) ||
_tctl__subcmd__auth__subcmd__help__subcmd__rotate_commands() {
    local commands; commands=()
    _describe -t commands 'tctl auth help rotate commands' commands "$@"
}
(( $+functions[_tctl__subcmd__auth__subcmd__help__subcmd__sign_commands] )) ||
_tctl__subcmd__auth__subcmd__help__subcmd__sign_commands() {
    local commands; commands=()
    _describe -t commands 'tctl auth help sign commands' commands "$@"
}
(( $+functions[_tctl__subcmd__auth__subcmd__rotate_commands] )) ||
_tctl__subcmd__auth__subcmd__rotate_commands() {
    local commands; commands=()
    _describe -t commands 'tctl auth rotate commands' commands "$@"
}
(( $+functions[_tctl__subcmd__auth__subcmd__sign_commands] )) ||
_tctl__subcmd__auth__subcmd__sign_commands() {
    local commands; commands=()
    _describe -t commands 'tctl auth sign commands' commands "$@"
}
(( $+functions[_tctl__subcmd__completion_commands] )) ||
_tctl__subcmd__completion_commands() {
    local commands; commands=()
    _describe -t commands 'tctl completion commands' commands "$@"
}
(( $+functions[_tctl__subcmd__create_commands] )) ||
_tctl__subcmd__create_commands() {
    local commands; commands=()
    _describe -t commands 'tctl create commands' commands "$@"
}
(( $+functions[_tctl__subcmd__get_commands] )) ||
_tctl__subcmd__get_commands() {
    local commands; commands=()
    _describe -t commands 'tctl get commands' commands "$@"
}
(( $+functions[_tctl__subcmd__help_commands] )) ||
_tctl__subcmd__help_commands() {
    local commands; commands=(
'users:Manage users' \
'tokens:Manage join tokens' \
'create:Create resources from a YAML or JSON file ("-" reads stdin)' \
'get:Print resources\: KIND or KIND/NAME' \
'rm:Delete a resource\: KIND/NAME' \
'update:Update a remote cluster'\''s labels\: rc/NAME --set-labels=k=v,...' \
'status:Show the cluster and its certificate authorities' \
'trusted-cluster:Trusted cluster tools' \
'auth:Certificate authority operations' \
'audit:Read the audit log' \
'completion:Print a shell completion script' \
'version:Print the version' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'tctl help commands' commands "$@"
}
(( $+functions[_tctl__subcmd__help__subcmd__audit_commands] )) ||
_tctl__subcmd__help__subcmd__audit_commands() {
    local commands; commands=(
'ls:List audit events' \
    )
    _describe -t commands 'tctl help audit commands' commands "$@"
}
(( $+functions[_tctl__subcmd__help__subcmd__audit__subcmd__ls_commands] )) ||
_tctl__subcmd__help__subcmd__audit__subcmd__ls_commands() {
    local commands; commands=()
    _describe -t commands 'tctl help audit ls commands' commands "$@"
}
(( $+functions[_tctl__subcmd__help__subcmd__auth_commands] )) ||
_tctl__subcmd__help__subcmd__auth_commands() {
    local commands; commands=(
'sign:Write an identity file for a user (usable with tsh -i and tctl -i)' \
'export:Print CA public keys\: OpenSSH lines (user, host), or PEM certificates (tls)' \
'rotate:Rotate a certificate authority\: by itself over a grace period, or (--manual) one phase at a time\: init, update_clients, update_servers, standby; rollback before standby' \
    )
    _describe -t commands 'tctl help auth commands' commands "$@"
}
(( $+functions[_tctl__subcmd__help__subcmd__auth__subcmd__export_commands] )) ||
_tctl__subcmd__help__subcmd__auth__subcmd__export_commands() {
    local commands; commands=()
    _describe -t commands 'tctl help auth export commands' commands "$@"
}
(( $+functions[_tctl__subcmd__help__subcmd__auth__subcmd__rotate_commands] )) ||
_tctl__subcmd__help__subcmd__auth__subcmd__rotate_commands() {
    local commands; commands=()
    _describe -t commands 'tctl help auth rotate commands' commands "$@"
}
(( $+functions[_tctl__subcmd__help__subcmd__auth__subcmd__sign_commands] )) ||
_tctl__subcmd__help__subcmd__auth__subcmd__sign_commands() {
    local commands; commands=()
    _describe -t commands 'tctl help auth sign commands' commands "$@"
}
(( $+functions[_tctl__subcmd__help__subcmd__completion_commands] )) ||
_tctl__subcmd__help__subcmd__completion_commands() {
    local commands; commands=()
    _describe -t commands 'tctl help completion commands' commands "$@"
}
(( $+functions[_tctl__subcmd__help__subcmd__create_commands] )) ||
_tctl__subcmd__help__subcmd__create_commands() {
    local commands; commands=()
    _describe -t commands 'tctl help create commands' commands "$@"
}
(( $+functions[_tctl__subcmd__help__subcmd__get_commands] )) ||
_tctl__subcmd__help__subcmd__get_commands() {
    local commands; commands=()
    _describe -t commands 'tctl help get commands' commands "$@"
}
(( $+functions[_tctl__subcmd__help__subcmd__help_commands] )) ||
_tctl__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'tctl help help commands' commands "$@"
}
(( $+functions[_tctl__subcmd__help__subcmd__rm_commands] )) ||
_tctl__subcmd__help__subcmd__rm_commands() {
    local commands; commands=()
    _describe -t commands 'tctl help rm commands' commands "$@"
}
(( $+functions[_tctl__subcmd__help__subcmd__status_commands] )) ||
_tctl__subcmd__help__subcmd__status_commands() {
    local commands; commands=()
    _describe -t commands 'tctl help status commands' commands "$@"
}
(( $+functions[_tctl__subcmd__help__subcmd__tokens_commands] )) ||
_tctl__subcmd__help__subcmd__tokens_commands() {
    local commands; commands=(
'add:Create a join token' \
'ls:List join tokens' \
'rm:Delete a join token (the whole token or the hint \`tokens ls\` shows)' \
    )
    _describe -t commands 'tctl help tokens commands' commands "$@"
}
(( $+functions[_tctl__subcmd__help__subcmd__tokens__subcmd__add_commands] )) ||
_tctl__subcmd__help__subcmd__tokens__subcmd__add_commands() {
    local commands; commands=()
    _describe -t commands 'tctl help tokens add commands' commands "$@"
}
(( $+functions[_tctl__subcmd__help__subcmd__tokens__subcmd__ls_commands] )) ||
_tctl__subcmd__help__subcmd__tokens__subcmd__ls_commands() {
    local commands; commands=()
    _describe -t commands 'tctl help tokens ls commands' commands "$@"
}
(( $+functions[_tctl__subcmd__help__subcmd__tokens__subcmd__rm_commands] )) ||
_tctl__subcmd__help__subcmd__tokens__subcmd__rm_commands() {
    local commands; commands=()
    _describe -t commands 'tctl help tokens rm commands' commands "$@"
}
(( $+functions[_tctl__subcmd__help__subcmd__trusted-cluster_commands] )) ||
_tctl__subcmd__help__subcmd__trusted-cluster_commands() {
    local commands; commands=(
'map-roles:Show what remote roles map to under a role_map, and which rule matched (changes nothing)' \
'doctor:Check a trust step by step and say what is wrong and how to fix it\: on a leaf, the way to ROOT (DNS, TCP, TLS, the root'\''s answers, the tunnel login, the tunnels, the role map); on a root, with --leaf, its view of that leaf. Exits non-zero when a check fails' \
    )
    _describe -t commands 'tctl help trusted-cluster commands' commands "$@"
}
(( $+functions[_tctl__subcmd__help__subcmd__trusted-cluster__subcmd__doctor_commands] )) ||
_tctl__subcmd__help__subcmd__trusted-cluster__subcmd__doctor_commands() {
    local commands; commands=()
    _describe -t commands 'tctl help trusted-cluster doctor commands' commands "$@"
}
(( $+functions[_tctl__subcmd__help__subcmd__trusted-cluster__subcmd__map-roles_commands] )) ||
_tctl__subcmd__help__subcmd__trusted-cluster__subcmd__map-roles_commands() {
    local commands; commands=()
    _describe -t commands 'tctl help trusted-cluster map-roles commands' commands "$@"
}
(( $+functions[_tctl__subcmd__help__subcmd__update_commands] )) ||
_tctl__subcmd__help__subcmd__update_commands() {
    local commands; commands=()
    _describe -t commands 'tctl help update commands' commands "$@"
}
(( $+functions[_tctl__subcmd__help__subcmd__users_commands] )) ||
_tctl__subcmd__help__subcmd__users_commands() {
    local commands; commands=(
'add:Create a user and print a one-time invite' \
'ls:List users' \
'rm:Delete a user' \
'expand:Show what a user'\''s roles mean for them\: the logins their certificate would carry and each role'\''s logins and label selectors with templates expanded (changes nothing)' \
'reset:Clear a user'\''s password and print a new invite' \
    )
    _describe -t commands 'tctl help users commands' commands "$@"
}
(( $+functions[_tctl__subcmd__help__subcmd__users__subcmd__add_commands] )) ||
_tctl__subcmd__help__subcmd__users__subcmd__add_commands() {
    local commands; commands=()
    _describe -t commands 'tctl help users add commands' commands "$@"
}
(( $+functions[_tctl__subcmd__help__subcmd__users__subcmd__expand_commands] )) ||
_tctl__subcmd__help__subcmd__users__subcmd__expand_commands() {
    local commands; commands=()
    _describe -t commands 'tctl help users expand commands' commands "$@"
}
(( $+functions[_tctl__subcmd__help__subcmd__users__subcmd__ls_commands] )) ||
_tctl__subcmd__help__subcmd__users__subcmd__ls_commands() {
    local commands; commands=()
    _describe -t commands 'tctl help users ls commands' commands "$@"
}
(( $+functions[_tctl__subcmd__help__subcmd__users__subcmd__reset_commands] )) ||
_tctl__subcmd__help__subcmd__users__subcmd__reset_commands() {
    local commands; commands=()
    _describe -t commands 'tctl help users reset commands' commands "$@"
}
(( $+functions[_tctl__subcmd__help__subcmd__users__subcmd__rm_commands] )) ||
_tctl__subcmd__help__subcmd__users__subcmd__rm_commands() {
    local commands; commands=()
    _describe -t commands 'tctl help users rm commands' commands "$@"
}
(( $+functions[_tctl__subcmd__help__subcmd__version_commands] )) ||
_tctl__subcmd__help__subcmd__version_commands() {
    local commands; commands=()
    _describe -t commands 'tctl help version commands' commands "$@"
}
(( $+functions[_tctl__subcmd__rm_commands] )) ||
_tctl__subcmd__rm_commands() {
    local commands; commands=()
    _describe -t commands 'tctl rm commands' commands "$@"
}
(( $+functions[_tctl__subcmd__status_commands] )) ||
_tctl__subcmd__status_commands() {
    local commands; commands=()
    _describe -t commands 'tctl status commands' commands "$@"
}
(( $+functions[_tctl__subcmd__tokens_commands] )) ||
_tctl__subcmd__tokens_commands() {
    local commands; commands=(
'add:Create a join token' \
'ls:List join tokens' \
'rm:Delete a join token (the whole token or the hint \`tokens ls\` shows)' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'tctl tokens commands' commands "$@"
}
(( $+functions[_tctl__subcmd__tokens__subcmd__add_commands] )) ||
_tctl__subcmd__tokens__subcmd__add_commands() {
    local commands; commands=()
    _describe -t commands 'tctl tokens add commands' commands "$@"
}
(( $+functions[_tctl__subcmd__tokens__subcmd__help_commands] )) ||
_tctl__subcmd__tokens__subcmd__help_commands() {
    local commands; commands=(
'add:Create a join token' \
'ls:List join tokens' \
'rm:Delete a join token (the whole token or the hint \`tokens ls\` shows)' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'tctl tokens help commands' commands "$@"
}
(( $+functions[_tctl__subcmd__tokens__subcmd__help__subcmd__add_commands] )) ||
_tctl__subcmd__tokens__subcmd__help__subcmd__add_commands() {
    local commands; commands=()
    _describe -t commands 'tctl tokens help add commands' commands "$@"
}
(( $+functions[_tctl__subcmd__tokens__subcmd__help__subcmd__help_commands] )) ||
_tctl__subcmd__tokens__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'tctl tokens help help commands' commands "$@"
}
(( $+functions[_tctl__subcmd__tokens__subcmd__help__subcmd__ls_commands] )) ||
_tctl__subcmd__tokens__subcmd__help__subcmd__ls_commands() {
    local commands; commands=()
    _describe -t commands 'tctl tokens help ls commands' commands "$@"
}
(( $+functions[_tctl__subcmd__tokens__subcmd__help__subcmd__rm_commands] )) ||
_tctl__subcmd__tokens__subcmd__help__subcmd__rm_commands() {
    local commands; commands=()
    _describe -t commands 'tctl tokens help rm commands' commands "$@"
}
(( $+functions[_tctl__subcmd__tokens__subcmd__ls_commands] )) ||
_tctl__subcmd__tokens__subcmd__ls_commands() {
    local commands; commands=()
    _describe -t commands 'tctl tokens ls commands' commands "$@"
}
(( $+functions[_tctl__subcmd__tokens__subcmd__rm_commands] )) ||
_tctl__subcmd__tokens__subcmd__rm_commands() {
    local commands; commands=()
    _describe -t commands 'tctl tokens rm commands' commands "$@"
}
(( $+functions[_tctl__subcmd__trusted-cluster_commands] )) ||
_tctl__subcmd__trusted-cluster_commands() {
    local commands; commands=(
'map-roles:Show what remote roles map to under a role_map, and which rule matched (changes nothing)' \
'doctor:Check a trust step by step and say what is wrong and how to fix it\: on a leaf, the way to ROOT (DNS, TCP, TLS, the root'\''s answers, the tunnel login, the tunnels, the role map); on a root, with --leaf, its view of that leaf. Exits non-zero when a check fails' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'tctl trusted-cluster commands' commands "$@"
}
(( $+functions[_tctl__subcmd__trusted-cluster__subcmd__doctor_commands] )) ||
_tctl__subcmd__trusted-cluster__subcmd__doctor_commands() {
    local commands; commands=()
    _describe -t commands 'tctl trusted-cluster doctor commands' commands "$@"
}
(( $+functions[_tctl__subcmd__trusted-cluster__subcmd__help_commands] )) ||
_tctl__subcmd__trusted-cluster__subcmd__help_commands() {
    local commands; commands=(
'map-roles:Show what remote roles map to under a role_map, and which rule matched (changes nothing)' \
'doctor:Check a trust step by step and say what is wrong and how to fix it\: on a leaf, the way to ROOT (DNS, TCP, TLS, the root'\''s answers, the tunnel login, the tunnels, the role map); on a root, with --leaf, its view of that leaf. Exits non-zero when a check fails' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'tctl trusted-cluster help commands' commands "$@"
}
(( $+functions[_tctl__subcmd__trusted-cluster__subcmd__help__subcmd__doctor_commands] )) ||
_tctl__subcmd__trusted-cluster__subcmd__help__subcmd__doctor_commands() {
    local commands; commands=()
    _describe -t commands 'tctl trusted-cluster help doctor commands' commands "$@"
}
(( $+functions[_tctl__subcmd__trusted-cluster__subcmd__help__subcmd__help_commands] )) ||
_tctl__subcmd__trusted-cluster__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'tctl trusted-cluster help help commands' commands "$@"
}
(( $+functions[_tctl__subcmd__trusted-cluster__subcmd__help__subcmd__map-roles_commands] )) ||
_tctl__subcmd__trusted-cluster__subcmd__help__subcmd__map-roles_commands() {
    local commands; commands=()
    _describe -t commands 'tctl trusted-cluster help map-roles commands' commands "$@"
}
(( $+functions[_tctl__subcmd__trusted-cluster__subcmd__map-roles_commands] )) ||
_tctl__subcmd__trusted-cluster__subcmd__map-roles_commands() {
    local commands; commands=()
    _describe -t commands 'tctl trusted-cluster map-roles commands' commands "$@"
}
(( $+functions[_tctl__subcmd__update_commands] )) ||
_tctl__subcmd__update_commands() {
    local commands; commands=()
    _describe -t commands 'tctl update commands' commands "$@"
}
(( $+functions[_tctl__subcmd__users_commands] )) ||
_tctl__subcmd__users_commands() {
    local commands; commands=(
'add:Create a user and print a one-time invite' \
'ls:List users' \
'rm:Delete a user' \
'expand:Show what a user'\''s roles mean for them\: the logins their certificate would carry and each role'\''s logins and label selectors with templates expanded (changes nothing)' \
'reset:Clear a user'\''s password and print a new invite' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'tctl users commands' commands "$@"
}
(( $+functions[_tctl__subcmd__users__subcmd__add_commands] )) ||
_tctl__subcmd__users__subcmd__add_commands() {
    local commands; commands=()
    _describe -t commands 'tctl users add commands' commands "$@"
}
(( $+functions[_tctl__subcmd__users__subcmd__expand_commands] )) ||
_tctl__subcmd__users__subcmd__expand_commands() {
    local commands; commands=()
    _describe -t commands 'tctl users expand commands' commands "$@"
}
(( $+functions[_tctl__subcmd__users__subcmd__help_commands] )) ||
_tctl__subcmd__users__subcmd__help_commands() {
    local commands; commands=(
'add:Create a user and print a one-time invite' \
'ls:List users' \
'rm:Delete a user' \
'expand:Show what a user'\''s roles mean for them\: the logins their certificate would carry and each role'\''s logins and label selectors with templates expanded (changes nothing)' \
'reset:Clear a user'\''s password and print a new invite' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'tctl users help commands' commands "$@"
}
(( $+functions[_tctl__subcmd__users__subcmd__help__subcmd__add_commands] )) ||
_tctl__subcmd__users__subcmd__help__subcmd__add_commands() {
    local commands; commands=()
    _describe -t commands 'tctl users help add commands' commands "$@"
}
(( $+functions[_tctl__subcmd__users__subcmd__help__subcmd__expand_commands] )) ||
_tctl__subcmd__users__subcmd__help__subcmd__expand_commands() {
    local commands; commands=()
    _describe -t commands 'tctl users help expand commands' commands "$@"
}
(( $+functions[_tctl__subcmd__users__subcmd__help__subcmd__help_commands] )) ||
_tctl__subcmd__users__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'tctl users help help commands' commands "$@"
}
(( $+functions[_tctl__subcmd__users__subcmd__help__subcmd__ls_commands] )) ||
_tctl__subcmd__users__subcmd__help__subcmd__ls_commands() {
    local commands; commands=()
    _describe -t commands 'tctl users help ls commands' commands "$@"
}
(( $+functions[_tctl__subcmd__users__subcmd__help__subcmd__reset_commands] )) ||
_tctl__subcmd__users__subcmd__help__subcmd__reset_commands() {
    local commands; commands=()
    _describe -t commands 'tctl users help reset commands' commands "$@"
}
(( $+functions[_tctl__subcmd__users__subcmd__help__subcmd__rm_commands] )) ||
_tctl__subcmd__users__subcmd__help__subcmd__rm_commands() {
    local commands; commands=()
    _describe -t commands 'tctl users help rm commands' commands "$@"
}
(( $+functions[_tctl__subcmd__users__subcmd__ls_commands] )) ||
_tctl__subcmd__users__subcmd__ls_commands() {
    local commands; commands=()
    _describe -t commands 'tctl users ls commands' commands "$@"
}
(( $+functions[_tctl__subcmd__users__subcmd__reset_commands] )) ||
_tctl__subcmd__users__subcmd__reset_commands() {
    local commands; commands=()
    _describe -t commands 'tctl users reset commands' commands "$@"
}
(( $+functions[_tctl__subcmd__users__subcmd__rm_commands] )) ||
_tctl__subcmd__users__subcmd__rm_commands() {
    local commands; commands=()
    _describe -t commands 'tctl users rm commands' commands "$@"
}
(( $+functions[_tctl__subcmd__version_commands] )) ||
_tctl__subcmd__version_commands() {
    local commands; commands=()
    _describe -t commands 'tctl version commands' commands "$@"
}

if [ "$funcstack[1]" = "_tctl" ]; then
    _tctl "$@"
else
    compdef _tctl tctl
fi

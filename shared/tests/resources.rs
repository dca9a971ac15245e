//! Resource parsing and serialisation: the guide's files parse, output round-trips, and every
//! kind of bad input gives one located, readable error instead of a panic.

// Test helpers may unwrap and panic: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use proptest::prelude::*;
use tether_shared::resource::{
    Kind, Resource, Role, RoleConditions, RoleSpec, User, UserSpec, parse_resources, presets, to_json, to_yaml,
};

fn parse_one(text: &str) -> Resource {
    let mut all = parse_resources("test.yaml", text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(all.len(), 1);
    all.remove(0)
}

fn parse_err(file: &str, text: &str) -> String {
    parse_resources(file, text).expect_err("input should be refused").to_string()
}

const VISITOR: &str = "kind: role
version: v5
metadata:
  name: visitor
spec:
  allow:
    logins:
    - visitor
    # In case your Node is labeled, you will need to explicitly allow access
    # to Nodes with labels in order to SSH into your Node.
    node_labels:
      '*': '*'
";

#[test]
fn guide_visitor_role() {
    let Resource::Role(role) = parse_one(VISITOR) else { panic!("not a role") };
    assert_eq!(role.metadata.name, "visitor");
    assert_eq!(role.spec.allow.logins, ["visitor"]);
    assert_eq!(role.spec.allow.node_labels["*"], ["*"]);
}

#[test]
fn guide_demo_cluster_access_with_version_last() {
    let text = "kind: role
metadata:
  name: demo-cluster-access
spec:
  allow:
    cluster_labels:
      'env': 'demo'
version: v5
";
    let Resource::Role(role) = parse_one(text) else { panic!("not a role") };
    assert_eq!(role.spec.allow.cluster_labels["env"], ["demo"]);
}

#[test]
fn guide_trusted_cluster() {
    let text = r#"# trusted_cluster.yaml
kind: trusted_cluster
version: v2
metadata:
  name: rootcluster.example.com
spec:
  enabled: true
  token: 0e1d7e5b1b0b4b5f8a0f5e1c7d3a9b2c
  tunnel_addr: rootcluster.example.com:11106
  web_proxy_addr: rootcluster.example.com:443
  role_map:
  - remote: "access"
    local: ["visitor"]
  - remote: "^remote-(.*)$"
    local: [local-$1]
"#;
    let Resource::TrustedCluster(tc) = parse_one(text) else { panic!("not a trusted cluster") };
    assert!(tc.spec.enabled);
    assert_eq!(tc.spec.role_map.len(), 2);
    assert_eq!(tc.spec.role_map[1].local, ["local-$1"]);
}

#[test]
fn guide_remote_cluster_output_parses() {
    let text = r#"kind: remote_cluster
metadata:
  id: 1651262381521336026
  labels:
    env: demo
  name: rootcluster.example.com
status:
  connection: online
  last_heartbeat: "2022-04-29T19:55:35.053054594Z"
version: v3
"#;
    let Resource::RemoteCluster(rc) = parse_one(text) else { panic!("not a remote cluster") };
    assert_eq!(rc.metadata.id, Some(1651262381521336026));
    assert_eq!(rc.metadata.labels["env"], "demo");
    let status = rc.status.as_ref().unwrap();
    assert_eq!(status.connection.to_string(), "online");
    // Written back, the heartbeat keeps its nanoseconds and the spec stays out.
    let yaml = to_yaml(&[Resource::RemoteCluster(rc.clone())]).unwrap();
    assert!(yaml.contains("2022-04-29T19:55:35.053054594Z"), "{yaml}");
    assert!(!yaml.contains("spec"), "{yaml}");
}

#[test]
fn user_round_trip_is_exact() {
    let text = "kind: user
version: v2
metadata:
  name: myuser
spec:
  roles:
  - access
  - editor
  traits:
    logins:
    - visitor
    - ubuntu
    - root
";
    let parsed = parse_resources("user.yaml", text).unwrap();
    let written = to_yaml(&parsed).unwrap();
    assert_eq!(written, text, "tctl get output must equal what was written");
    assert_eq!(parse_resources("user.yaml", &written).unwrap(), parsed);
}

#[test]
fn presets_round_trip_yaml_and_json() {
    let all: Vec<Resource> = presets::all().into_iter().map(Resource::Role).collect();
    let yaml = to_yaml(&all).unwrap();
    assert_eq!(parse_resources("presets.yaml", &yaml).unwrap(), all);
    let json = to_json(&all).unwrap();
    assert_eq!(parse_resources("presets.json", &json).unwrap(), all);
    let one = to_json(&all[..1]).unwrap();
    assert!(one.starts_with('[') && json.starts_with('['), "one shape, an array, for one and for many: {one}");
    assert_eq!(parse_resources("access.json", &one).unwrap(), all[..1]);
}

#[test]
fn multi_document_files() {
    let text = format!(
        "---\n{VISITOR}---\n# a comment-only document\n---\nkind: user\nversion: v2\nmetadata:\n  name: bob\nspec:\n  roles: [visitor]\n"
    );
    let all = parse_resources("many.yaml", &text).unwrap();
    assert_eq!(all.iter().map(Resource::kind).collect::<Vec<_>>(), [Kind::Role, Kind::User]);
}

#[test]
fn wrong_type_names_file_line_and_field() {
    let text = "kind: role\nversion: v5\nmetadata:\n  name: visitor\nspec:\n  allow:\n    logins: visitor\n";
    let err = parse_err("visitor.yaml", text);
    assert!(err.starts_with("visitor.yaml:7:"), "{err}");
    assert!(err.contains("spec.allow.logins: expected a list of strings"), "{err}");
}

#[test]
fn errors_in_later_documents_have_absolute_lines() {
    let text = format!("{VISITOR}---\nkind: user\nversion: v2\nmetadata:\n  name: bob\nspec:\n  rolez: [visitor]\n");
    let err = parse_err("many.yaml", &text);
    assert!(err.starts_with("many.yaml:19:"), "{err}");
    assert!(err.contains("spec.rolez: unknown field `rolez` (known fields: `roles` or `traits`)"), "{err}");
}

#[test]
fn bad_input_gives_one_clear_line_each() {
    let cases: &[(&str, &str)] = &[
        ("kind: rolez\nversion: v5\nmetadata:\n  name: x\n", "test.yaml:1:7: kind: unknown value `rolez`"),
        ("version: v5\nmetadata:\n  name: x\n", "missing field `kind`"),
        (
            "kind: role\nversion: v4\nmetadata:\n  name: x\n",
            "version: unsupported version \"v4\" for kind role: expected v5",
        ),
        ("kind: role\nmetadata:\n  name: x\n", "missing field `version`"),
        (
            "kind: role\nversion: v5\nmetadata:\n  name: x\nspec:\n  allow:\n    logins: ['{{internal.login}}']\n",
            "test.yaml:7:",
        ),
        (
            "kind: role\nversion: v5\nmetadata:\n  name: x\nspec:\n  allow:\n    logins: ['{{internal.login}}']\n",
            "unknown internal trait \"login\"",
        ),
        (
            "kind: role\nversion: v5\nmetadata:\n  name: x\nspec:\n  allow:\n    node_labels:\n      env: '^(prod$'\n",
            "bad regular expression",
        ),
        (
            "kind: role\nversion: v5\nmetadata:\n  name: x\nspec:\n  allow:\n    rules:\n    - resources: [widgets]\n      verbs: [list]\n",
            "unknown resource \"widgets\"",
        ),
        (
            "kind: role\nversion: v5\nmetadata:\n  name: x\nspec:\n  options:\n    max_session_ttl: 3 days\n",
            "spec.options.max_session_ttl: invalid duration",
        ),
        ("kind: role\nversion: v5\nmetadata:\n  name: 'a b'\n", "metadata.name: invalid name \"a b\""),
        (
            "kind: trusted_cluster\nversion: v2\nmetadata:\n  name: root..com\nspec:\n  tunnel_addr: r:1\n  web_proxy_addr: r:2\n  role_map: [{remote: a, local: [b]}]\n",
            "cluster name",
        ),
        (
            "kind: trusted_cluster\nversion: v2\nmetadata:\n  name: root\nspec:\n  tunnel_addr: r:1\n  web_proxy_addr: r:2\n  role_map:\n  - remote: '^(x$'\n    local: [b]\n",
            "role_map[0] (remote \"^(x$\"): the pattern does not compile",
        ),
        (
            "kind: trusted_cluster\nversion: v2\nmetadata:\n  name: root\nspec:\n  tunnel_addr: r:1\n  web_proxy_addr: r:2\n  role_map:\n  - remote: a\n    local: ['*']\n",
            "'*' is not allowed",
        ),
        (
            "kind: trusted_cluster\nversion: v2\nmetadata:\n  name: root\nspec:\n  tunnel_addr: 'https://r:1'\n  web_proxy_addr: r:2\n  role_map: [{remote: a, local: [b]}]\n",
            "spec.tunnel_addr: address",
        ),
        (
            "kind: trusted_cluster\nversion: v2\nmetadata:\n  name: root\nspec:\n  enabled: true\n  tunnel_addr: r:1\n  web_proxy_addr: r:2\n",
            "test.yaml:5:1: spec.role_map: an enabled trusted cluster needs",
        ),
        (
            "kind: cert_authority\nversion: v2\nmetadata:\n  name: root\nspec:\n  type: user\n  cluster_name: other\n",
            "test.yaml:7:3: spec.cluster_name: must equal metadata.name",
        ),
        (
            "kind: cert_authority\nversion: v2\nmetadata:\n  name: root\nspec:\n  type: user\n  cluster_name: root\n  active_keys:\n    ssh: ['not a key']\n",
            "not an OpenSSH public key",
        ),
        ("kind: role\nversion: v5\nmetadata:\n  name: x\n  expires: tomorrow\n", "metadata.expires"),
        ("kind: role\nversion: v5\nmetadata:\n  name: x\nspec: [1, 2]\n", "spec: expected a mapping, found sequence"),
        ("kind: role\nversion: v5\nmetadata:\n  name: x\n  name: y\n", "duplicate"),
        ("kind: role\n  version: v5\n bad indentation: [\n", "test.yaml:2:"),
        ("- just\n- a list\n", "is not a resource"),
        (
            "{\"kind\": \"role\", \"version\": \"v5\", \"metadata\": {\"name\": \"x\"}, \"spec\": {\"allow\": {\"logins\": \"root\"}}}",
            "spec.allow.logins: expected a list of strings",
        ),
        (
            "[\n  {\"kind\": \"role\", \"version\": \"v5\", \"metadata\": {\"name\": \"x\"}},\n  {\"kind\": \"user\", \"version\": \"v2\", \"metadata\": {\"name\": \"y\"}, \"specs\": {}}\n]",
            "test.yaml:3:",
        ),
        ("{\"kind\": \"role\", ", "EOF while parsing"),
    ];
    for (text, want) in cases {
        let err = parse_err("test.yaml", text);
        assert!(err.contains(want), "input:\n{text}\nwant {want:?} in:\n{err}");
        assert!(!err.contains('\n'), "one line only: {err}");
    }
}

fn name_strategy() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,12}"
}

fn role_strategy() -> impl Strategy<Value = Role> {
    (
        name_strategy(),
        proptest::collection::vec("[a-z]{1,8}|\\{\\{internal\\.logins\\}\\}|\\{\\{external\\.[a-z]{1,5}\\}\\}", 0..4),
        proptest::collection::btree_map(
            "[a-z]{1,6}",
            proptest::collection::vec("[a-z0-9]{1,6}|\\*|\\^[a-z]+\\$", 1..3),
            0..3,
        ),
        proptest::option::of(1u64..100_000),
        proptest::option::of(any::<bool>()),
    )
        .prop_map(|(name, logins, labels, ttl, fwd)| {
            let mut spec = RoleSpec {
                allow: RoleConditions { logins, node_labels: labels.clone(), ..Default::default() },
                deny: RoleConditions { cluster_labels: labels, ..Default::default() },
                ..Default::default()
            };
            spec.options.max_session_ttl =
                ttl.map(|s| tether_shared::duration::GoDuration(std::time::Duration::from_secs(s)));
            spec.options.forward_agent = fwd;
            Role::new(name, spec)
        })
}

fn user_strategy() -> impl Strategy<Value = User> {
    (
        name_strategy(),
        proptest::collection::vec(name_strategy(), 0..4),
        proptest::collection::btree_map("[a-z_]{1,8}", proptest::collection::vec(".{0,10}", 0..3), 0..4),
        proptest::option::of(0u64..u64::MAX),
    )
        .prop_map(|(name, roles, traits, id)| {
            let mut user = User::new(name, UserSpec { roles, traits });
            user.metadata.id = id;
            user.metadata.labels.insert("team".into(), "a: b # not a comment".into());
            user
        })
}

proptest! {
    #[test]
    fn yaml_and_json_round_trip(roles in proptest::collection::vec(role_strategy(), 1..3), users in proptest::collection::vec(user_strategy(), 0..3)) {
        let all: Vec<Resource> = roles.into_iter().map(Resource::Role).chain(users.into_iter().map(Resource::User)).collect();
        let yaml = to_yaml(&all).unwrap();
        let back = parse_resources("p.yaml", &yaml).map_err(|e| TestCaseError::fail(format!("{e}\n{yaml}")))?;
        prop_assert_eq!(&back, &all);
        prop_assert_eq!(to_yaml(&back).unwrap(), yaml);
        let json = to_json(&all).unwrap();
        prop_assert_eq!(parse_resources("p.json", &json).unwrap(), all);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "(kind|version|metadata|spec|name|:|-|\\[|\\]|\\{|\\}| |\n|'|\"|role|v5|\\{\\{|\\}\\}|[a-z]){0,80}") {
        let _ = parse_resources("fuzz.yaml", &text);
    }
}

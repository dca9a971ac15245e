//! Runs every example of docs/roles.md against the engine: the tables after each
//! `<!-- check: NAME -->` marker. A row that does not hold fails with the row.

#[cfg(test)]
mod examples {
    use std::collections::BTreeMap;

    use tether_shared::identity::Traits;
    use tether_shared::labels::{CompiledSelectors, LabelSelectors, Labels};
    use tether_shared::rolemap::{RoleMap, RoleMapRule};
    use tether_shared::template::Template;

    const DOC: &str = include_str!("../../docs/roles.md");

    /// The rows of the table after `<!-- check: NAME -->`: cells with their backquotes removed.
    fn rows(name: &str) -> Vec<Vec<String>> {
        let marker = format!("<!-- check: {name} -->");
        let start = DOC.find(&marker).unwrap_or_else(|| panic!("docs/roles.md has no {marker}"));
        let rows: Vec<Vec<String>> = DOC[start + marker.len()..]
            .lines()
            .skip_while(|l| l.trim().is_empty())
            .take_while(|l| l.starts_with('|'))
            .skip(2)
            .map(|l| l.trim().trim_matches('|').split(" | ").map(|c| c.trim().trim_matches('`').to_string()).collect())
            .collect();
        assert!(!rows.is_empty(), "the {name} table is empty");
        rows
    }

    fn json<T: serde::de::DeserializeOwned>(cell: &str) -> T {
        serde_json::from_str(cell).unwrap_or_else(|e| panic!("{cell}: {e}"))
    }

    #[test]
    fn template_examples() {
        for row in rows("templates") {
            let (value, traits, want) = (&row[0], json::<Traits>(&row[1]), json::<Vec<String>>(&row[2]));
            let got = Template::parse(value).unwrap_or_else(|e| panic!("{value}: {e}")).expand(&traits);
            assert_eq!(got, want, "{row:?}");
        }
    }

    #[test]
    fn template_error_examples() {
        for row in rows("template-errors") {
            let err = Template::parse(&row[0]).err().unwrap_or_else(|| panic!("{} parsed", row[0])).to_string();
            assert!(err.contains(&row[1]), "{row:?}: {err}");
        }
    }

    #[test]
    fn label_examples() {
        for row in rows("labels") {
            let selectors: LabelSelectors = json(&row[0]);
            tether_shared::labels::validate_selectors(&selectors).unwrap_or_else(|e| panic!("{row:?}: {e}"));
            let traits: Traits = json(&row[1]);
            let labels: Labels = json::<BTreeMap<String, String>>(&row[2]);
            let want: bool = json(&row[3]);
            let got = CompiledSelectors::new(&selectors, &traits).matches(&labels).is_ok();
            assert_eq!(got, want, "{row:?}");
        }
    }

    #[test]
    fn rolemap_examples() {
        for row in rows("rolemap") {
            let rules: Vec<RoleMapRule> = json(&row[0]);
            let remote: Vec<String> = json(&row[1]);
            let want: Option<Vec<String>> = json(&row[2]);
            let got = RoleMap::compile(&rules).unwrap_or_else(|e| panic!("{row:?}: {e}")).map(&remote).ok();
            assert_eq!(got, want, "{row:?}");
        }
    }
}

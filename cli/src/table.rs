//! Tables the way the guide prints them: columns separated by a space, a dashed rule under each
//! header, no borders (comfy-table with a custom style).

use comfy_table::{ContentArrangement, ContentLineStyle, LineStyle, Table, TableStyle};

const GUIDE_STYLE: TableStyle = TableStyle::new()
    .header_lines(ContentLineStyle::none().junction(' '))
    .header_separator(LineStyle::none().fill('-').junction(' '))
    .content_lines(ContentLineStyle::none().junction(' '));

/// Renders `rows` under `header`.
pub fn render(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut t = Table::new();
    t.load_style(GUIDE_STYLE).set_content_arrangement(ContentArrangement::Disabled).set_header(header.to_vec());
    for row in rows {
        t.add_row(row);
    }
    for column in t.column_iter_mut() {
        column.set_padding((0, 0));
    }
    t.to_string().lines().map(str::trim_end).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn guide_shape() {
        let out = super::render(&["Node Name", "Address"], vec![vec!["mynode".into(), "127.0.0.1:3022".into()]]);
        assert_eq!(out, "Node Name Address\n--------- --------------\nmynode    127.0.0.1:3022");
    }
}

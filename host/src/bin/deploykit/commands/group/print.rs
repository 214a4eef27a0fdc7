//! Plain-text views of group results: members as a table, specs as a table.

use anyhow::Result;
use serde_json::Value;

use crate::output::Output;

/// A DescribeGroup `Description`: one row per member, then whether it converged.
pub fn description(d: &Value, out: &Output) -> Result<()> {
    let empty = Vec::new();
    let rows: Vec<Vec<String>> = d["Instances"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .map(|i| {
            vec![
                i["ID"].as_str().unwrap_or_default().to_owned(),
                i["LogicalID"].as_str().unwrap_or("-").to_owned(),
                i["Tags"]["infrakit.config.hash"]
                    .as_str()
                    .unwrap_or("-")
                    .to_owned(),
            ]
        })
        .collect();
    out.table(&["ID", "LOGICAL ID", "CONFIG HASH"], &rows)?;
    out.line(if d["Converged"].as_bool() == Some(true) {
        "converged"
    } else {
        "not converged"
    })
}

/// InspectGroups `Groups`: ID, allocation and plugins of each committed group.
pub fn specs(groups: &Value, out: &Output) -> Result<()> {
    let empty = Vec::new();
    let rows: Vec<Vec<String>> = groups
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .map(|g| {
            let p = &g["Properties"];
            let alloc = &p["Allocation"];
            let allocation = match alloc["LogicalIDs"].as_array() {
                Some(ids) => format!(
                    "logical IDs {}",
                    ids.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(",")
                ),
                None => format!("size {}", alloc["Size"]),
            };
            vec![
                g["ID"].as_str().unwrap_or_default().to_owned(),
                allocation,
                p["Instance"]["Plugin"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                p["Flavor"]["Plugin"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            ]
        })
        .collect();
    out.table(&["ID", "ALLOCATION", "INSTANCE", "FLAVOR"], &rows)
}

//! Where an ODCS server keeps a table: the physical location of every server type the
//! ODCS v3 schema defines.
//!
//! - warehouses and databases: the qualified name, `catalog.schema.table` (Trino, Presto,
//!   Databricks, Athena), `project.dataset.table` (BigQuery), `database.schema.table`
//!   (Postgres, Snowflake, SQL Server, Redshift…), `database.table` (MySQL, Hive…);
//! - streams: the table's physical name is the Kafka topic or Kinesis stream;
//! - object stores, files and APIs (S3, Azure, SFTP, local, API): the server's `location`
//!   or `path`, with ODCS's `{model}` placeholder replaced by the table's physical name.

use serde::Deserialize;

use super::scalar::{Text, text};

/// An ODCS server, with every key a location is made of.
#[derive(Deserialize, Default)]
#[serde(
    default,
    rename_all = "camelCase",
    expecting = "a server: a mapping with `server` and `type`"
)]
pub(super) struct Server {
    pub server: Option<Text>,
    #[serde(rename = "type")]
    pub kind: Option<Text>,
    catalog: Option<Text>,
    database: Option<Text>,
    project: Option<Text>,
    dataset: Option<Text>,
    schema: Option<Text>,
    service_name: Option<Text>,
    location: Option<Text>,
    path: Option<Text>,
    stream: Option<Text>,
    topic: Option<Text>,
}

/// The kinds whose tables are files or endpoints under a location.
const LOCATED: &[&str] = &["s3", "azure", "sftp", "local", "api"];
/// The kinds whose tables are streams named by their physical name.
const STREAMS: &[&str] = &["kafka", "kinesis", "pubsub"];

impl Server {
    /// The server type, lowercased (`postgres`, `kafka`…); empty when not given.
    pub fn kind(&self) -> String {
        text(self.kind.clone())
            .unwrap_or_default()
            .to_ascii_lowercase()
    }

    fn url(&self) -> Option<String> {
        text(self.location.clone()).or_else(|| text(self.path.clone()))
    }

    /// The location of the table physically named `table` on this server, or of the
    /// server's data when the contract has no table (`None`: the server says nowhere).
    pub fn location(&self, table: Option<&str>) -> Option<String> {
        let kind = self.kind();
        let table = table.map(str::trim).filter(|t| !t.is_empty());
        if LOCATED.contains(&kind.as_str()) || (self.url().is_some() && !self.is_qualified()) {
            let url = self.url()?;
            return Some(match table {
                Some(t) if url.contains("{model}") => url.replace("{model}", t),
                _ => url,
            });
        }
        if STREAMS.contains(&kind.as_str()) {
            let named = text(self.topic.clone()).or_else(|| text(self.stream.clone()));
            let stream = table.map(str::to_owned).or(named)?;
            return Some(match (kind.as_str(), text(self.project.clone())) {
                ("pubsub", Some(project)) => format!("{project}.{stream}"),
                _ => stream,
            });
        }
        let table = table?;
        let prefix = text(self.catalog.clone())
            .or_else(|| text(self.project.clone()))
            .or_else(|| text(self.database.clone()))
            .or_else(|| text(self.service_name.clone()));
        let middle = text(self.schema.clone()).or_else(|| text(self.dataset.clone()));
        if prefix.is_none() && middle.is_none() {
            // A host alone qualifies nothing: a bare table name would collide across products.
            return None;
        }
        let parts: Vec<String> = [prefix, middle, Some(table.to_owned())]
            .into_iter()
            .flatten()
            .collect();
        Some(parts.join("."))
    }

    /// Whether the server names a database, catalog or project (a warehouse).
    fn is_qualified(&self) -> bool {
        [
            &self.catalog,
            &self.database,
            &self.project,
            &self.dataset,
            &self.schema,
        ]
        .into_iter()
        .any(|v| text(v.clone()).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(yaml: &str) -> Server {
        yaml_serde::from_str(yaml).unwrap()
    }

    #[test]
    fn every_kind_of_server_has_a_location() {
        let cases = [
            (
                "{type: trino, catalog: lake, schema: sales}",
                Some("t"),
                Some("lake.sales.t"),
            ),
            (
                "{type: bigquery, project: p, dataset: d}",
                Some("t"),
                Some("p.d.t"),
            ),
            (
                "{type: postgres, database: db, schema: s}",
                Some("t"),
                Some("db.s.t"),
            ),
            ("{type: mysql, database: db}", Some("t"), Some("db.t")),
            (
                "{type: kafka, host: 'h:9092'}",
                Some("orders.avro.v1"),
                Some("orders.avro.v1"),
            ),
            ("{type: kafka, host: 'h:9092'}", None, None),
            ("{type: azure, location: 'az://x'}", None, Some("az://x")),
            (
                "{type: s3, location: 's3://b/{model}/*.json'}",
                Some("t"),
                Some("s3://b/t/*.json"),
            ),
            (
                "{type: local, path: ./data/t.parquet}",
                Some("t"),
                Some("./data/t.parquet"),
            ),
            ("{type: pubsub, project: p}", Some("t"), Some("p.t")),
            ("{type: postgres, host: h}", Some("t"), None),
            ("{type: postgres, host: h}", None, None),
        ];
        for (yaml, table, want) in cases {
            assert_eq!(
                server(yaml).location(table).as_deref(),
                want,
                "{yaml} / {table:?}"
            );
        }
    }
}
